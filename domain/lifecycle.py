"""The data's whole life: a focal point who left, an invite already printed, a person who asks
to be forgotten, and inbound texts that must not be kept for ever.

Every change here is one transaction with its audit entry, so the log says who did it even
when what it names is gone. Forgetting keeps the account row (answers and submitted reports
point at it) but erases what identifies the person: name, channel ids, the updates they sent
(the inbox keeps each update's whole JSON: texts, names, usernames), their form positions and
failed registration attempts; the audit log names them by a pseudonym from then on, and their
reports read "a former focal point".
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, delete, text, update
from sqlmodel import Session, col, select

from domain.audit import record_action
from domain.clock import Clock
from domain.errors import DomainError, NotFoundError
from domain.forms.text import fold_words
from domain.i18n import N_, Translator
from storage import repositories as repo
from storage.broadcast_models import Broadcast, BroadcastDelivery, BroadcastStatus
from storage.db import Database
from storage.inbox import KEEP_DONE, PENDING, InboundUpdate
from storage.models import (
    Account,
    AuditEntry,
    FocalPoint,
    FormSession,
    Invite,
    RegistrationAttempt,
    Report,
    RoleGrant,
    Unit,
)
from storage.zalo_models import ZaloChatState

DEFAULT_RETENTION = timedelta(days=90)
# How a forgotten person is named wherever their reports or answers are shown.
FORMER_FOCAL_POINT = N_("a former focal point")
FORGOTTEN_PREFIX = "forgotten-"
CHANNEL_NAMES = {"telegram": "Telegram", "zalo": "Zalo"}


def person_name(name: str | None, t: Translator) -> str:
    """A stored author's name as a reader sees it (a forgotten person in their language)."""
    if name == FORMER_FOCAL_POINT:
        return t(FORMER_FOCAL_POINT)
    return name or ""


@dataclass(frozen=True)
class FocalPointEntry:
    account_id: int
    unit_code: str
    unit_name: str
    channel: str
    external_id: str
    name: str
    registered_at: datetime
    last_seen_at: datetime | None

    def label(self) -> str:
        """ "Mai (Telegram 1001)": what /remove lists when a name is not enough."""
        channel = CHANNEL_NAMES.get(self.channel, self.channel)
        return f"{self.name or '?'} ({channel} {self.external_id})"


@dataclass(frozen=True)
class InviteEntry:
    id: int
    unit_code: str
    created_by: str
    created_at: datetime
    expires_at: datetime
    state: str  # "open", "used", "expired", "revoked"
    closed_at: datetime | None  # used, revoked or expired at


@dataclass(frozen=True)
class Forgotten:
    account_id: int
    pseudonym: str  # how the audit log names the person from now on
    updates: int  # inbound updates erased
    units: int  # focal-point places left
    submitted_reports: int  # reports kept, now by "a former focal point"


@dataclass(frozen=True)
class Pruned:
    updates: int
    attempts: int
    drafts: int

    @property
    def total(self) -> int:
        return self.updates + self.attempts + self.drafts


