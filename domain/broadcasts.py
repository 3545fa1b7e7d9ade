"""Announcements from the standing office to the focal points: compose, audience, ledger, acks.

Transport-free. Screens are ``Reply`` objects (plain text and actions a channel renders as
buttons or numbered choices); messages go out through a ``Sender`` the channel adapter
implements, paced by ``domain.delivery``. The compose conversation lives in the database (a
``broadcast`` row with status "draft", one per sender), so a restart loses nothing.

One audience: an announcement composed on any channel reaches every targeted focal point on
the channel where that person registered. Every recipient of a round has one
``broadcast_delivery`` row (unique per broadcast and account) naming that channel: pending,
then sent (with its message id where the channel has one), or failed with the reason. A
reminder is a new round: a broadcast row whose ``parent_id`` is the announcement it repeats.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from domain.accounts import AccountService
from domain.audit import record_action
from domain.clock import Clock
from domain.conversation import Action, Outcome, Reply, rows
from domain.errors import DomainError, NotFoundError
from domain.i18n import N_, Translator, translator_for
from domain.identity import UserContext
from domain.text import utf16_len
from storage import repositories as repo
from storage.broadcast_models import (
    Broadcast,
    BroadcastDelivery,
    BroadcastStatus,
    DeliveryStatus,
)
from storage.db import Database
from storage.models import Account, FocalPoint, Unit, UnitKind

# Telegram allows 4096 characters in a message and 1024 in a caption; the header and the
# footer we add take about 150 of them.
MAX_TEXT = 3500
MAX_CAPTION_TEXT = 800
# How many unit names a screen lists before it says "and N more".
_LIST_LIMIT = 40
_CODE_SPLIT = re.compile(r"[\s,;]+")
# Channels without quoted replies: a focal point's answer cannot be passed on to the office.
_NO_QUOTED_REPLIES = frozenset({"zalo"})


# --- what a channel adapter implements -------------------------------------------------------
class AttachmentKind(StrEnum):
    PHOTO = "photo"
    DOCUMENT = "document"


@dataclass(frozen=True)
class Attachment:
    """A file the sender attached: sent again by the channel's file id, never re-uploaded."""

    kind: AttachmentKind
    ref: str
    name: str | None = None


class SendOutcome(StrEnum):
    SENT = "sent"
    RETRY_AFTER = "retry_after"  # flood control: wait ``retry_after`` seconds, then again
    TRANSIENT = "transient"  # 5xx, network error, time-out: retry with backoff
    FORBIDDEN = "forbidden"  # blocked the bot or deleted the account: never retry
    BAD_REQUEST = "bad_request"  # e.g. chat not found: never retry
    UNAVAILABLE = "unavailable"  # the recipient's channel is not served by this process


@dataclass(frozen=True)
class SendResult:
    outcome: SendOutcome
    message_id: int | None = None
    retry_after: float = 0.0
    reason: str = ""

    @classmethod
    def sent(cls, message_id: int | None) -> SendResult:
        """Delivered; ``message_id`` where the channel's ids are numbers (Telegram), else None."""
        return cls(SendOutcome.SENT, message_id=message_id)

    @classmethod
    def flood_wait(cls, seconds: float, reason: str = "") -> SendResult:
        return cls(SendOutcome.RETRY_AFTER, retry_after=seconds, reason=reason)

    @classmethod
    def transient(cls, reason: str) -> SendResult:
        return cls(SendOutcome.TRANSIENT, reason=reason)

    @classmethod
    def forbidden(cls, reason: str) -> SendResult:
        return cls(SendOutcome.FORBIDDEN, reason=reason)

    @classmethod
    def bad_request(cls, reason: str) -> SendResult:
        return cls(SendOutcome.BAD_REQUEST, reason=reason)

    @classmethod
    def unavailable(cls, channel: str) -> SendResult:
        return cls(SendOutcome.UNAVAILABLE, reason=channel)


class Sender(Protocol):
    """Sends one announcement to one chat of its channel; never raises for what it answers."""

    async def send(self, job: DeliveryJob) -> SendResult:
        """Send the job's plain text (the adapter escapes it), its attachment and "Received"."""
        ...


@dataclass(frozen=True)
class PeriodChoice:
    """A report period the office may target: "units that have not submitted it"."""

    key: str
    label_vi: str
    label_en: str = ""

    def label(self, language: str) -> str:
        return self.label_en if language == "en" and self.label_en else self.label_vi


class SubmissionStatus(Protocol):
    """What the reports know: which periods are open, which units have not submitted."""

    def open_periods(self) -> Sequence[PeriodChoice]:
        """The periods to offer (none: the "not submitted" choice is hidden)."""
        ...

    def missing_unit_ids(self, period_key: str) -> set[int]:
        """Ids of the active units expected to report for the period that have not submitted."""
        ...


# --- values the service hands out ------------------------------------------------------------
class ComposeStep(StrEnum):
    CONTENT = "content"
    AUDIENCE = "audience"
    PERIOD = "period"
    UNITS = "units"
    PREVIEW = "preview"


class AudienceKind(StrEnum):
    ALL = "all"
    DEPARTMENTS = "departments"
    ORGANISATIONS = "organisations"
    LOCALITIES = "localities"  # districts and communes
    MISSING = "missing"  # units that have not submitted a period
    UNITS = "units"  # units chosen by code


_UNIT_KINDS: dict[AudienceKind, frozenset[UnitKind]] = {
    AudienceKind.DEPARTMENTS: frozenset({UnitKind.DEPARTMENT}),
    AudienceKind.ORGANISATIONS: frozenset({UnitKind.ORGANISATION}),
    AudienceKind.LOCALITIES: frozenset({UnitKind.DISTRICT, UnitKind.COMMUNE}),
}

_AUDIENCE_LABELS: dict[AudienceKind, str] = {
    AudienceKind.ALL: N_("All focal points"),
    AudienceKind.DEPARTMENTS: N_("Departments"),
    AudienceKind.ORGANISATIONS: N_("Organisations"),
    AudienceKind.LOCALITIES: N_("Districts and communes"),
    AudienceKind.MISSING: N_("Units that have not submitted…"),
    AudienceKind.UNITS: N_("Chosen units (type their codes)"),
}

