"""Sending the planned reminders: who gets what, exactly once, recorded in a ledger.

Every tick (and at start-up) the plan is derived again from the calendar, the policy and the
database; nothing lives only in memory. Each send is claimed in ``reminder_delivery`` under a
unique (period, step, person) key *before* the message goes out, so a second tick, a second
instance or a restart cannot send it again. A claim whose process died before recording the
result is taken over after ``CLAIM_LEASE``: in that case the person may get the reminder twice
(the one unavoidable duplicate: a crash between Telegram accepting a message and our commit).

A channel that cannot send until a known time (Zalo past its monthly quota) answers
``DEFERRED``: the row keeps its slot with ``not_before``, nothing is tried before then (no
retry every tick), and the step stays open so it goes out at that time, even if it is older
than the usual catch-up window by then. ``send_once`` lends the ledger to one-off notices
that must go out once across restarts (the office's quota warnings).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select, update

from domain.accounts import AccountService, unit_ref
from domain.calendar import ActionMonth, CalendarConfig, Period
from domain.clock import Clock
from domain.conversation import Action, Reply
from domain.forms import engine
from domain.i18n import Translator, translator_for
from domain.identity import UnitRef
from domain.periods import PeriodService, PeriodView
from domain.reminder_plan import (
    ALL_FOCAL_POINTS,
    MISSING_UNITS,
    OFFICE,
    PlannedReminder,
    plan_years,
    steps_to_send,
)
from domain.reporting import ReportingService, ReportSnapshot
from storage import repositories as repo
from storage.db import Database
from storage.models import Account, FocalPoint, ReminderDelivery, ReminderStep, Unit

log = logging.getLogger(__name__)

CLAIM_LEASE = timedelta(minutes=5)
SEND_CONCURRENCY = 4  # reminders in flight at once (so a crash can repeat at most this many)
CLAIMED, SENT, FAILED, DEFERRED = "claimed", "sent", "failed", "deferred"


class DeliveryStatus(StrEnum):
    SENT = "sent"
    BLOCKED = "blocked"  # the person blocked the bot or left: stop writing to them
    FAILED = "failed"  # refused for good (e.g. chat not found): recorded, not retried
    RETRY = "retry"  # a passing fault (timeout, 5xx): the claim is released, the next tick retries
    DEFERRED = "deferred"  # the channel cannot send before ``not_before``: kept until then


@dataclass(frozen=True)
class Delivery:
    status: DeliveryStatus
    message_id: str | None = None
    error: str | None = None
    not_before: datetime | None = None  # DEFERRED: when the channel can send again


@dataclass(frozen=True)
class DeferredReminders:
    """Reminders a channel holds back (for /status): how many, and until when."""

    count: int
    until: datetime | None


@dataclass(frozen=True)
class Recipient:
    account_id: int
    channel: str
    chat_id: str
    language: str
    unit: UnitRef | None = None


class Notifier(Protocol):
    """A channel's way of sending one reply to one person (Telegram, later Zalo)."""

    async def send(self, recipient: Recipient, reply: Reply) -> Delivery: ...


@dataclass
class RunSummary:
    steps: list[str] = field(default_factory=list)
    sent: int = 0
    failed: int = 0
    skipped: int = 0  # already in the ledger
    deferred: int = 0  # held back by the channel until a known time
    blocked_units: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Outgoing:
    recipient: Recipient
    reply: Reply