class DataLifecycle:
    """Removing focal points, revoking invites, forgetting people, pruning old inbound texts."""

    def __init__(
        self, db: Database, clock: Clock, *, retention: timedelta = DEFAULT_RETENTION
    ) -> None:
        self._db = db
        self._clock = clock
        self.retention = retention

    # ------------------------------------------------------------------ focal points
    def focal_points(self, unit_code: str | None = None) -> list[FocalPointEntry]:
        """Active focal points, of one unit or of all, by unit then registration."""
        with self._db.transaction() as session:
            unit = self._unit(session, unit_code) if unit_code else None
            query = (
                select(FocalPoint, Account, Unit)
                .join(Account, col(Account.id) == col(FocalPoint.account_id))
                .join(Unit, col(Unit.id) == col(FocalPoint.unit_id))
                .where(col(FocalPoint.active).is_(True))
                .order_by(col(Unit.code), col(FocalPoint.registered_at))
            )
            if unit is not None:
                query = query.where(FocalPoint.unit_id == unit.id)
            return [_entry(fp, account, unit) for fp, account, unit in session.exec(query).all()]

    def remove_focal_point(self, unit_code: str, person: str, *, actor: str) -> FocalPointEntry:
        """End ``person``'s place as a focal point of the unit (their answers stay).

        ``person`` is their id on their channel (``1001`` or ``telegram:1001``) or their name
        (any case, accents optional) when only one of the unit's focal points has it.
        """
        now = self._clock.now()
        with self._db.transaction() as session:
            unit = self._unit(session, unit_code)
            points = [
                (fp, account, _entry(fp, account, unit))
                for fp, account in repo.focal_points_of_unit(session, unit.id or 0)
            ]
            matches = _match_person(person, [entry for *_, entry in points])
            if len(matches) != 1:
                listed = "; ".join(entry.label() for *_, entry in points) or "—"
                raise DomainError(
                    N_(
                        "{unit} has no focal point “{person}”. Its focal points: {people}. "
                        "Give the id shown in brackets."
                    )
                    if not matches
                    else N_(
                        "Several focal points of {unit} match “{person}”: {people}. "
                        "Give the id shown in brackets."
                    ),
                    unit=unit.code,
                    person=person,
                    people=listed if not matches else "; ".join(entry.label() for entry in matches),
                )
            chosen = matches[0]
            point = next(fp for fp, _a, entry in points if entry is chosen)
            point.active = False
            # A form this person had open for the unit ends (their answers stay in the draft).
            session.execute(
                delete(FormSession).where(
                    col(FormSession.account_id) == chosen.account_id,
                    col(FormSession.report_id).in_(_reports_of_unit(unit.id or 0)),
                )
            )
            record_action(
                session,
                at=now,
                actor=actor,
                action="focal_point.remove",
                target=unit.code,
                account_id=chosen.account_id,
                channel=chosen.channel,
            )
            return chosen

    # ------------------------------------------------------------------ invites
    def invites(self, *, include_closed: bool = False) -> list[InviteEntry]:
        """Invites, newest first: the open ones, or all of them."""
        now = self._clock.now()
        with self._db.transaction() as session:
            rows = session.exec(
                select(Invite, Unit)
                .join(Unit, col(Unit.id) == col(Invite.unit_id))
                .order_by(col(Invite.created_at).desc(), col(Invite.id).desc())
            ).all()
            entries = [_invite_entry(invite, unit, now) for invite, unit in rows]
        return [e for e in entries if include_closed or e.state == "open"]

    def revoke_invite(self, invite_id: int, *, actor: str) -> InviteEntry:
        """Make an open invite unusable at once (its code may be printed in a letter)."""
        now = self._clock.now()
        with self._db.transaction() as session:
            invite = session.get(Invite, invite_id)
            if invite is None:
                raise NotFoundError(N_("There is no invite {id}."), id=invite_id)
            unit = session.get_one(Unit, invite.unit_id)
            state = _invite_entry(invite, unit, now).state
            if state != "open":
                raise DomainError(
                    N_("Invite {id} is already {state}; nothing to revoke."),
                    id=invite_id,
                    state=state,
                )
            # Redemption refuses an expired invite (one conditional update, whatever the race):
            # it expires when it was made, which is past on any clock that made it.
            invite.revoked_at, invite.revoked_by = now, actor[:100]
            invite.expires_at = invite.created_at
            record_action(
                session, at=now, actor=actor, action="invite.revoke", target=unit.code, id=invite_id
            )
            return _invite_entry(invite, unit, now)

    # ------------------------------------------------------------------ people
    def find_person(self, reference: str) -> Account:
        """The account a CLI reference names: ``telegram:1001``, ``zalo:abc`` or a bare id."""
        channel, _, external = reference.strip().rpartition(":")
        with self._db.transaction() as session:
            query = select(Account).where(Account.external_id == external)
            if channel:
                query = query.where(Account.channel == channel)
            found = session.exec(query).all()
        if not found:
            raise NotFoundError(N_("Nobody with id {id} has written to the bot."), id=reference)
        if len(found) > 1:
            raise DomainError(
                N_("Id {id} is known on several channels; write it as channel:id."),
                id=reference,
            )
        return found[0]

    def forget(self, account_id: int, *, actor: str) -> Forgotten:
        """Erase what identifies a person; keep the reports they sent, by "a former focal point"."""
        now = self._clock.now()
        with self._db.transaction() as session:
            account = session.get(Account, account_id)
            if account is None or account.forgotten_at is not None:
                raise NotFoundError(N_("There is no such person (or they were forgotten)."))
            channel, external_id, chat_id = account.channel, account.external_id, account.chat_id
            pseudonym = f"{FORGOTTEN_PREFIX}{account_id}"
            old_actor, new_actor = f"{channel}:{external_id}", f"{channel}:{pseudonym}"
            updates = self._erase_updates(session, channel, {external_id, chat_id})
            points = session.exec(
                select(FocalPoint).where(
                    FocalPoint.account_id == account_id, col(FocalPoint.active).is_(True)
                )
            ).all()
            for point in points:
                point.active = False
            submitted = _count(
                session,
                "SELECT count(DISTINCT report_id) FROM report_version "
                "WHERE submitted_by_account_id = :id",
                id=account_id,
            )
            session.execute(
                delete(RoleGrant).where(
                    col(RoleGrant.channel) == channel, col(RoleGrant.external_id) == external_id
                )
            )
            session.execute(
                delete(RegistrationAttempt).where(
                    col(RegistrationAttempt.channel) == channel,
                    col(RegistrationAttempt.external_id) == external_id,
                )
            )
            session.execute(
                delete(FormSession).where(
                    (col(FormSession.account_id) == account_id)
                    | (
                        (col(FormSession.channel) == channel)
                        & (col(FormSession.chat_id) == chat_id)
                    )
                )
            )
            if channel == "zalo":
                session.execute(delete(ZaloChatState).where(col(ZaloChatState.chat_id) == chat_id))
            session.execute(
                update(BroadcastDelivery)
                .where(col(BroadcastDelivery.account_id) == account_id)
                .values(chat_id=pseudonym)
            )
            session.execute(
                update(Broadcast)
                .where(col(Broadcast.sender_account_id) == account_id)
                .values(sender_chat_id=pseudonym)
            )
            # The log keeps what happened, naming the person by their pseudonym only.
            for old, new in ((old_actor, new_actor), (external_id, pseudonym)):
                session.execute(
                    update(AuditEntry).where(col(AuditEntry.actor) == old).values(actor=new)
                )
                session.execute(
                    update(AuditEntry).where(col(AuditEntry.target) == old).values(target=new)
                )
            account.display_name = ""
            account.external_id, account.chat_id = pseudonym, pseudonym
            account.language, account.last_seen_at = None, None
            account.forgotten_at = now
            record_action(
                session,
                at=now,
                actor=actor,
                action="person.forget",
                target=new_actor,
                updates=updates,
                units=len(points),
                submitted_reports=submitted,
            )
        return Forgotten(account_id, new_actor, updates, len(points), submitted)

    @staticmethod
    def _erase_updates(session: Session, channel: str, ids: set[str]) -> int:
        """Delete the inbound updates this person sent (their texts, name and username)."""
        rows = session.exec(
            select(InboundUpdate.id, InboundUpdate.payload_json).where(
                InboundUpdate.channel == channel
            )
        ).all()
        mine = [row_id for row_id, payload in rows if row_id is not None and _sent_by(payload, ids)]
        for chunk in _chunks(mine, 500):
            session.execute(delete(InboundUpdate).where(col(InboundUpdate.id).in_(chunk)))
        return len(mine)

    # ------------------------------------------------------------------ retention
    def prune(self, *, actor: str = "system") -> Pruned:
        """Drop inbound texts older than the retention (finished updates after a day)."""
        now = self._clock.now()
        cutoff = now - self.retention
        with self._db.transaction() as session:
            updates = _deleted(
                session,
                delete(InboundUpdate).where(
                    (col(InboundUpdate.received_at) < cutoff)
                    | (
                        (col(InboundUpdate.status) != PENDING)
                        & (col(InboundUpdate.received_at) < now - KEEP_DONE)
                    )
                ),
            )
            attempts = _deleted(
                session, delete(RegistrationAttempt).where(col(RegistrationAttempt.at) < cutoff)
            )
            drafts = _deleted(
                session,
                delete(Broadcast).where(
                    col(Broadcast.status) == BroadcastStatus.CANCELLED,
                    col(Broadcast.updated_at) < cutoff,
                ),
            )
            pruned = Pruned(updates, attempts, drafts)
            if pruned.total:
                record_action(
                    session,
                    at=now,
                    actor=actor,
                    action="retention.prune",
                    target=f"{self.retention.days} days",
                    updates=pruned.updates,
                    attempts=pruned.attempts,
                    drafts=pruned.drafts,
                )
        return pruned

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def _unit(session: Session, unit_code: str) -> Unit:
        unit = repo.unit_by_code(session, unit_code.strip().lower())
        if unit is None:
            raise NotFoundError(
                N_("There is no unit with code {code}. /units lists the codes."), code=unit_code
            )
        return unit


