"""Invite codes and focal-point registration.

Codes are random (192 bits), one-time and short-lived; only their SHA-256 is stored, so a
leaked database does not leak working links. Repeated wrong codes lock a user out.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session

from domain.accounts import unit_ref
from domain.audit import record_action
from domain.clock import Clock
from domain.errors import DomainError, NotFoundError
from domain.i18n import N_
from domain.identity import ChannelIdentity, UnitRef
from storage import repositories as repo
from storage.db import Database
from storage.models import Account, FocalPoint, Invite, RegistrationAttempt, Unit

MAX_FAILED_ATTEMPTS = 5
LOCKOUT_WINDOW = timedelta(hours=1)
LOCKOUT_DURATION = timedelta(hours=1)
CODE_BYTES = 24  # 192 bits → 32 URL-safe characters (a deep-link payload allows 64)


@dataclass(frozen=True)
class IssuedInvite:
    code: str
    unit: UnitRef
    expires_at: datetime


@dataclass(frozen=True)
class Registration:
    unit: UnitRef
    already_registered: bool
    other_focal_points: int


class RegistrationError(DomainError):
    """A code that does not register anyone; ``reason`` is for logs and tests."""

    def __init__(self, reason: str, msgid: str, **params: object) -> None:
        super().__init__(msgid, **params)
        self.reason = reason


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def looks_like_code(text: str) -> bool:
    """Whether text could be an invite code (so a typed code on a channel without links works)."""
    stripped = text.strip()
    return 16 <= len(stripped) <= 64 and all(c.isalnum() or c in "-_" for c in stripped)


class RegistrationService:
    def __init__(self, db: Database, clock: Clock, *, invite_ttl: timedelta) -> None:
        self._db = db
        self._clock = clock
        self._ttl = invite_ttl

    def create_invite(self, unit_code: str, *, actor: str) -> IssuedInvite:
        """Issue a one-time code for an active unit."""
        now = self._clock.now()
        code = secrets.token_urlsafe(CODE_BYTES)
        with self._db.transaction() as session:
            unit = repo.unit_by_code(session, unit_code.strip().lower())
            if unit is None:
                raise NotFoundError(
                    N_("There is no unit with code {code}. /units lists the codes."),
                    code=unit_code,
                )
            if not unit.active:
                raise DomainError(
                    N_("Unit {code} is archived; it cannot get new focal points."),
                    code=unit.code,
                )
            assert unit.id is not None
            invite = Invite(
                code_hash=hash_code(code),
                unit_id=unit.id,
                created_by=actor,
                created_at=now,
                expires_at=now + self._ttl,
            )
            session.add(invite)
            record_action(session, at=now, actor=actor, action="invite.create", target=unit.code)
            return IssuedInvite(code, unit_ref(unit), invite.expires_at)

    def locked_until(self, identity: ChannelIdentity) -> datetime | None:
        with self._db.transaction() as session:
            return self._locked_until(session, identity, self._clock.now())

    def _locked_until(
        self, session: Session, identity: ChannelIdentity, now: datetime
    ) -> datetime | None:
        failures = repo.failed_attempts_since(
            session, identity.channel, identity.external_id, now - LOCKOUT_WINDOW - LOCKOUT_DURATION
        )
        until: datetime | None = None
        # A lock starts at the fifth failure within one window and lasts LOCKOUT_DURATION.
        for index in range(MAX_FAILED_ATTEMPTS - 1, len(failures)):
            if failures[index] - failures[index - MAX_FAILED_ATTEMPTS + 1] <= LOCKOUT_WINDOW:
                candidate = failures[index] + LOCKOUT_DURATION
                if candidate > now and (until is None or candidate > until):
                    until = candidate
        return until

    def register(self, identity: ChannelIdentity, code: str) -> Registration:
        """Make the writer a focal point of the invite's unit, or explain why not."""
        now = self._clock.now()
        code = code.strip()
        with self._db.transaction() as session:
            until = self._locked_until(session, identity, now)
            if until is not None:
                # Whole minutes, rounded up: "wait 60 minutes" for a full hour, 1 for the last.
                minutes = max(1, math.ceil((until - now).total_seconds() / 60))
                raise RegistrationError(
                    "locked",
                    N_(
                        "Too many wrong codes. Please wait {minutes} minutes and try again, "
                        "or ask the standing office for a new invite link."
                    ),
                    minutes=minutes,
                )
            invite = repo.invite_by_hash(session, hash_code(code)) if code else None
            account = repo.account_by_external_id(session, identity.channel, identity.external_id)
            failure = self._check_invite(invite, account, now)
            if failure is not None:
                if failure.reason != "already_yours":
                    session.add(
                        RegistrationAttempt(
                            channel=identity.channel, external_id=identity.external_id, at=now
                        )
                    )
                    # The attempt must be stored even though we refuse: commit, then raise.
                    session.commit()
                    raise failure
                assert invite is not None
                unit = session.get_one(Unit, invite.unit_id)
                return Registration(unit_ref(unit), True, 0)
            assert invite is not None
            unit = session.get_one(Unit, invite.unit_id)
            if not unit.active:
                raise RegistrationError(
                    "archived",
                    N_("This unit is no longer active. Please ask the standing office."),
                )
            if account is None:
                account = Account(
                    channel=identity.channel,
                    external_id=identity.external_id,
                    chat_id=identity.chat_id,
                    display_name=identity.display_name[:200],
                    created_at=now,
                    last_seen_at=now,
                )
                session.add(account)
                session.flush()
            assert account.id is not None and unit.id is not None
            others = [
                fp
                for fp, acc in repo.focal_points_of_unit(session, unit.id)
                if acc.id != account.id
            ]
            existing = repo.focal_point(session, account.id, unit.id)
            already = existing is not None and existing.active
            if existing is None:
                session.add(
                    FocalPoint(
                        account_id=account.id,
                        unit_id=unit.id,
                        registered_at=now,
                        invite_id=invite.id,
                    )
                )
            else:
                existing.active = True
                existing.invite_id = invite.id
            invite.used_at = now
            invite.used_by_account_id = account.id
            record_action(
                session,
                at=now,
                actor=identity.actor,
                action="focal_point.register",
                target=unit.code,
                invite_id=invite.id,
            )
            return Registration(unit_ref(unit), already, len(others))

    @staticmethod
    def _check_invite(
        invite: Invite | None, account: Account | None, now: datetime
    ) -> RegistrationError | None:
        if invite is None:
            return RegistrationError(
                "unknown",
                N_(
                    "This invite code is not valid. Please check the link, or ask the "
                    "standing office for a new one."
                ),
            )
        if invite.used_at is not None:
            if account is not None and invite.used_by_account_id == account.id:
                return RegistrationError("already_yours", N_("You are already registered."))
            return RegistrationError(
                "used",
                N_(
                    "This invite link has already been used. Each link works once; please "
                    "ask the standing office for a new one."
                ),
            )
        if invite.expires_at <= now:
            return RegistrationError(
                "expired",
                N_("This invite link expired. Please ask the standing office for a new one."),
            )
        return None
