"""Tables. Times are aware UTC datetimes (see ``UTCDateTime``)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.types import UTCDateTime


class UnitKind(StrEnum):
    DEPARTMENT = "department"
    ORGANISATION = "organisation"
    DISTRICT = "district"
    COMMUNE = "commune"


class Role(StrEnum):
    ADMIN = "admin"
    OFFICE = "office"


def _utc_column(*, nullable: bool = False, index: bool = False) -> Column[datetime]:
    return Column(UTCDateTime(), nullable=nullable, index=index)


class Unit(SQLModel, table=True):
    """A reporting unit: a department, mass organisation, district or commune."""

    __tablename__ = "unit"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, index=True, max_length=64)
    name_vi: str = Field(max_length=300)
    name_en: str = Field(default="", max_length=300)
    kind: UnitKind
    parent_id: int | None = Field(default=None, foreign_key="unit.id")
    active: bool = Field(default=True)
    created_at: datetime = Field(sa_column=_utc_column())
    updated_at: datetime = Field(sa_column=_utc_column())
    archived_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))


class Account(SQLModel, table=True):
    """One person on one channel (Telegram now, Zalo later): identity, chat and language."""

    __tablename__ = "account"
    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(default="telegram", max_length=16)
    external_id: str = Field(max_length=64)
    chat_id: str = Field(max_length=64)
    display_name: str = Field(default="", max_length=200)
    language: str | None = Field(default=None, max_length=8)
    created_at: datetime = Field(sa_column=_utc_column())
    last_seen_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    unreachable_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))


class FocalPoint(SQLModel, table=True):
    """An account that reports for a unit. A unit may have several (main and deputy)."""

    __tablename__ = "focal_point"
    __table_args__ = (UniqueConstraint("account_id", "unit_id"),)

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    active: bool = Field(default=True)
    registered_at: datetime = Field(sa_column=_utc_column())
    invite_id: int | None = Field(default=None, foreign_key="invite.id")


class RoleGrant(SQLModel, table=True):
    """A role held by a person on a channel, granted before or after they first write."""

    __tablename__ = "role_grant"
    __table_args__ = (UniqueConstraint("channel", "external_id", "role"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(default="telegram", max_length=16)
    external_id: str = Field(max_length=64)
    role: Role
    granted_at: datetime = Field(sa_column=_utc_column())
    granted_by: str = Field(default="", max_length=100)


class Invite(SQLModel, table=True):
    """A one-time registration code for a unit. Only its hash is stored."""

    __tablename__ = "invite"

    id: int | None = Field(default=None, primary_key=True)
    code_hash: str = Field(unique=True, index=True, max_length=64)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    created_by: str = Field(default="", max_length=100)
    created_at: datetime = Field(sa_column=_utc_column())
    expires_at: datetime = Field(sa_column=_utc_column())
    used_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    used_by_account_id: int | None = Field(default=None, foreign_key="account.id")


class RegistrationAttempt(SQLModel, table=True):
    """A failed code entry, kept to lock out guessing."""

    __tablename__ = "registration_attempt"

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(default="telegram", max_length=16)
    external_id: str = Field(max_length=64, index=True)
    at: datetime = Field(sa_column=_utc_column(index=True))


class AuditEntry(SQLModel, table=True):
    """An admin action: who did what to what, and when."""

    __tablename__ = "audit_log"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(sa_column=_utc_column(index=True))
    actor: str = Field(max_length=100)
    action: str = Field(max_length=64)
    target: str = Field(default="", max_length=200)
    details: str = Field(default="")