def _entry(point: FocalPoint, account: Account, unit: Unit) -> FocalPointEntry:
    assert account.id is not None
    return FocalPointEntry(
        account.id,
        unit.code,
        unit.name_vi,
        account.channel,
        account.external_id,
        account.display_name,
        point.registered_at,
        account.last_seen_at,
    )


def _invite_entry(invite: Invite, unit: Unit, now: datetime) -> InviteEntry:
    assert invite.id is not None
    if invite.revoked_at is not None:
        state, closed = "revoked", invite.revoked_at
    elif invite.used_at is not None:
        state, closed = "used", invite.used_at
    elif invite.expires_at <= now:
        state, closed = "expired", invite.expires_at
    else:
        state, closed = "open", None
    return InviteEntry(
        invite.id, unit.code, invite.created_by, invite.created_at, invite.expires_at, state, closed
    )


def _match_person(person: str, candidates: list[FocalPointEntry]) -> list[FocalPointEntry]:
    """The candidates ``person`` names: by id first, else by whole name, else by part of it."""
    wanted = person.strip()
    channel, _, external = wanted.rpartition(":")
    by_id = [
        entry
        for entry in candidates
        if entry.external_id == external and channel in ("", entry.channel)
    ]
    if by_id:
        return by_id
    folded = fold_words(wanted)
    if not folded:
        return []
    whole = [entry for entry in candidates if fold_words(entry.name) == folded]
    if whole:
        return whole
    return [entry for entry in candidates if folded in fold_words(entry.name)]


def _reports_of_unit(unit_id: int) -> Any:
    return select(Report.id).where(Report.unit_id == unit_id)


def _sent_by(payload_json: str, ids: set[str]) -> bool:
    """Whether an inbound update (Telegram's JSON or a Zalo message) came from these ids."""
    try:
        stack: list[Any] = [json.loads(payload_json)]
    except ValueError:
        return False
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            for key, value in node.items():
                if key in ("user_id", "chat_id", "sender_id") and str(value) in ids:
                    return True
                sender = key in ("from", "chat", "user", "sender") and isinstance(value, dict)
                if sender and str(value.get("id")) in ids:
                    return True
                if isinstance(value, dict | list):
                    stack.append(value)
    return False


def _deleted(session: Session, statement: Any) -> int:
    """Run a DELETE; how many rows it removed."""
    result = session.execute(statement)
    assert isinstance(result, CursorResult)
    return int(result.rowcount or 0)


def _count(session: Session, sql: str, **params: object) -> int:
    return int(session.execute(text(sql), params).scalar_one())


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