_FAILURE_TEXTS: dict[str, str] = {
    "forbidden": N_("blocked the bot or deleted the account"),
    "bad_request": N_("{channel} refused the message: {detail}"),
    "transient": N_("{channel} could not be reached after {attempts} attempts"),
    "retry_after": N_("{channel} kept asking to slow down"),
    "unavailable": N_("the {channel} channel is not running in this bot"),
}
# Proper names, the same in every language.
CHANNEL_NAMES = {"telegram": "Telegram", "zalo": "Zalo"}


def channel_name(channel: str) -> str:
    """ "zalo" → "Zalo", as the office reads it next to a person."""
    return CHANNEL_NAMES.get(channel, channel.capitalize())


@dataclass(frozen=True)
class DeliveryJob:
    """One message to send, its text already in the reader's language."""

    delivery_id: int
    broadcast_id: int
    chat_id: str
    text: str
    attachment: Attachment | None
    ack_button: bool
    language: str
    attempts: int = 0
    channel: str = "telegram"  # the recipient's: the sender of this channel sends it


@dataclass(frozen=True)
class BroadcastProgress:
    broadcast_id: int
    total: int
    sent: int
    failed: int
    finished: bool = False

    @property
    def done(self) -> int:
        return self.sent + self.failed

    @property
    def pending(self) -> int:
        return self.total - self.done

    @property
    def key(self) -> str:
        """Differs whenever the progress text would: a progress message is edited only then."""
        return f"{self.sent}/{self.failed}/{self.total}/{int(self.finished)}"


@dataclass(frozen=True)
class ProgressTarget:
    """Where a broadcast's progress is shown: the sender's channel, chat, message, language."""

    broadcast_id: int
    chat_id: str
    language: str
    message_id: int | None
    shown: str
    channel: str = "telegram"


@dataclass(frozen=True)
class BroadcastQueued:
    """Notice: a round was confirmed; deliver it and show its progress in the sender's chat."""

    broadcast_id: int
    total: int


class AckResult(StrEnum):
    CONFIRMED = "confirmed"
    ALREADY = "already"
    UNKNOWN = "unknown"  # not a delivered announcement of this person


@dataclass(frozen=True)
class ReplyRoute:
    """Where a focal point's reply to an announcement goes, and who they are."""

    broadcast_id: int
    sender_chat_id: str
    sender_language: str
    unit_name_vi: str
    unit_name_en: str
    person: str
    sender_channel: str = "telegram"  # the office member may be on another channel
    sender_account_id: int = 0

    def unit_name(self, language: str) -> str:
        return self.unit_name_en if language == "en" and self.unit_name_en else self.unit_name_vi


@dataclass(frozen=True)
class _Recipient:
    account: Account
    unit: Unit


def announcement_text(
    text: str, language: str, *, reminder: bool = False, replies: bool = True
) -> str:
    """The announcement as a focal point reads it: a header, the text, how to answer.

    ``replies``: the channel passes a reply to the announcement on (Telegram's quoted replies);
    where it cannot (Zalo), the announcement does not promise it.
    """
    t = translator_for(language)
    if reminder:
        header = "🔔 " + t("Reminder from the standing office")
    else:
        header = "📢 " + t("Announcement from the standing office")
    if not replies:
        return f"{header}\n\n{text}"
    footer = t("To answer the standing office, reply to this message.")
    return f"{header}\n\n{text}\n\n{footer}"


def progress_text(progress: BroadcastProgress, t: Translator) -> str:
    """ "Đã gửi 120/150…" while sending; the result when finished."""
    if progress.finished:
        text = "✅ " + t(
            "Announcement #{id} finished: delivered to {sent} of {total}.",
            id=progress.broadcast_id,
            sent=progress.sent,
            total=progress.total,
        )
    else:
        text = "📤 " + t(
            "Announcement #{id}: sent {sent}/{total}…",
            id=progress.broadcast_id,
            sent=progress.sent,
            total=progress.total,
        )
    if progress.failed:
        text += "\n" + t("Not delivered: {failed}", failed=progress.failed)
    return text


def _preview(text: str, length: int = 60) -> str:
    line = " ".join(text.split())
    return line if len(line) <= length else line[: length - 1] + "…"


