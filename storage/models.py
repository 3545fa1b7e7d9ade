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
    # Set by `people forget`: name and channel ids erased; the row stays so that the reports
    # the person submitted keep an author ("a former focal point").
    forgotten_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))


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
    # A revoked invite also expires at once (at its creation): redemption refuses it.
    revoked_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    revoked_by: str = Field(default="", max_length=100)


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


class ReportStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"


class ReportPeriod(SQLModel, table=True):
    """A form to fill for a year or a request: "6 tháng đầu năm 2023", due before 5/6/2023."""

    __tablename__ = "report_period"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, index=True, max_length=64)  # "six_month:2023", "ad_hoc:7"
    form_key: str = Field(max_length=64)
    year: int
    label_vi: str = Field(max_length=300)
    label_en: str = Field(default="", max_length=300)
    opens_at: datetime = Field(sa_column=_utc_column())
    due_at: datetime = Field(sa_column=_utc_column(index=True))
    # The day shown after "trước ngày" (before): stored so every screen says the same.
    due_display: str = Field(max_length=10)  # ISO date
    audience: str | None = Field(default=None)  # JSON list of unit codes; None = every unit
    ad_hoc: bool = Field(default=False)
    created_by: str = Field(default="system", max_length=100)
    created_at: datetime = Field(sa_column=_utc_column())


class Report(SQLModel, table=True):
    """One unit's report for one period: the shared draft and its submission state."""

    __tablename__ = "report"
    __table_args__ = (UniqueConstraint("period_id", "unit_id"),)

    id: int | None = Field(default=None, primary_key=True)
    period_id: int = Field(foreign_key="report_period.id", index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    status: ReportStatus = Field(default=ReportStatus.DRAFT)
    form_version: int = Field(default=1)
    created_at: datetime = Field(sa_column=_utc_column())
    updated_at: datetime = Field(sa_column=_utc_column())
    submitted_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    submitted_by_account_id: int | None = Field(default=None, foreign_key="account.id")
    version: int = Field(default=0)  # number of submitted versions
    amending: bool = Field(default=False)  # a submitted report whose answers are being changed
    reopened_until: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))


class Answer(SQLModel, table=True):
    """The current answer to one question of a report (the draft), and who gave it."""

    __tablename__ = "answer"
    __table_args__ = (UniqueConstraint("report_id", "question_key"),)

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="report.id", index=True)
    question_key: str = Field(max_length=64)
    value_json: str  # JSON; "null" with skipped=True for a skipped optional question
    skipped: bool = Field(default=False)
    answered_by_account_id: int = Field(foreign_key="account.id")
    answered_at: datetime = Field(sa_column=_utc_column())


class ReportVersion(SQLModel, table=True):
    """A submitted version: a frozen copy of the answers. Amendments add versions."""

    __tablename__ = "report_version"
    __table_args__ = (UniqueConstraint("report_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="report.id", index=True)
    version: int
    answers_json: str
    submitted_at: datetime = Field(sa_column=_utc_column())
    submitted_by_account_id: int = Field(foreign_key="account.id")
    late: bool = Field(default=False)


class FormSession(SQLModel, table=True):
    """Where one chat is in a form, kept in the database so a restart loses nothing."""

    __tablename__ = "form_session"
    __table_args__ = (UniqueConstraint("channel", "chat_id"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str = Field(max_length=16)
    chat_id: str = Field(max_length=64)
    account_id: int = Field(foreign_key="account.id")
    report_id: int = Field(foreign_key="report.id")
    mode: str = Field(max_length=16)  # "question", "confirm", "review", "edit_pick"
    question_key: str | None = Field(default=None, max_length=64)
    pending_json: str | None = Field(default=None)  # a value awaiting "yes, that is right"
    state_json: str = Field(default="{}")  # back stack, multi-choice selection, edit mode
    step: int = Field(default=0)  # bumps on every prompt: buttons carry it to detect staleness
    # The chat's message id of the last typed input applied (ids grow within a chat): the same
    # message replayed after a crash is recognised and not applied to the next question.
    last_message_seq: int | None = Field(default=None)
    updated_at: datetime = Field(sa_column=_utc_column())


class ReminderDelivery(SQLModel, table=True):
    """The ledger: one row per (period, step, person). Its unique key makes a second send of
    the same reminder impossible, whatever restarts or concurrent ticks happen."""

    __tablename__ = "reminder_delivery"
    __table_args__ = (UniqueConstraint("period_key", "step", "account_id"),)

    id: int | None = Field(default=None, primary_key=True)
    period_key: str = Field(max_length=64, index=True)
    step: str = Field(max_length=64)
    account_id: int = Field(foreign_key="account.id", index=True)
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    status: str = Field(max_length=16)  # "claimed", "sent", "failed", "deferred"
    claimed_at: datetime = Field(sa_column=_utc_column())
    sent_at: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))
    message_id: str | None = Field(default=None, max_length=32)
    error: str | None = Field(default=None, max_length=300)
    # "deferred": the channel cannot send before this (its monthly quota is spent).
    not_before: datetime | None = Field(default=None, sa_column=_utc_column(nullable=True))


class ReminderStep(SQLModel, table=True):
    """A planned step whose every recipient has been handled (so the planner moves on)."""

    __tablename__ = "reminder_step"
    __table_args__ = (UniqueConstraint("period_key", "step", "audience"),)

    id: int | None = Field(default=None, primary_key=True)
    period_key: str = Field(max_length=64)
    step: str = Field(max_length=64)
    audience: str = Field(max_length=32)
    completed_at: datetime = Field(sa_column=_utc_column())
    recipients: int = Field(default=0)
