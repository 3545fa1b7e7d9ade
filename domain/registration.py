"""Invite codes and focal-point registration.

Codes are random (192 bits), one-time and short-lived; only their SHA-256 is stored, so a
leaked database does not leak working links. Repeated wrong codes lock a user out.

A channel may cap the people it serves (Zalo's free plan is reported to allow 50 users per
bot): past ``max_users_per_channel`` a new focal point is refused with a clear reply, the
invite stays unused for when a place frees, and ``on_user_cap`` tells the office (once a day
per person, through the audit log).
"""

from __future__ import annotations

import hashlib
import math
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from domain.accounts import unit_ref
from domain.audit import record_action
from domain.clock import Clock
from domain.errors import DomainError, NotFoundError
from domain.i18n import N_
from domain.identity import ChannelIdentity, UnitRef
from storage import repositories as repo
from storage.db import Database
from storage.models import Account, AuditEntry, FocalPoint, Invite, RegistrationAttempt, Unit

MAX_FAILED_ATTEMPTS = 5
LOCKOUT_WINDOW = timedelta(hours=1)
LOCKOUT_DURATION = timedelta(hours=1)
CODE_BYTES = 24  # 192 bits → 32 URL-safe characters (a deep-link payload allows 64)
CAP_NOTICE_EVERY = timedelta(days=1)  # the office hears of one refused person once a day
CHANNEL_NAMES = {"telegram": "Telegram", "zalo": "Zalo"}


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


@dataclass(frozen=True)
class UserCapReached:
    """A person refused because their channel serves its maximum of people (for the office)."""

    identity: ChannelIdentity
    unit: UnitRef
    limit: int


UserCapHook = Callable[[UserCapReached], None]


class UserCapError(RegistrationError):
    """The channel already serves ``limit`` focal points; ``notify`` when the office is owed
    a notice (not when this person was refused, and the office told, less than a day ago)."""

    def __init__(self, reached: UserCapReached, *, notify: bool) -> None:
        super().__init__(
            "user_cap",
            N_(
                "Sorry, I cannot register you: this bot already serves its maximum of {limit} "
                "people on {channel}. The standing office has been told and will contact you."
            ),
            limit=reached.limit,
            channel=CHANNEL_NAMES.get(reached.identity.channel, reached.identity.channel),
        )
        self.reached = reached
        self.notify = notify


def hash_code(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def looks_like_code(text: str) -> bool:
    """Whether text could be an invite code (so a typed code on a channel without links works)."""
    stripped = text.strip()
    return 16 <= len(stripped) <= 64 and all(c.isalnum() or c in "-_" for c in stripped)


class RegistrationService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        invite_ttl: timedelta,
        max_users_per_channel: Mapping[str, int] | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._ttl = invite_ttl
        # People a channel may serve as focal points (0 or absent: no cap).
        self._max_users = dict(max_users_per_channel or {})
        # Told when someone is refused for the cap; set by the channel that can reach the office.
        self.on_user_cap: UserCapHook | None = None

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
        try:
            return self._register(identity, code)
        except UserCapError as refused:
            if refused.notify and self.on_user_cap is not None:
                self.on_user_cap(refused.reached)
            raise

    def _register(self, identity: ChannelIdentity, code: str) -> Registration:
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
            self._check_cap(session, identity, account, unit, now)
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
            # Claim the invite with one conditional UPDATE: of two processes redeeming the same
            # code at once the database lets exactly one match (SQLite takes its write lock
            # here, or at the account's insert, and holds it to the commit); the other matches
            # nothing and is refused, and its transaction (account, focal point) rolls back.
            session.flush()
            claimed = session.connection().execute(
                update(Invite)
                .where(
                    col(Invite.id) == invite.id,
                    col(Invite.used_at).is_(None),
                    col(Invite.expires_at) > now,
                )
                .values(used_at=now, used_by_account_id=account.id)
            )
            if claimed.rowcount != 1:
                raise _used()
            record_action(
                session,
                at=now,
                actor=identity.actor,
                action="focal_point.register",
                target=unit.code,
                invite_id=invite.id,
            )
            return Registration(unit_ref(unit), already, len(others))

    def _check_cap(
        self,
        session: Session,
        identity: ChannelIdentity,
        account: Account | None,
        unit: Unit,
        now: datetime,
    ) -> None:
        """Refuse a new person on a channel that serves its maximum (UserCapError)."""
        limit = self._max_users.get(identity.channel, 0)
        if limit <= 0:
            return
        serving = (
            select(col(Account.id))
            .join(FocalPoint, col(FocalPoint.account_id) == col(Account.id))
            .where(col(Account.channel) == identity.channel, col(FocalPoint.active).is_(True))
            .distinct()
        )
        if account is not None and account.id in session.exec(serving).all():
            return  # already served (a second unit, or registering again): not one more
        count = session.exec(select(func.count()).select_from(serving.subquery())).one()
        if count < limit:
            return
        target = f"{identity.channel}:{identity.external_id}"
        told = session.exec(
            select(AuditEntry).where(
                AuditEntry.action == "focal_point.user_cap",
                AuditEntry.target == target,
                col(AuditEntry.at) > now - CAP_NOTICE_EVERY,
            )
        ).first()
        if told is None:
            record_action(
                session,
                at=now,
                actor=identity.actor,
                action="focal_point.user_cap",
                target=target,
                unit=unit.code,
                limit=limit,
            )
            session.commit()  # kept although we refuse: the office is told once a day
        raise UserCapError(UserCapReached(identity, unit_ref(unit), limit), notify=told is None)

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
            return _used()
        if invite.expires_at <= now:
            return RegistrationError(
                "expired",
                N_("This invite link expired. Please ask the standing office for a new one."),
            )
        return None


def _used() -> RegistrationError:
    return RegistrationError(
        "used",
        N_(
            "This invite link has already been used. Each link works once; please "
            "ask the standing office for a new one."
        ),
    )