class ReminderService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        calendar: CalendarConfig,
        periods: PeriodService,
        reporting: ReportingService,
        accounts: AccountService,
        tz: ZoneInfo,
    ) -> None:
        self._db = db
        self._clock = clock
        self._calendar = calendar
        self._periods = periods
        self._reporting = reporting
        self._accounts = accounts
        self._tz = tz

    # ----------------------------------------------------------------- planning
    def plan(self, years: Sequence[int] | None = None) -> list[PlannedReminder]:
        """The plan of last year and this one, ad-hoc requests from the database included."""
        if years is None:
            this_year = self._clock.now().astimezone(self._tz).year
            years = (this_year - 1, this_year)
        for year in years:
            self._periods.ensure_year(year)
        extra = [self._as_calendar_period(p) for p in self._periods.all() if p.ad_hoc]
        return plan_years(self._calendar, years, extra_periods=extra)

    def _as_calendar_period(self, period: PeriodView) -> Period:
        return Period(
            key=period.key,
            form_key=period.form_key,
            year=period.year,
            label_vi=period.label_vi,
            label_en=period.label_en,
            opens_on=period.opens_at.astimezone(self._tz).date(),
            due_at=period.due_at,
            due_display=period.due_display,
            audience=period.audience,
        )

    def completed_steps(self) -> set[tuple[str, str]]:
        with self._db.transaction() as session:
            rows = session.exec(select(ReminderStep.period_key, ReminderStep.step)).all()
            return {(key, step) for key, step in rows}

    # ----------------------------------------------------------------- sending
    async def send_due(self, notifier: Notifier) -> RunSummary:
        """Send what is due now: per period and audience only the latest step (catch-up)."""
        summary = RunSummary()
        now = self._clock.now()
        plan, completed = self.plan(), self.completed_steps()
        due = steps_to_send(plan, now, completed)
        held = self._deferred_steps(now)
        if held:  # deferred steps whose time has come go out, however old they are by now
            latest = steps_to_send(plan, now, completed, max_delay=timedelta.max)
            due += [p for p in latest if (p.period_key, p.step) in held and p not in due]
            self._drop_superseded(held - {(p.period_key, p.step) for p in due})
        for planned in due:
            summary.steps.append(f"{planned.period_key}/{planned.step}")
            # Reading 10,000 units takes a while: off the event loop, so people filling in
            # their forms keep getting answers meanwhile.
            outgoing = await asyncio.to_thread(self._compose, planned)
            complete = await self._deliver(
                planned.period_key, planned.step, outgoing, notifier, summary
            )
            if complete:
                self._complete(planned, len(outgoing))
        return summary

    async def remind_now(
        self, period: PeriodView, notifier: Notifier, *, actor: str
    ) -> tuple[list[str], list[str]]:
        """/remind: the units that have not submitted, now; at most once per unit per day.

        Returns (units reminded now, units already reminded today).
        """
        today = self._clock.now().astimezone(self._tz).date()
        step = f"manual_{today.isoformat()}"
        planned = PlannedReminder(
            send_at=self._clock.now(),
            period_key=period.key,
            step=step,
            audience=MISSING_UNITS,
            kind="manual",
            nominal_on=today,
        )
        outgoing = await asyncio.to_thread(self._compose, planned)
        summary = RunSummary()
        with self._db.transaction() as session:
            done = {
                row.account_id
                for row in session.exec(
                    select(ReminderDelivery).where(
                        ReminderDelivery.period_key == period.key, ReminderDelivery.step == step
                    )
                ).all()
            }
        already = sorted(
            {
                o.recipient.unit.code
                for o in outgoing
                if o.recipient.unit and o.recipient.account_id in done
            }
        )
        await self._deliver(period.key, step, outgoing, notifier, summary)
        reminded = sorted(
            {
                o.recipient.unit.code
                for o in outgoing
                if o.recipient.unit and o.recipient.account_id not in done
            }
        )
        from domain.audit import record_action

        with self._db.transaction() as session:
            record_action(
                session,
                at=self._clock.now(),
                actor=actor,
                action="reminder.manual",
                target=period.key,
                units=len(reminded),
            )
        return reminded, already

    async def _deliver(
        self,
        period_key: str,
        step: str,
        outgoing: Sequence[_Outgoing],
        notifier: Notifier,
        summary: RunSummary,
    ) -> bool:
        """Send each message once; True when every recipient has a final ledger entry.

        ``SEND_CONCURRENCY`` sends are in flight at a time: one slow answer (a time-out takes
        5 s) must not hold up the rest of a step to 3,000 people. The channel's own limiter
        keeps the pace.
        """
        slots = asyncio.Semaphore(SEND_CONCURRENCY)

        async def deliver_one(item: _Outgoing) -> bool:
            async with slots:
                return await self._deliver_one(period_key, step, item, notifier, summary)

        results = await asyncio.gather(*(deliver_one(item) for item in outgoing))
        return all(results)

    async def _deliver_one(
        self,
        period_key: str,
        step: str,
        item: _Outgoing,
        notifier: Notifier,
        summary: RunSummary,
    ) -> bool:
        """One recipient; False if the step cannot be called complete yet."""
        claim = self._claim(period_key, step, item.recipient)
        if claim is None:
            summary.skipped += 1
            # Another tick may be sending it right now, or the channel holds it back.
            status = self._status(period_key, step, item.recipient.account_id)
            return status not in {CLAIMED, DEFERRED}
        try:
            delivery = await notifier.send(item.recipient, item.reply)
        except Exception as error:
            log.warning("reminder to %s failed: %s", item.recipient.chat_id, type(error).__name__)
            delivery = Delivery(DeliveryStatus.RETRY, error=type(error).__name__)
        self._record(claim, delivery)
        if delivery.status is DeliveryStatus.SENT:
            summary.sent += 1
            return True
        if delivery.status is DeliveryStatus.DEFERRED:
            summary.deferred += 1
            return False
        summary.failed += 1
        if delivery.status is DeliveryStatus.BLOCKED:
            units = await self.report_unreachable(
                item.recipient.channel, item.recipient.chat_id, notifier
            )
            summary.blocked_units.extend(units)
        return delivery.status is not DeliveryStatus.RETRY

    async def report_unreachable(self, channel: str, chat_id: str, notifier: Notifier) -> list[str]:
        """Mark a chat unreachable; the first time, tell the office which units it served.

        Returns the codes of the units the office was told about.
        """
        if not self._accounts.mark_unreachable(channel, chat_id):
            return []
        with self._db.transaction() as session:
            account = session.exec(
                select(Account).where(Account.channel == channel, Account.chat_id == chat_id)
            ).first()
            if account is None or account.id is None:
                return []
            units = [unit_ref(unit) for unit in repo.active_units_of(session, account.id)]
        for unit in units:
            await self._tell_office_unreachable(unit, notifier)
        return [unit.code for unit in units]

    async def _tell_office_unreachable(self, unit: UnitRef, notifier: Notifier) -> None:
        """The office must know a unit can no longer be reached, to call them instead."""
        for staff in self._office():
            t = self._t(staff)
            body = t(
                "{unit} ({code}) can no longer be reached: its focal point blocked the bot or "
                "left the messaging app. Please call them, and send a new invite if the person "
                "changed.",
                unit=unit.name(staff.language),
                code=unit.code,
            )
            try:
                await notifier.send(
                    staff, Reply(body, title=t("⚠️ Unit unreachable"), expects_text=False)
                )
            except Exception:
                log.warning("could not tell the office about an unreachable unit")

    def _claim(self, period_key: str, step: str, recipient: Recipient) -> int | None:
        """Take the (period, step, person) slot; None if it is taken (sent, or being sent)."""
        now = self._clock.now()
        with self._db.transaction() as session:
            row = session.exec(
                select(ReminderDelivery).where(
                    ReminderDelivery.period_key == period_key,
                    ReminderDelivery.step == step,
                    ReminderDelivery.account_id == recipient.account_id,
                )
            ).first()
            if row is not None:
                # A claim older than the lease belongs to a process that died mid-send; a
                # deferred one is taken again once its channel can send.
                stale = row.status == CLAIMED and row.claimed_at < now - CLAIM_LEASE
                resumed = row.status == DEFERRED and (row.not_before or now) <= now
                if stale or resumed:
                    row.status, row.claimed_at, row.not_before = CLAIMED, now, None
                    assert row.id is not None
                    return row.id
                return None
            row = ReminderDelivery(
                period_key=period_key,
                step=step,
                account_id=recipient.account_id,
                unit_id=recipient.unit.id if recipient.unit else None,
                status=CLAIMED,
                claimed_at=now,
            )
            session.add(row)
            try:
                session.flush()
            except IntegrityError:  # another tick won the race for this slot
                session.rollback()
                return None
            assert row.id is not None
            return row.id

    def _record(self, claim_id: int, delivery: Delivery) -> None:
        with self._db.transaction() as session:
            row = session.get_one(ReminderDelivery, claim_id)
            if delivery.status is DeliveryStatus.RETRY:
                session.delete(row)  # free the slot: the next tick tries again
            elif delivery.status is DeliveryStatus.DEFERRED:
                row.status, row.not_before = DEFERRED, delivery.not_before
                row.error = (delivery.error or "deferred")[:300]
            elif delivery.status is DeliveryStatus.SENT:
                row.status, row.sent_at, row.message_id = (
                    SENT,
                    self._clock.now(),
                    delivery.message_id,
                )
            else:
                row.status, row.error = FAILED, (delivery.error or delivery.status.value)[:300]

    def _deferred_steps(self, now: datetime) -> set[tuple[str, str]]:
        """The (period, step) pairs with a deferred delivery whose time has come."""
        with self._db.transaction() as session:
            rows = session.exec(
                select(ReminderDelivery.period_key, ReminderDelivery.step).where(
                    ReminderDelivery.status == DEFERRED,
                    col(ReminderDelivery.not_before) <= now,
                )
            ).all()
            return {(key, step) for key, step in rows}

    def _drop_superseded(self, steps: set[tuple[str, str]]) -> None:
        """Deferred steps a later one replaced: only the latest reminder goes out."""
        with self._db.transaction() as session:
            for key, step in steps:
                session.exec(
                    update(ReminderDelivery)
                    .where(
                        col(ReminderDelivery.period_key) == key,
                        col(ReminderDelivery.step) == step,
                        col(ReminderDelivery.status) == DEFERRED,
                    )
                    .values(status=FAILED, error="superseded by a later reminder")
                )

    def deferred_reminders(self) -> DeferredReminders:
        """The reminders a channel holds back now (a spent quota), for /status."""
        now = self._clock.now()
        with self._db.transaction() as session:
            rows = session.exec(
                select(ReminderDelivery.not_before).where(
                    ReminderDelivery.status == DEFERRED, col(ReminderDelivery.not_before) > now
                )
            ).all()
        until = [moment for moment in rows if moment is not None]
        return DeferredReminders(len(until), max(until) if until else None)

    async def send_once(
        self, key: str, step: str, messages: Sequence[tuple[Recipient, Reply]], notifier: Notifier
    ) -> bool:
        """Send each message at most once, recorded under (key, step, person) in the ledger.

        For notices that must go out once across restarts (the office's quota warnings): a
        passing fault frees the slot for the next call. True when every message is settled.
        """
        outgoing = [_Outgoing(recipient, reply) for recipient, reply in messages]
        return await self._deliver(key, step, outgoing, notifier, RunSummary())

    def _status(self, period_key: str, step: str, account_id: int) -> str | None:
        with self._db.transaction() as session:
            row = session.exec(
                select(ReminderDelivery).where(
                    ReminderDelivery.period_key == period_key,
                    ReminderDelivery.step == step,
                    ReminderDelivery.account_id == account_id,
                )
            ).first()
            return row.status if row else None

    def _complete(self, planned: PlannedReminder, recipients: int) -> None:
        with self._db.transaction() as session:
            session.add(
                ReminderStep(
                    period_key=planned.period_key,
                    step=planned.step,
                    audience=planned.audience,
                    completed_at=self._clock.now(),
                    recipients=recipients,
                )
            )
            try:
                session.flush()
            except IntegrityError:
                session.rollback()

    # ----------------------------------------------------------------- composing
    def _compose(self, planned: PlannedReminder) -> list[_Outgoing]:
        period = self._periods.by_key(planned.period_key)
        if planned.audience == ALL_FOCAL_POINTS:
            month = self._action_month(planned.period_key)
            if month is None:
                return []
            return [
                _Outgoing(r, self._action_month_reply(month, planned.step, r))
                for r in self._focal_points(None)
            ]
        if period is None:
            return []
        snapshots = self._reporting.snapshots(period, submitted_answers=False)
        missing = [s for s in snapshots if s.status != "submitted"]
        if planned.audience == OFFICE:
            if not missing:
                return []  # nothing late: no digest
            return [
                _Outgoing(r, self._office_reply(period, missing, len(snapshots), r))
                for r in self._office()
            ]
        by_unit = {s.unit.id: s for s in missing}
        return [
            _Outgoing(r, self._report_reply(period, planned.step, by_unit[r.unit.id], r))
            for r in self._focal_points(set(by_unit))
            if r.unit is not None and r.unit.id in by_unit
        ]

    def _action_month(self, key: str) -> ActionMonth | None:
        year = int(key.rsplit(":", 1)[-1]) if key.rsplit(":", 1)[-1].isdigit() else None
        if year is None:
            return None
        return next((m for m in self._calendar.action_months(year) if m.key == key), None)

    def _focal_points(self, unit_ids: set[int] | None) -> list[Recipient]:
        """Reachable focal points of active units (of ``unit_ids`` when given).

        One query for every unit (a step to 10,000 units made 10,000 before), in unit code
        order and, within a unit, in order of registration.
        """
        query = (
            sa_select(
                col(Account.id),
                col(Account.channel),
                col(Account.chat_id),
                col(Account.language),
                col(Unit.id),
                col(Unit.code),
                col(Unit.name_vi),
                col(Unit.name_en),
                col(Unit.kind),
            )
            .join(FocalPoint, col(FocalPoint.unit_id) == col(Unit.id))
            .join(Account, col(Account.id) == col(FocalPoint.account_id))
            .where(
                col(Unit.active).is_(True),
                col(FocalPoint.active).is_(True),
                col(Account.unreachable_at).is_(None),
            )
            .order_by(col(Unit.code), col(FocalPoint.registered_at))
        )
        recipients: list[Recipient] = []
        units: dict[int, UnitRef] = {}
        with self._db.transaction() as session:
            rows = session.connection().execute(query).all()
        for account_id, channel, chat_id, language, unit_id, code, vi, en, kind in rows:
            if account_id is None or unit_id is None:
                continue
            if unit_ids is not None and unit_id not in unit_ids:
                continue
            unit = units.get(unit_id)
            if unit is None:
                unit = units[unit_id] = UnitRef(unit_id, code, vi, en, kind.value)
            recipients.append(Recipient(account_id, channel, chat_id, language or "vi", unit))
        return recipients

    def _office(self) -> list[Recipient]:
        recipients = []
        for staff in self._accounts.staff_contexts():  # every channel: a notifier routes them
            recipients.append(
                Recipient(
                    staff.account_id, staff.identity.channel, staff.identity.chat_id, staff.language
                )
            )
        return recipients

    @staticmethod
    def _recipient(account: Account, unit: UnitRef | None) -> Recipient:
        assert account.id is not None
        return Recipient(
            account.id, account.channel, account.chat_id, account.language or "vi", unit
        )

    def _t(self, recipient: Recipient) -> Translator:
        return translator_for(recipient.language, self._tz)

    def _report_reply(
        self, period: PeriodView, step: str, snapshot: ReportSnapshot, recipient: Recipient
    ) -> Reply:
        t = self._t(recipient)
        label = period.label(recipient.language)
        due = t.short_date(period.due_display)
        unit = snapshot.unit.name(recipient.language)
        if step == "open":
            head = t(
                "The report {report} is open. Please send it before {due}.", report=label, due=due
            )
        elif step.startswith("before_"):
            days = int(step.removeprefix("before_"))
            head = t(
                "{days} days left: the report {report} is due before {due}.",
                days=days,
                report=label,
                due=due,
            )
        elif step == "last_day":
            head = t("Last day: the report {report} is due before {due}.", report=label, due=due)
        elif step == "am_end":
            head = t(
                "The action month has ended: please send the result report {report} before {due}.",
                report=label,
                due=due,
            )
        elif step.startswith("followup_"):
            head = t(
                "The report {report} was due before {due} and has not arrived yet. "
                "Please send it as soon as you can.",
                report=label,
                due=due,
            )
        else:
            head = t("Reminder: the report {report} is due before {due}.", report=label, due=due)
        form = self._reporting.form(period.form_key)
        if snapshot.status == "not_started":
            state = t("Status for {unit}: not started yet.", unit=unit)
        else:
            left = len(engine.missing_required(form, snapshot.unit.kind, snapshot.answers))
            state = t(
                "Status for {unit}: in progress, {count} required questions left.",
                unit=unit,
                count=left,
            )
        return Reply(
            f"{head}\n{state}",
            title=t("⏰ Reminder"),
            actions=((Action(t("Open the report"), f"p:{period.id}:{snapshot.unit.id}"),),),
            step=0,
            expects_text=False,
        )

    def _action_month_reply(self, month: ActionMonth, step: str, recipient: Recipient) -> Reply:
        t = self._t(recipient)
        name = month.name(recipient.language)
        start, end = t.short_date(month.starts_on), t.short_date(month.ends_on)
        if step.startswith("am_before_"):
            days = int(step.removeprefix("am_before_"))
            body = t(
                "{name} starts in {days} days ({start} – {end}). "
                "Please prepare your unit's activities.",
                name=name,
                days=days,
                start=start,
                end=end,
            )
        elif step == "am_start":
            body = t(
                "{name} starts today and runs until {end}. "
                "Please carry out and record your unit's activities.",
                name=name,
                end=end,
            )
        else:
            body = t(
                "{name} is half way (until {end}). Remember to keep figures for the result report.",
                name=name,
                end=end,
            )
        return Reply(body, title=t("📣 Action month"), expects_text=False)

    def _office_reply(
        self,
        period: PeriodView,
        missing: Sequence[ReportSnapshot],
        total: int,
        recipient: Recipient,
    ) -> Reply:
        t = self._t(recipient)
        lines = [
            f"• {s.unit.name(recipient.language)} ({s.unit.code}): "
            + (t("in progress") if s.status == "draft" else t("not started"))
            for s in missing
        ]
        head = t(
            "{report} (due before {due}): {count} of {total} units have not submitted:",
            report=period.label(recipient.language),
            due=t.short_date(period.due_display),
            count=len(missing),
            total=total,
        )
        return Reply(
            head + "\n" + "\n".join(lines), title=t("📋 Units still missing"), expects_text=False
        )
