"""Count outgoing Zalo messages per month, warn the office, and hold reminders past the quota.

The free plan of the Zalo Bot Platform is reported to allow 3,000 outgoing messages a month
(and 50 users per bot). Here:

- every message the bot sends on Zalo is counted (``zalo_usage``, one atomic UPDATE each);
- the office is warned once at 80 % and once at 100 % of ``ZALO_MONTHLY_MESSAGE_LIMIT`` a
  month. Each warning to each staff member is a row of the reminder ledger (key
  ``zalo_quota:2023-05``, step ``80`` or ``100``) claimed before it is sent, so it goes out
  once across restarts and concurrent senders; one the other channel could not take is sent
  again at a later count (at most once a minute) or at the next start. A Zalo staff member
  gets it even past the quota;
- past 100 %, the Zalo notifier defers what the bot starts itself (reminders, notices) to the
  next month's first working day at the reminders' hour: the ledger keeps them and nothing is
  tried meanwhile (``MessageQuota.status()`` and ``ReminderService.deferred_reminders()`` are
  for /status). Replies to a person who writes still go: Zalo decides whether they pass.

The user cap (``ZALO_MAX_USERS``) is counted where people register
(``RegistrationService``); ``UserCapNotices`` tells the office when someone is refused.

The count is ours alone: the Zalo Bot API reports none of its own (getMe, the only account
method, has no usage figure), so a disagreement with the platform cannot be noticed. Should
Zalo add one, compare it in ``QuotaWarnings.check`` and warn the office there.
"""

from __future__ import annotations

import asyncio
import calendar as months
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select, update

from domain.calendar import CalendarConfig, WorkingCalendar
from domain.channels import tell_staff
from domain.clock import Clock
from domain.conversation import Reply
from domain.i18n import translator_for
from domain.registration import UserCapReached
from domain.reminders import Delivery, Notifier, Recipient
from domain.services import Services
from storage.db import Database
from storage.zalo_models import ZaloUsage
from zalo import CHANNEL

log = logging.getLogger(__name__)

DEFAULT_MONTHLY_LIMIT = 3000
THRESHOLDS = (80, 100)
LEDGER_KEY = "zalo_quota:{month}"  # the warnings' key in the reminder ledger
RETRY_EVERY = timedelta(minutes=1)  # a warning the office's channel refused is tried again


@dataclass(frozen=True)
class Usage:
    month: str  # "2023-05", in the bot's time zone
    sent: int
    limit: int

    @property
    def percent(self) -> int:
        return self.sent * 100 // self.limit if self.limit else 100

    def reached(self) -> list[int]:
        """The warning thresholds (80, 100) this count has reached."""
        return [t for t in THRESHOLDS if self.sent * 100 >= t * self.limit]


@dataclass(frozen=True)
class QuotaStatus:
    """What /status shows: this month's count, and when reminders resume if it is spent."""

    usage: Usage
    resumes_at: datetime | None  # None while messages remain

    @property
    def exhausted(self) -> bool:
        return self.resumes_at is not None


class MessageQuota:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        tz: ZoneInfo,
        *,
        monthly_limit: int = DEFAULT_MONTHLY_LIMIT,
        calendar: CalendarConfig | None = None,
    ) -> None:
        if monthly_limit < 1:
            raise ValueError("the monthly limit must be at least 1")
        self._db = db
        self._clock = clock
        self._tz = tz
        self.limit = monthly_limit
        # Deferred reminders resume on a working day, at the hour reminders go out.
        self._working = calendar.working if calendar is not None else WorkingCalendar()
        self._send_time = calendar.policy.send_time if calendar is not None else time(8, 0)

    def _today(self) -> date:
        return self._clock.now().astimezone(self._tz).date()

    def usage(self) -> Usage:
        month = self._today().strftime("%Y-%m")
        with self._db.transaction() as session:
            row = session.exec(select(ZaloUsage).where(ZaloUsage.month == month)).first()
            return Usage(month, row.sent if row else 0, self.limit)

    def record(self, count: int = 1) -> Usage:
        """Count ``count`` sent messages; the month's usage after them."""
        month = self._today().strftime("%Y-%m")
        self._ensure_row(month)
        with self._db.transaction() as session:
            # One UPDATE adds atomically: concurrent senders never lose a count.
            session.exec(
                update(ZaloUsage)
                .where(col(ZaloUsage.month) == month)
                .values(sent=col(ZaloUsage.sent) + count, updated_at=self._clock.now())
            )
            row = session.exec(select(ZaloUsage).where(ZaloUsage.month == month)).one()
            session.refresh(row)
            return Usage(month, row.sent, self.limit)

    def _ensure_row(self, month: str) -> None:
        try:
            with self._db.transaction() as session:
                if session.exec(select(ZaloUsage).where(ZaloUsage.month == month)).first():
                    return
                session.add(ZaloUsage(month=month, updated_at=self._clock.now()))
        except IntegrityError:
            pass  # another sender created it first

    def resumes_at(self) -> datetime:
        """The next month's first working day, at the reminders' hour (aware)."""
        today = self._today()
        days = months.monthrange(today.year, today.month)[1]
        first = self._working.next_working_day(today.replace(day=1) + timedelta(days=days))
        return datetime.combine(first, self._send_time, tzinfo=self._tz)

    def status(self) -> QuotaStatus:
        """This month's count and, once it is spent, when Zalo reminders go out again."""
        usage = self.usage()
        return QuotaStatus(usage, self.resumes_at() if usage.sent >= usage.limit else None)

    def exhausted(self) -> bool:
        usage = self.usage()
        return usage.sent >= usage.limit