class BroadcastService:
    """Compose announcements, pick their audience, keep the delivery ledger and the acks."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        accounts: AccountService,
        *,
        submission_status: SubmissionStatus | None = None,
        default_language: str = "vi",
    ) -> None:
        self._db = db
        self._clock = clock
        self._accounts = accounts
        self._submissions = submission_status
        self._default_language = default_language

    # ------------------------------------------------------------------ compose (the draft)
    def compose(self, me: UserContext, t: Translator) -> Outcome:
        """/broadcast: start a draft, or show where the sender's draft is."""
        now = self._clock.now()
        with self._db.transaction() as session:
            draft = _draft_of(session, me.account_id)
            if draft is None:
                draft = Broadcast(
                    channel=me.identity.channel,
                    sender_account_id=me.account_id,
                    sender_chat_id=me.identity.chat_id,
                    created_at=now,
                    updated_at=now,
                )
                session.add(draft)
                session.flush()
            draft.sender_chat_id = me.identity.chat_id
            return Outcome([self._screen(session, draft, t, me.language)])

    def cancel_draft(self, me: UserContext, t: Translator) -> Outcome | None:
        """/cancel while composing; None when there is no draft (the command is someone else's)."""
        with self._db.transaction() as session:
            draft = _draft_of(session, me.account_id)
            if draft is None:
                return None
            draft.status = BroadcastStatus.CANCELLED
            draft.updated_at = self._clock.now()
        return Outcome([Reply(t("Cancelled. Nothing was sent."), expects_text=False)])

    def on_input(
        self,
        me: UserContext,
        t: Translator,
        *,
        text: str | None,
        attachment: Attachment | None = None,
    ) -> Outcome | None:
        """A message while composing; None if the draft does not expect it (let others answer)."""
        if not me.is_office:
            return None
        with self._db.transaction() as session:
            draft = _draft_of(session, me.account_id)
            if draft is None:
                return None
            step = ComposeStep(draft.step)
            if step is ComposeStep.CONTENT:
                reply = self._take_content(session, draft, t, me.language, text, attachment)
            elif step is ComposeStep.UNITS and text is not None and attachment is None:
                reply = self._take_units(session, draft, t, me.language, text)
            elif attachment is not None:
                # A file sent after the text (at any later step) is attached to the draft.
                reply = self._take_content(session, draft, t, me.language, text, attachment)
            else:
                return None
            draft.updated_at = self._clock.now()
            return Outcome([reply])

    def on_action(self, me: UserContext, t: Translator, code: str) -> Outcome:
        """A compose button: audience, period, "Received" toggle, back, send or cancel."""
        verb, draft_id, revision, arg = _parse_code(code)
        stale = Outcome(alert=t("This button is no longer valid."))
        if not me.is_office:
            return Outcome(alert=t("Sorry, this command is only for the standing office."))
        now = self._clock.now()
        with self._db.transaction() as session:
            draft = session.get(Broadcast, draft_id) if draft_id is not None else None
            if (
                draft is None
                or draft.sender_account_id != me.account_id
                or draft.status != BroadcastStatus.DRAFT
                or revision != _state(draft).get("rev")
            ):
                return stale
            draft.updated_at = now
            language = me.language
            if verb == "stop":
                draft.status = BroadcastStatus.CANCELLED
                return Outcome(
                    [Reply(t("Cancelled. Nothing was sent."), replace=True, expects_text=False)]
                )
            if verb == "ackt":
                draft.ack_requested = not draft.ack_requested
            elif verb == "back":
                draft.step = ComposeStep.AUDIENCE
            elif verb == "aud":
                try:
                    kind = AudienceKind(arg)
                except ValueError:
                    return stale
                if kind is AudienceKind.UNITS:
                    draft.step = ComposeStep.UNITS
                elif kind is AudienceKind.MISSING:
                    periods = self._open_periods()
                    if not periods:
                        return Outcome(alert=t("No report period is open."))
                    _set_state(draft, periods=[p.key for p in periods])
                    draft.step = ComposeStep.PERIOD
                else:
                    draft.audience_kind, draft.audience_value = kind, None
                    draft.step = ComposeStep.PREVIEW
            elif verb == "per":
                offered = _state(draft).get("periods") or []
                if not arg.isdigit() or int(arg) >= len(offered):
                    return stale
                draft.audience_kind = AudienceKind.MISSING
                draft.audience_value = str(offered[int(arg)])
                draft.step = ComposeStep.PREVIEW
            elif verb == "send" and draft.step == ComposeStep.PREVIEW:
                return self._queue(session, draft, me, t, now)
            else:
                return stale
            return Outcome([self._screen(session, draft, t, language, replace=True)])

    def _take_content(
        self,
        session: Session,
        draft: Broadcast,
        t: Translator,
        language: str,
        text: str | None,
        attachment: Attachment | None,
    ) -> Reply:
        if attachment is not None:
            draft.attachment_kind = attachment.kind
            draft.attachment_ref = attachment.ref
            draft.attachment_name = (attachment.name or "")[:200] or None
        new_text = (text or "").strip() or draft.text
        limit = MAX_CAPTION_TEXT if draft.attachment_ref else MAX_TEXT
        if new_text and utf16_len(new_text) > limit:
            # Wait for a shorter text (typed text is taken only while the draft asks for it).
            draft.step = ComposeStep.CONTENT
            if draft.attachment_ref:
                return Reply(
                    t(
                        "With a file attached, the text is its caption and may have at most "
                        "{limit} characters; it has {length}. Please send a shorter text.",
                        limit=limit,
                        length=utf16_len(new_text),
                    )
                )
            return Reply(
                t(
                    "The text has {length} characters; at most {limit} fit in one message. "
                    "Please send a shorter text.",
                    limit=limit,
                    length=utf16_len(new_text),
                )
            )
        draft.text = new_text
        if draft.text and draft.step == ComposeStep.CONTENT:
            draft.step = ComposeStep.AUDIENCE
        return self._screen(session, draft, t, language)

    def _take_units(
        self, session: Session, draft: Broadcast, t: Translator, language: str, text: str
    ) -> Reply:
        codes = list(dict.fromkeys(c.lower() for c in _CODE_SPLIT.split(text) if c))
        known = {u.code for u in repo.units(session)}
        unknown = [code for code in codes if code not in known]
        if not codes or unknown:
            message = t(
                "Unknown unit codes: {codes}. Please type them again (/units lists them).",
                codes=", ".join(unknown) or "—",
            )
            return Reply(message, actions=self._nav_actions(draft, t))
        draft.audience_kind = AudienceKind.UNITS
        draft.audience_value = json.dumps(codes)
        draft.step = ComposeStep.PREVIEW
        return self._screen(session, draft, t, language)

    def _queue(
        self, session: Session, draft: Broadcast, me: UserContext, t: Translator, now: datetime
    ) -> Outcome:
        recipients = self._recipients(session, self._audience_units(session, draft))
        if not recipients:
            return Outcome(alert=t("Nobody would receive it: no focal point in this audience."))
        assert draft.id is not None
        draft.status = BroadcastStatus.SENDING
        draft.queued_at = now
        draft.total = len(recipients)
        _add_deliveries(session, draft.id, recipients, self._default_language)
        record_action(
            session,
            at=now,
            actor=me.identity.actor,
            action="broadcast.send",
            target=f"broadcast:{draft.id}",
            audience=draft.audience_kind,
            value=draft.audience_value,
            recipients=len(recipients),
        )
        progress = BroadcastProgress(draft.id, len(recipients), 0, 0)
        return Outcome(
            [Reply(progress_text(progress, t), replace=True, expects_text=False)],
            notices=[BroadcastQueued(draft.id, len(recipients))],
        )

    # ------------------------------------------------------------------ screens
    def _screen(
        self,
        session: Session,
        draft: Broadcast,
        t: Translator,
        language: str,
        *,
        replace: bool = False,
    ) -> Reply:
        # Every screen gets a new revision: buttons of older screens are stale.
        revision = int(_state(draft).get("rev") or 0) + 1
        _set_state(draft, rev=revision)
        step = ComposeStep(draft.step)
        if step is ComposeStep.CONTENT:
            if draft.attachment_ref:
                body = t(
                    "Attached: {name}. Now send the text of the announcement.",
                    name=draft.attachment_name or t("a photo"),
                )
            else:
                body = t(
                    "Send the text of the announcement. You may also send a document or a "
                    "photo, with the text as its caption."
                )
            body += "\n" + t("/cancel stops without sending anything.")
            return Reply(
                body,
                title=t("New announcement"),
                actions=((self._action(draft, t("Cancel"), "stop"),),),
                replace=replace,
            )
        if step is ComposeStep.AUDIENCE:
            return Reply(
                t("Who should receive it?") + "\n" + self._ack_line(draft, t),
                title=t("Recipients"),
                actions=self._audience_actions(draft, t),
                replace=replace,
                expects_text=False,
            )
        if step is ComposeStep.PERIOD:
            offered = [str(key) for key in _state(draft).get("periods") or []]
            labels = {p.key: p.label(language) for p in self._open_periods()}
            choices = [
                self._action(draft, labels.get(key, key), "per", str(index))
                for index, key in enumerate(offered)
            ]
            return Reply(
                t("Units that have not submitted which report?"),
                title=t("Recipients"),
                actions=(*rows(choices, 1), *self._nav_actions(draft, t)),
                replace=replace,
                expects_text=False,
            )
        if step is ComposeStep.UNITS:
            return Reply(
                t(
                    "Type the codes of the units, separated by spaces or commas, for example: "
                    "so-y-te huyen-muong-te. /units lists the codes."
                ),
                title=t("Recipients"),
                actions=self._nav_actions(draft, t),
                replace=replace,
            )
        return self._preview(session, draft, t, language, replace=replace)

    def _preview(
        self, session: Session, draft: Broadcast, t: Translator, language: str, *, replace: bool
    ) -> Reply:
        units = self._audience_units(session, draft)
        recipients = self._recipients(session, units)
        covered = {r.unit.id for r in recipients}
        without = [u.code for u in units if u.id not in covered]
        unreachable = sum(1 for r in recipients if r.account.unreachable_at is not None)
        people = len(recipients)
        lines = [
            t("To: {audience}", audience=self._audience_text(draft, t, language)),
            t.ngettext(
                "Recipients: {people} focal point in {units} units.",
                "Recipients: {people} focal points in {units} units.",
                people,
            ).format(people=people, units=len(covered)),
        ]
        if without:
            lines.append(
                t(
                    "Units without a registered focal point ({count}): {codes}",
                    count=len(without),
                    codes=_listing(without, t),
                )
            )
        if unreachable:
            lines.append(
                t(
                    "{count} of them blocked the bot earlier; they will be tried again.",
                    count=unreachable,
                )
            )
        if draft.attachment_ref:
            lines.append(
                t("Attachment: {name}", name=draft.attachment_name or t("a photo")),
            )
        lines.append(self._ack_line(draft, t))
        lines += ["", t("They will read:"), "", announcement_text(draft.text, language)]
        actions: list[tuple[Action, ...]] = []
        if people:
            send_label = t("Send to {people}", people=people)
            actions.append((self._action(draft, "✅ " + send_label, "send"),))
        else:
            lines.insert(0, t("Nobody would receive it: no focal point in this audience."))
        actions.append(
            (
                self._action(draft, t("Change recipients"), "back"),
                self._action(draft, t("Cancel"), "stop"),
            )
        )
        return Reply(
            "\n".join(lines),
            title=t("Preview"),
            actions=tuple(actions),
            replace=replace,
            expects_text=False,
        )

    def _audience_actions(self, draft: Broadcast, t: Translator) -> tuple[tuple[Action, ...], ...]:
        def choice(kind: AudienceKind) -> Action:
            return self._action(draft, t(_AUDIENCE_LABELS[kind]), "aud", kind.value)

        layout: list[tuple[Action, ...]] = [
            (choice(AudienceKind.ALL),),
            (choice(AudienceKind.DEPARTMENTS), choice(AudienceKind.ORGANISATIONS)),
            (choice(AudienceKind.LOCALITIES),),
        ]
        if self._open_periods():
            layout.append((choice(AudienceKind.MISSING),))
        layout.append((choice(AudienceKind.UNITS),))
        toggle = (
            t("Remove the “Received” button")
            if draft.ack_requested
            else t("Add a “Received” button")
        )
        layout.append((self._action(draft, toggle, "ackt"),))
        layout.append((self._action(draft, t("Cancel"), "stop"),))
        return tuple(layout)

    def _nav_actions(self, draft: Broadcast, t: Translator) -> tuple[tuple[Action, ...], ...]:
        return (
            (
                self._action(draft, t("Back"), "back"),
                self._action(draft, t("Cancel"), "stop"),
            ),
        )

    @staticmethod
    def _action(draft: Broadcast, label: str, verb: str, arg: str = "") -> Action:
        revision = _state(draft).get("rev") or 0
        code = f"{verb}:{draft.id}:{revision}"
        return Action(label, f"{code}:{arg}" if arg else code)

    @staticmethod
    def _ack_line(draft: Broadcast, t: Translator) -> str:
        if draft.ack_requested:
            return t("With a “Received” button: you will see who confirmed.")
        return t("Without a “Received” button.")

    def _audience_text(self, draft: Broadcast, t: Translator, language: str) -> str:
        kind = AudienceKind(draft.audience_kind or AudienceKind.ALL)
        if kind is AudienceKind.MISSING:
            key = draft.audience_value or ""
            label = next((p.label(language) for p in self._open_periods() if p.key == key), key)
            return t("units that have not submitted {period}", period=label)
        if kind is AudienceKind.UNITS:
            return t(
                "chosen units: {codes}", codes=", ".join(json.loads(draft.audience_value or "[]"))
            )
        return t(_AUDIENCE_LABELS[kind])

    # ------------------------------------------------------------------ audience
    def _open_periods(self) -> Sequence[PeriodChoice]:
        return self._submissions.open_periods() if self._submissions is not None else ()

    def _audience_units(self, session: Session, draft: Broadcast) -> list[Unit]:
        """The active units the draft's audience names, in catalogue order."""
        units = list(repo.units(session))
        kind = AudienceKind(draft.audience_kind or AudienceKind.ALL)
        if kind in _UNIT_KINDS:
            return [u for u in units if u.kind in _UNIT_KINDS[kind]]
        if kind is AudienceKind.MISSING:
            if self._submissions is None or not draft.audience_value:
                return []
            missing = self._submissions.missing_unit_ids(draft.audience_value)
            return [u for u in units if u.id in missing]
        if kind is AudienceKind.UNITS:
            codes = set(json.loads(draft.audience_value or "[]"))
            return [u for u in units if u.code in codes]
        return units

    def _recipients(self, session: Session, units: Sequence[Unit]) -> list[_Recipient]:
        """One recipient per account: every active focal point of the units, on any channel."""
        order = {u.id: index for index, u in enumerate(units)}
        if not order:
            return []
        found = session.exec(
            select(FocalPoint, Account)
            .join(Account, col(Account.id) == col(FocalPoint.account_id))
            .where(col(FocalPoint.unit_id).in_(list(order)), col(FocalPoint.active).is_(True))
            .order_by(col(FocalPoint.registered_at), col(FocalPoint.id))
        ).all()
        by_unit = {u.id: u for u in units}
        ordered = sorted(found, key=lambda pair: order[pair[0].unit_id])
        recipients: dict[int, _Recipient] = {}
        for point, account in ordered:
            assert account.id is not None
            recipients.setdefault(account.id, _Recipient(account, by_unit[point.unit_id]))
        return list(recipients.values())

    # ------------------------------------------------------------------ the delivery ledger
    def sending_broadcast_ids(self) -> list[int]:
        """Rounds confirmed and not finished: what a (re)started engine resumes."""
        with self._db.transaction() as session:
            ids = session.exec(
                select(Broadcast.id)
                .where(Broadcast.status == BroadcastStatus.SENDING)
                .order_by(col(Broadcast.id))
            ).all()
        return [i for i in ids if i is not None]

    def pending_jobs(self, broadcast_id: int) -> list[DeliveryJob]:
        """The deliveries of a sending round still to do, in order; never a sent or failed one."""
        with self._db.transaction() as session:
            broadcast = session.get(Broadcast, broadcast_id)
            if broadcast is None or broadcast.status != BroadcastStatus.SENDING:
                return []
            deliveries = session.exec(
                select(BroadcastDelivery)
                .where(
                    BroadcastDelivery.broadcast_id == broadcast_id,
                    BroadcastDelivery.status == DeliveryStatus.PENDING,
                )
                .order_by(col(BroadcastDelivery.id))
            ).all()
            attachment = _attachment_of(broadcast)
            reminder = broadcast.parent_id is not None
            texts: dict[tuple[str, str], str] = {}
            jobs = []
            for delivery in deliveries:
                assert delivery.id is not None
                language, channel = delivery.language, delivery.channel
                if (language, channel) not in texts:
                    texts[language, channel] = announcement_text(
                        broadcast.text,
                        language,
                        reminder=reminder,
                        replies=channel not in _NO_QUOTED_REPLIES,
                    )
                jobs.append(
                    DeliveryJob(
                        delivery_id=delivery.id,
                        broadcast_id=broadcast_id,
                        chat_id=delivery.chat_id,
                        text=texts[language, channel],
                        attachment=attachment,
                        ack_button=broadcast.ack_requested,
                        language=language,
                        attempts=delivery.attempts,
                        channel=channel,
                    )
                )
            return jobs

    def sender_channel(self, broadcast_id: int) -> str | None:
        """The channel of the office member who sent a round: where its progress shows."""
        target = self.progress_target(broadcast_id)
        return target.channel if target is not None else None

    def record_sent(self, delivery_id: int, message_id: int | None) -> None:
        """Note a message the channel accepted. Called at once after each send (delivery.py)."""
        now = self._clock.now()
        with self._db.transaction() as session:
            delivery = session.get(BroadcastDelivery, delivery_id)
            if delivery is None or delivery.status != DeliveryStatus.PENDING:
                return
            delivery.status = DeliveryStatus.SENT
            delivery.message_id = message_id
            delivery.sent_at = now

    def record_failed(self, delivery_id: int, outcome: SendOutcome, reason: str) -> None:
        """Give up on a delivery; a refusal by the person marks their account unreachable."""
        now = self._clock.now()
        with self._db.transaction() as session:
            delivery = session.get(BroadcastDelivery, delivery_id)
            if delivery is None or delivery.status != DeliveryStatus.PENDING:
                return
            delivery.status = DeliveryStatus.FAILED
            delivery.failed_at = now
            delivery.failure_kind = outcome.value
            delivery.reason = reason[:500]
            channel, chat_id = delivery.channel, delivery.chat_id
        if outcome is SendOutcome.FORBIDDEN:
            self._accounts.mark_unreachable(channel, chat_id)

    def record_retry(self, delivery_id: int, reason: str) -> None:
        """Count a failed attempt (kept across restarts, so the attempt limit holds)."""
        with self._db.transaction() as session:
            delivery = session.get(BroadcastDelivery, delivery_id)
            if delivery is not None and delivery.status == DeliveryStatus.PENDING:
                delivery.attempts += 1
                delivery.reason = reason[:500]

    def progress(self, broadcast_id: int) -> BroadcastProgress:
        with self._db.transaction() as session:
            broadcast = session.get(Broadcast, broadcast_id)
            if broadcast is None:
                raise NotFoundError(N_("There is no announcement #{id}."), id=broadcast_id)
            counts = _status_counts(session, [broadcast_id])
            return BroadcastProgress(
                broadcast_id,
                total=broadcast.total,
                sent=counts.get(DeliveryStatus.SENT, 0),
                failed=counts.get(DeliveryStatus.FAILED, 0),
                finished=broadcast.status == BroadcastStatus.DONE,
            )

    def mark_finished(self, broadcast_id: int) -> None:
        now = self._clock.now()
        with self._db.transaction() as session:
            broadcast = session.get(Broadcast, broadcast_id)
            if broadcast is not None and broadcast.status == BroadcastStatus.SENDING:
                broadcast.status = BroadcastStatus.DONE
                broadcast.finished_at = now
                broadcast.updated_at = now

    def progress_target(self, broadcast_id: int) -> ProgressTarget | None:
        with self._db.transaction() as session:
            broadcast = session.get(Broadcast, broadcast_id)
            if broadcast is None:
                return None
            sender = session.get(Account, broadcast.sender_account_id)
            language = (sender.language if sender else None) or self._default_language
            return ProgressTarget(
                broadcast_id,
                broadcast.sender_chat_id,
                language,
                broadcast.progress_message_id,
                broadcast.progress_shown,
                channel=sender.channel if sender is not None else broadcast.channel,
            )

    def note_progress(
        self, broadcast_id: int, shown: str, *, message_id: int | None = None
    ) -> None:
        """Remember what the progress message says (and which message it is)."""
        with self._db.transaction() as session:
            broadcast = session.get(Broadcast, broadcast_id)
            if broadcast is None:
                return
            broadcast.progress_shown = shown[:64]
            if message_id is not None:
                broadcast.progress_message_id = message_id

    def report(self, broadcast_id: int, t: Translator) -> str:
        """The sender's final report: delivered, and each failure with the unit and why."""
        language = t.language
        with self._db.transaction() as session:
            broadcast = session.get(Broadcast, broadcast_id)
            if broadcast is None:
                raise NotFoundError(N_("There is no announcement #{id}."), id=broadcast_id)
            counts = _status_counts(session, [broadcast_id])
            failed = session.exec(
                select(BroadcastDelivery, Account, Unit)
                .join(Account, col(Account.id) == col(BroadcastDelivery.account_id))
                .join(Unit, col(Unit.id) == col(BroadcastDelivery.unit_id), isouter=True)
                .where(
                    BroadcastDelivery.broadcast_id == broadcast_id,
                    BroadcastDelivery.status == DeliveryStatus.FAILED,
                )
                .order_by(col(Unit.code), col(BroadcastDelivery.id))
            ).all()
            sent = counts.get(DeliveryStatus.SENT, 0)
            lines = [
                t(
                    "Announcement #{id}: delivered to {sent} of {total} focal points.",
                    id=broadcast_id,
                    sent=sent,
                    total=broadcast.total,
                )
            ]
            if failed:
                lines += ["", t("Not delivered ({count}):", count=len(failed))]
                for delivery, account, unit in failed:
                    lines.append(
                        _person_line(delivery, account, unit, language)
                        + ": "
                        + _failure_text(delivery, t)
                    )
            if broadcast.ack_requested:
                root = broadcast.parent_id or broadcast_id
                lines += ["", t("Who confirmed: /acks {id}", id=root)]
            return "\n".join(lines)

    # ------------------------------------------------------------------ acknowledgments
    def acknowledge(
        self, account_id: int, chat_id: str, message_id: int, *, channel: str = "telegram"
    ) -> AckResult:
        """The "Received" button under a delivered announcement (found by its message)."""
        with self._db.transaction() as session:
            delivery = _delivery_by_message(session, channel, chat_id, message_id)
            if delivery is None or delivery.account_id != account_id:
                return AckResult.UNKNOWN
            return self._confirm(delivery)

    def acknowledge_round(self, account_id: int, broadcast_id: int) -> AckResult:
        """ "Received" typed on a channel whose messages carry no button (Zalo): by the round."""
        with self._db.transaction() as session:
            delivery = session.exec(
                select(BroadcastDelivery).where(
                    BroadcastDelivery.broadcast_id == broadcast_id,
                    BroadcastDelivery.account_id == account_id,
                    BroadcastDelivery.status == DeliveryStatus.SENT,
                )
            ).first()
            if delivery is None:
                return AckResult.UNKNOWN
            return self._confirm(delivery)

    def awaiting_confirmation(self, account_id: int) -> int | None:
        """The latest round delivered to this person that asks "Received" and has none yet."""
        with self._db.transaction() as session:
            row = session.exec(
                select(BroadcastDelivery.broadcast_id)
                .join(Broadcast, col(Broadcast.id) == col(BroadcastDelivery.broadcast_id))
                .where(
                    BroadcastDelivery.account_id == account_id,
                    BroadcastDelivery.status == DeliveryStatus.SENT,
                    col(BroadcastDelivery.acknowledged_at).is_(None),
                    col(Broadcast.ack_requested).is_(True),
                )
                .order_by(col(BroadcastDelivery.id).desc())
                .limit(1)
            ).first()
            return int(row) if row is not None else None

    def _confirm(self, delivery: BroadcastDelivery) -> AckResult:
        if delivery.acknowledged_at is not None:
            return AckResult.ALREADY
        delivery.acknowledged_at = self._clock.now()
        return AckResult.CONFIRMED

    def reply_route(
        self, chat_id: str, message_id: int, *, channel: str = "telegram"
    ) -> ReplyRoute | None:
        """Where a reply to one of our announcement messages goes, or None if it is not one."""
        with self._db.transaction() as session:
            delivery = _delivery_by_message(session, channel, chat_id, message_id)
            if delivery is None:
                return None
            broadcast = session.get(Broadcast, delivery.broadcast_id)
            account = session.get(Account, delivery.account_id)
            unit = session.get(Unit, delivery.unit_id) if delivery.unit_id else None
            sender = session.get(Account, broadcast.sender_account_id) if broadcast else None
            if broadcast is None or account is None:
                return None
            return ReplyRoute(
                broadcast_id=broadcast.parent_id or delivery.broadcast_id,
                sender_chat_id=broadcast.sender_chat_id,
                sender_language=(sender.language if sender else None) or self._default_language,
                unit_name_vi=unit.name_vi if unit else "",
                unit_name_en=unit.name_en if unit else "",
                person=account.display_name or account.external_id,
                sender_channel=sender.channel if sender is not None else broadcast.channel,
                sender_account_id=broadcast.sender_account_id,
            )

    def recent(self, t: Translator, *, limit: int = 10) -> Reply:
        """/broadcasts: the latest announcements with delivered and confirmed counts."""
        with self._db.transaction() as session:
            roots = session.exec(
                select(Broadcast)
                .where(
                    col(Broadcast.parent_id).is_(None),
                    col(Broadcast.status).in_([BroadcastStatus.SENDING, BroadcastStatus.DONE]),
                )
                .order_by(col(Broadcast.id).desc())
                .limit(limit)
            ).all()
            if not roots:
                return Reply(t("No announcements yet. /broadcast sends one."))
            lines = [t("Recent announcements:")]
            for root in roots:
                assert root.id is not None
                counts = _status_counts(session, [root.id])
                sent = counts.get(DeliveryStatus.SENT, 0)
                by_channel = _channel_counts(session, root.id)
                when = t.datetime(root.queued_at) if root.queued_at else ""
                lines += ["", f"#{root.id} · {when}", _preview(root.text)]
                if root.status == BroadcastStatus.SENDING:
                    stats = t("sending: {sent}/{total}", sent=sent, total=root.total)
                else:
                    stats = t("delivered: {sent}/{total}", sent=sent, total=root.total)
                if root.ack_requested:
                    acked = len(_acked_accounts(session, root.id))
                    stats += " · " + t("confirmed: {acked}", acked=acked)
                    stats += " · /acks " + str(root.id)
                lines.append(stats)
                lines.append(
                    t(
                        "by channel: {counts}",
                        counts=", ".join(
                            f"{channel_name(channel)} {delivered}/{total}"
                            for channel, (delivered, total) in by_channel.items()
                        ),
                    )
                )
            return Reply("\n".join(lines), expects_text=False)

    def ack_overview(self, t: Translator, broadcast_id: int) -> Reply:
        """/acks <id>: who confirmed, who did not, and a button to remind the latter."""
        language = t.language
        with self._db.transaction() as session:
            root = _root(session, broadcast_id)
            if root is None:
                raise NotFoundError(N_("There is no announcement #{id}."), id=broadcast_id)
            assert root.id is not None
            if not root.ack_requested:
                return Reply(
                    t("Announcement #{id} had no “Received” button.", id=root.id),
                    expects_text=False,
                )
            acked = _acked_accounts(session, root.id)
            recipients = session.exec(
                select(BroadcastDelivery, Account, Unit)
                .join(Account, col(Account.id) == col(BroadcastDelivery.account_id))
                .join(Unit, col(Unit.id) == col(BroadcastDelivery.unit_id), isouter=True)
                .where(BroadcastDelivery.broadcast_id == root.id)
                .order_by(col(Unit.code), col(BroadcastDelivery.id))
            ).all()
            confirmed, waiting = [], []
            for delivery, account, unit in recipients:
                line = _person_line(delivery, account, unit, language)
                if delivery.account_id in acked:
                    confirmed.append(line)
                else:
                    if delivery.status == DeliveryStatus.FAILED:
                        line += " (" + t("not delivered") + ")"
                    waiting.append(line)
            rounds = _round_count(session, root.id)
            lines = [
                t("Announcement #{id}", id=root.id) + f": {_preview(root.text)}",
                t(
                    "Confirmed: {acked} of {total}.",
                    acked=len(confirmed),
                    total=len(recipients),
                ),
            ]
            if confirmed:
                lines += ["", t("Confirmed:"), *_cap(confirmed, t)]
            if waiting:
                lines += ["", t("Not confirmed yet:"), *_cap(waiting, t)]
            actions: tuple[tuple[Action, ...], ...] = ()
            if (
                waiting
                and root.status == BroadcastStatus.DONE
                and not _sending_round(session, root.id)
            ):
                label = "🔔 " + t("Remind the {count} who have not confirmed", count=len(waiting))
                actions = ((Action(label, f"rem:{root.id}:{rounds}"),),)
            return Reply("\n".join(lines), actions=actions, expects_text=False)

    def remind(self, me: UserContext, t: Translator, code: str) -> Outcome:
        """The reminder button of /acks: a new round to those who have not confirmed."""
        verb, root_id, rounds, _ = _parse_code(code)
        stale = Outcome(alert=t("This button is no longer valid."))
        if verb != "rem" or root_id is None or rounds is None:
            return stale
        if not me.is_office:
            return Outcome(alert=t("Sorry, this command is only for the standing office."))
        try:
            with self._db.transaction() as session:
                return self._remind(session, me, t, root_id, rounds) or stale
        except IntegrityError:  # another office member started this round a moment ago
            return stale

    def _remind(
        self, session: Session, me: UserContext, t: Translator, root_id: int, rounds: int
    ) -> Outcome | None:
        now = self._clock.now()
        root = _root(session, root_id)
        if (
            root is None
            or root.id != root_id
            or root.status != BroadcastStatus.DONE
            or _round_count(session, root_id) != rounds
            or _sending_round(session, root_id)
        ):
            return None
        acked = _acked_accounts(session, root_id)
        targets = session.exec(
            select(BroadcastDelivery, Account, Unit)
            .join(Account, col(Account.id) == col(BroadcastDelivery.account_id))
            .join(Unit, col(Unit.id) == col(BroadcastDelivery.unit_id))
            .where(BroadcastDelivery.broadcast_id == root_id)
            .order_by(col(BroadcastDelivery.id))
        ).all()
        recipients = [
            _Recipient(account, unit)
            for delivery, account, unit in targets
            if delivery.account_id not in acked
        ]
        if not recipients:
            return Outcome(alert=t("Everyone has confirmed."))
        reminder = Broadcast(
            channel=me.identity.channel,
            sender_account_id=me.account_id,
            sender_chat_id=me.identity.chat_id,
            status=BroadcastStatus.SENDING,
            step=ComposeStep.PREVIEW,
            text=root.text,
            attachment_kind=root.attachment_kind,
            attachment_ref=root.attachment_ref,
            attachment_name=root.attachment_name,
            ack_requested=True,
            audience_kind=root.audience_kind,
            audience_value=root.audience_value,
            parent_id=root_id,
            round_no=rounds + 1,
            total=len(recipients),
            created_at=now,
            updated_at=now,
            queued_at=now,
        )
        session.add(reminder)
        session.flush()  # the unique round number refuses a second reminder made meanwhile
        assert reminder.id is not None
        _add_deliveries(session, reminder.id, recipients, self._default_language)
        record_action(
            session,
            at=now,
            actor=me.identity.actor,
            action="broadcast.remind",
            target=f"broadcast:{root_id}",
            round=reminder.id,
            recipients=len(recipients),
        )
        progress = BroadcastProgress(reminder.id, len(recipients), 0, 0)
        return Outcome(
            [Reply(progress_text(progress, t), expects_text=False)],
            notices=[BroadcastQueued(reminder.id, len(recipients))],
        )


