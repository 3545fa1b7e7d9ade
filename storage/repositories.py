"""Queries over the tables. Functions take a session and never commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, func, select

from storage.models import (
    Account,
    AuditEntry,
    FocalPoint,
    Invite,
    RegistrationAttempt,
    Role,
    RoleGrant,
    Unit,
)


# --- units -------------------------------------------------------------------------------------
def unit_by_code(session: Session, code: str) -> Unit | None:
    return session.exec(select(Unit).where(Unit.code == code)).first()


def units(session: Session, *, include_archived: bool = False) -> Sequence[Unit]:
    query = select(Unit).order_by(col(Unit.kind), col(Unit.code))
    if not include_archived:
        query = query.where(col(Unit.active).is_(True))
    return session.exec(query).all()


def units_by_codes(session: Session, codes: Sequence[str]) -> dict[str, Unit]:
    rows = session.exec(select(Unit).where(col(Unit.code).in_(codes))).all()
    return {unit.code: unit for unit in rows}


# --- accounts ----------------------------------------------------------------------------------
def account_by_external_id(session: Session, channel: str, external_id: str) -> Account | None:
    return session.exec(
        select(Account).where(Account.channel == channel, Account.external_id == external_id)
    ).first()


def active_units_of(session: Session, account_id: int) -> Sequence[Unit]:
    return session.exec(
        select(Unit)
        .join(FocalPoint, col(FocalPoint.unit_id) == col(Unit.id))
        .where(FocalPoint.account_id == account_id, col(FocalPoint.active).is_(True))
        .where(col(Unit.active).is_(True))
        .order_by(col(Unit.code))
    ).all()


def focal_point(session: Session, account_id: int, unit_id: int) -> FocalPoint | None:
    return session.exec(
        select(FocalPoint).where(FocalPoint.account_id == account_id, FocalPoint.unit_id == unit_id)
    ).first()


def focal_points_of_unit(session: Session, unit_id: int) -> Sequence[tuple[FocalPoint, Account]]:
    rows = session.exec(
        select(FocalPoint, Account)
        .join(Account, col(Account.id) == col(FocalPoint.account_id))
        .where(FocalPoint.unit_id == unit_id, col(FocalPoint.active).is_(True))
        .order_by(col(FocalPoint.registered_at))
    ).all()
    return [(fp, account) for fp, account in rows]


# --- roles -------------------------------------------------------------------------------------
def roles_granted(session: Session, channel: str, external_id: str) -> set[Role]:
    rows = session.exec(
        select(RoleGrant.role).where(
            RoleGrant.channel == channel, RoleGrant.external_id == external_id
        )
    ).all()
    return {Role(role) for role in rows}


def role_grant(session: Session, channel: str, external_id: str, role: Role) -> RoleGrant | None:
    return session.exec(
        select(RoleGrant).where(
            RoleGrant.channel == channel,
            RoleGrant.external_id == external_id,
            RoleGrant.role == role,
        )
    ).first()


def role_grants(session: Session) -> Sequence[RoleGrant]:
    return session.exec(select(RoleGrant).order_by(col(RoleGrant.role), col(RoleGrant.id))).all()


# --- invites -----------------------------------------------------------------------------------
def invite_by_hash(session: Session, code_hash: str) -> Invite | None:
    return session.exec(select(Invite).where(Invite.code_hash == code_hash)).first()


def failed_attempts_since(
    session: Session, channel: str, external_id: str, since: datetime
) -> list[datetime]:
    rows = session.exec(
        select(RegistrationAttempt.at)
        .where(
            RegistrationAttempt.channel == channel,
            RegistrationAttempt.external_id == external_id,
            col(RegistrationAttempt.at) >= since,
        )
        .order_by(col(RegistrationAttempt.at))
    ).all()
    return list(rows)


# --- audit -------------------------------------------------------------------------------------
def recent_audit(session: Session, limit: int, offset: int = 0) -> Sequence[AuditEntry]:
    return session.exec(
        select(AuditEntry)
        .order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
        .offset(offset)
        .limit(limit)
    ).all()


def count_rows(session: Session, model: type[Unit] | type[FocalPoint]) -> int:
    return int(session.exec(select(func.count()).select_from(model)).one())