class QuotaWarnings:
    """The office's warnings at 80 % and 100 %: once each per staff member, via the ledger."""

    def __init__(self, quota: MessageQuota, services: Services, notifier: Notifier) -> None:
        self._quota = quota
        self._services = services
        # Routes to each staff member's channel; Zalo staff are reached even past the quota.
        self._notifier = notifier
        self._settled: set[tuple[str, int]] = set()  # a cache: the ledger is the truth
        self._tried: dict[tuple[str, int], datetime] = {}
        self._running = False

    async def check(self, usage: Usage) -> None:
        """After a count (and at start): send the warnings due and not yet given."""
        if self._running:
            return  # a warning to a Zalo staff member is itself counted: no second pass
        self._running = True
        try:
            while due := self._due(usage):
                for threshold in due:
                    await self._warn(usage, threshold)
                usage = self._quota.usage()  # crossed again meanwhile?
        finally:
            self._running = False

    def _due(self, usage: Usage) -> list[int]:
        now = self._services.clock.now()
        # Only the highest threshold reached: once the quota is spent, "80 %" is old news.
        return [
            t
            for t in usage.reached()[-1:]
            if (usage.month, t) not in self._settled
            and now - self._tried.get((usage.month, t), now - RETRY_EVERY) >= RETRY_EVERY
        ]

    async def _warn(self, usage: Usage, threshold: int) -> None:
        self._tried[(usage.month, threshold)] = self._services.clock.now()
        messages = [
            (
                Recipient(s.account_id, s.identity.channel, s.identity.chat_id, s.language),
                quota_reply(usage, threshold, s.language, self._services.tz),
            )
            for s in self._services.accounts.staff_contexts()
        ]
        key = LEDGER_KEY.format(month=usage.month)
        settled = await self._services.reminders.send_once(
            key, str(threshold), messages, self._notifier
        )
        if settled:
            self._settled.add((usage.month, threshold))
            log.warning(
                "Zalo quota: %d of %d messages sent in %s", usage.sent, usage.limit, usage.month
            )


class QuotaNoticeRouter:
    """The router for the quota warnings: a Zalo staff member gets one even past the quota."""

    def __init__(self, router: Notifier, zalo: Notifier) -> None:
        self._router = router
        self._zalo = zalo

    async def send(self, recipient: Recipient, reply: Reply) -> Delivery:
        notifier = self._zalo if recipient.channel == CHANNEL else self._router
        return await notifier.send(recipient, reply)


class UserCapNotices:
    """``RegistrationService.on_user_cap``: tell the office someone was refused for the cap."""

    def __init__(self, services: Services, notifier: Notifier) -> None:
        self._services = services
        self._notifier = notifier
        self._tasks: set[asyncio.Task[int]] = set()

    def __call__(self, reached: UserCapReached) -> None:
        # Registration is synchronous; the notice goes out beside the refusal, not before it.
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            log.warning("a focal point was refused for the user cap; no loop to tell the office")
            return
        tz = self._services.tz
        notice = tell_staff(
            self._services.accounts,
            self._notifier,
            lambda staff: user_cap_reply(reached, staff.language, tz),
        )
        task = loop.create_task(notice)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        log.warning("refused a focal point on %s: %d users served", CHANNEL, reached.limit)


def user_cap_reply(reached: UserCapReached, language: str, tz: ZoneInfo | None = None) -> Reply:
    """The office's notice that a person could not register, in its reader's language."""
    t = translator_for(language, tz)
    body = t(
        "{name} (Zalo id {id}) tried to register as a focal point of {unit} ({code}), but the "
        "Zalo bot already serves its maximum of {limit} people (ZALO_MAX_USERS). Please "
        "contact them: they can use Telegram instead, or the limit can be raised with a paid "
        "Zalo plan.",
        name=reached.identity.display_name or reached.identity.external_id,
        id=reached.identity.external_id,
        unit=reached.unit.name(language),
        code=reached.unit.code,
        limit=reached.limit,
    )
    return Reply(body, title=t("⚠️ Zalo user limit reached"), expects_text=False)


def quota_reply(usage: Usage, threshold: int, language: str, tz: ZoneInfo | None = None) -> Reply:
    """The office's warning, in its reader's language."""
    t = translator_for(language, tz)
    if threshold >= 100:
        body = t(
            "The Zalo bot has sent {sent} messages this month, its whole quota of {limit}. "
            "Zalo may refuse further messages until next month: reminders to focal points on "
            "Zalo wait until the first working day of next month, and answers may not reach "
            "them. Please call them, or upgrade the Zalo plan.",
            sent=usage.sent,
            limit=usage.limit,
        )
    else:
        body = t(
            "The Zalo bot has sent {sent} of its {limit} messages this month ({percent}%). "
            "When the quota runs out, focal points on Zalo stop receiving reminders and "
            "answers until next month.",
            sent=usage.sent,
            limit=usage.limit,
            percent=usage.percent,
        )
    return Reply(body, title=t("⚠️ Zalo message quota"), expects_text=False)