# --- helpers over the tables (a session in, never a commit) ----------------------------------
def _draft_of(session: Session, account_id: int) -> Broadcast | None:
    return session.exec(
        select(Broadcast).where(
            Broadcast.sender_account_id == account_id,
            Broadcast.status == BroadcastStatus.DRAFT,
        )
    ).first()


def _root(session: Session, broadcast_id: int) -> Broadcast | None:
    """The announcement itself, also when asked about one of its reminder rounds."""
    broadcast = session.get(Broadcast, broadcast_id)
    if broadcast is not None and broadcast.parent_id is not None:
        broadcast = session.get(Broadcast, broadcast.parent_id)
    if broadcast is None or broadcast.status in (BroadcastStatus.DRAFT, BroadcastStatus.CANCELLED):
        return None
    return broadcast


def _round_count(session: Session, root_id: int) -> int:
    return int(
        session.exec(
            select(func.count()).select_from(Broadcast).where(Broadcast.parent_id == root_id)
        ).one()
    )


def _sending_round(session: Session, root_id: int) -> bool:
    return (
        session.exec(
            select(Broadcast.id).where(
                Broadcast.parent_id == root_id, Broadcast.status == BroadcastStatus.SENDING
            )
        ).first()
        is not None
    )


def _acked_accounts(session: Session, root_id: int) -> set[int]:
    """Accounts that confirmed the announcement, in its first round or any reminder."""
    round_ids = select(Broadcast.id).where(Broadcast.parent_id == root_id)
    rows_ = session.exec(
        select(BroadcastDelivery.account_id).where(
            (col(BroadcastDelivery.broadcast_id) == root_id)
            | col(BroadcastDelivery.broadcast_id).in_(round_ids),
            col(BroadcastDelivery.acknowledged_at).is_not(None),
        )
    ).all()
    return set(rows_)


def _status_counts(session: Session, broadcast_ids: Iterable[int]) -> dict[DeliveryStatus, int]:
    found = session.exec(
        select(BroadcastDelivery.status, func.count())
        .where(col(BroadcastDelivery.broadcast_id).in_(list(broadcast_ids)))
        .group_by(col(BroadcastDelivery.status))
    ).all()
    return {DeliveryStatus(status): int(count) for status, count in found}


def _channel_counts(session: Session, broadcast_id: int) -> dict[str, tuple[int, int]]:
    """Per recipient channel: (delivered, recipients) of a round, channels in name order."""
    found = session.exec(
        select(BroadcastDelivery.channel, BroadcastDelivery.status, func.count())
        .where(BroadcastDelivery.broadcast_id == broadcast_id)
        .group_by(col(BroadcastDelivery.channel), col(BroadcastDelivery.status))
        .order_by(col(BroadcastDelivery.channel))
    ).all()
    counts: dict[str, tuple[int, int]] = {}
    for channel, status, count in found:
        delivered, total = counts.get(channel, (0, 0))
        sent = int(count) if status == DeliveryStatus.SENT else 0
        counts[channel] = (delivered + sent, total + int(count))
    return counts


def _delivery_by_message(
    session: Session, channel: str, chat_id: str, message_id: int
) -> BroadcastDelivery | None:
    return session.exec(
        select(BroadcastDelivery).where(
            BroadcastDelivery.channel == channel,
            BroadcastDelivery.chat_id == chat_id,
            BroadcastDelivery.message_id == message_id,
            BroadcastDelivery.status == DeliveryStatus.SENT,
        )
    ).first()


def _add_deliveries(
    session: Session, broadcast_id: int, recipients: Sequence[_Recipient], default_language: str
) -> None:
    """One pending row per recipient (the unique constraint refuses a second one)."""
    for recipient in recipients:
        account = recipient.account
        assert account.id is not None
        session.add(
            BroadcastDelivery(
                broadcast_id=broadcast_id,
                account_id=account.id,
                unit_id=recipient.unit.id,
                channel=account.channel,
                chat_id=account.chat_id,
                language=account.language or default_language,
            )
        )
    session.flush()


def _attachment_of(broadcast: Broadcast) -> Attachment | None:
    if not broadcast.attachment_ref or not broadcast.attachment_kind:
        return None
    return Attachment(
        AttachmentKind(broadcast.attachment_kind),
        broadcast.attachment_ref,
        broadcast.attachment_name,
    )


def _state(draft: Broadcast) -> dict[str, Any]:
    loaded = json.loads(draft.state_json or "{}")
    return loaded if isinstance(loaded, dict) else {}


def _set_state(draft: Broadcast, **values: Any) -> None:
    draft.state_json = json.dumps({**_state(draft), **values})


def _parse_code(code: str) -> tuple[str, int | None, int | None, str]:
    """ "verb:id:revision[:arg]" → its parts (None where a number is missing or malformed)."""
    parts = code.split(":", 3)
    parts += [""] * (4 - len(parts))
    verb, ident, revision, arg = parts
    return (
        verb,
        int(ident) if ident.isdigit() else None,
        int(revision) if revision.isdigit() else None,
        arg,
    )


def _unit_name(unit: Unit, language: str) -> str:
    return unit.name_en if language == "en" and unit.name_en else unit.name_vi


def _person_line(
    delivery: BroadcastDelivery, account: Account, unit: Unit | None, language: str
) -> str:
    """ "• Sở Y tế — Chị Lan (Zalo)": the unit, the person and the channel they are on."""
    name = _unit_name(unit, language) if unit is not None else "—"
    person = account.display_name or account.external_id
    return f"• {name} — {person} ({channel_name(delivery.channel)})"


def _failure_text(delivery: BroadcastDelivery, t: Translator) -> str:
    kind = delivery.failure_kind or "transient"
    template = _FAILURE_TEXTS.get(kind, _FAILURE_TEXTS["transient"])
    return t(
        template,
        detail=delivery.reason or "?",
        attempts=delivery.attempts,
        channel=channel_name(delivery.channel),
    )


def _listing(codes: Sequence[str], t: Translator) -> str:
    shown = ", ".join(codes[:_LIST_LIMIT])
    if len(codes) > _LIST_LIMIT:
        shown += " " + t("and {count} more", count=len(codes) - _LIST_LIMIT)
    return shown


def _cap(lines: list[str], t: Translator, limit: int = 200) -> list[str]:
    if len(lines) <= limit:
        return lines
    return [*lines[:limit], t("and {count} more", count=len(lines) - limit)]


__all__ = [
    "MAX_CAPTION_TEXT",
    "MAX_TEXT",
    "AckResult",
    "Attachment",
    "AttachmentKind",
    "AudienceKind",
    "BroadcastProgress",
    "BroadcastQueued",
    "BroadcastService",
    "ComposeStep",
    "DeliveryJob",
    "DomainError",
    "PeriodChoice",
    "ProgressTarget",
    "ReplyRoute",
    "SendOutcome",
    "SendResult",
    "Sender",
    "SubmissionStatus",
    "announcement_text",
    "channel_name",
    "progress_text",
]
