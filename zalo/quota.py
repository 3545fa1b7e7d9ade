"""Count outgoing Zalo messages per month and warn the office before the quota runs out.

The free plan of the Zalo Bot Platform is reported to allow 3,000 outgoing messages a month
(and 50 users per bot). Every message the bot sends on Zalo is counted here; the office is
warned once at 80 % and once at 100 % of the configured limit. The count is ours, not Zalo's:
the platform's own figure is not available through the API.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select, update

from domain.accounts import AccountService
from domain.clock import Clock
from domain.conversation import Reply
from domain.i18n import translator_for
from domain.reminders import Notifier, Recipient
from storage.db import Database
from storage.zalo_models import ZaloUsage

log = logging.getLogger(__name__)

DEFAULT_MONTHLY_LIMIT = 3000
THRESHOLDS = (80, 100)


@dataclass(frozen=True)
class Usage:
    month: str  # "2023-05", in the bot's time zone
    sent: int
    limit: int

    @property
    def percent(self) -> int:
        return self.sent * 100 // self.limit if self.limit else 100


class MessageQuota:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        tz: ZoneInfo,
        *,
        monthly_limit: int = DEFAULT_MONTHLY_LIMIT,
    ) -> None:
        if monthly_limit < 1:
            raise ValueError("the monthly limit must be at least 1")
        self._db = db
        self._clock = clock
        self._tz = tz
        self.limit = monthly_limit

    def _month(self) -> str:
        return self._clock.now().astimezone(self._tz).strftime("%Y-%m")

    def usage(self) -> Usage:
        month = self._month()
        with self._db.transaction() as session:
            row = session.exec(select(ZaloUsage).where(ZaloUsage.month == month)).first()
            return Usage(month, row.sent if row else 0, self.limit)

    def record(self, count: int = 1) -> tuple[Usage, int | None]:
        """Count ``count`` sent messages; the threshold (80, 100) crossed for the first time."""
        month = self._month()
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
            usage = Usage(month, row.sent, self.limit)
            reached = [t for t in THRESHOLDS if usage.sent * 100 >= t * self.limit]
            if not reached or row.warned_percent >= reached[-1]:
                return usage, None
            # Claimed with a conditional UPDATE, so only one sender warns for each threshold.
            claimed = session.exec(
                update(ZaloUsage)
                .where(col(ZaloUsage.month) == month, col(ZaloUsage.warned_percent) < reached[-1])
                .values(warned_percent=reached[-1])
            )
            return usage, reached[-1] if claimed.rowcount == 1 else None

    def _ensure_row(self, month: str) -> None:
        try:
            with self._db.transaction() as session:
                if session.exec(select(ZaloUsage).where(ZaloUsage.month == month)).first():
                    return
                session.add(ZaloUsage(month=month, updated_at=self._clock.now()))
        except IntegrityError:
            pass  # another sender created it first


def quota_reply(usage: Usage, threshold: int, language: str, tz: ZoneInfo | None = None) -> Reply:
    """The office's warning, in its reader's language."""
    t = translator_for(language, tz)
    if threshold >= 100:
        body = t(
            "The Zalo bot has sent {sent} messages this month, its whole quota of {limit}. "
            "Zalo may refuse further messages until next month: focal points on Zalo may miss "
            "reminders and answers. Please call them, or upgrade the Zalo plan.",
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


async def warn_office(
    accounts: AccountService, notifier: Notifier, usage: Usage, threshold: int, tz: ZoneInfo
) -> int:
    """Tell every admin and office member, on their own channel; how many were told."""
    told = 0
    for staff in accounts.staff_contexts():
        recipient = Recipient(
            staff.account_id, staff.identity.channel, staff.identity.chat_id, staff.language
        )
        try:
            delivery = await notifier.send(
                recipient, quota_reply(usage, threshold, staff.language, tz)
            )
        except Exception:
            log.warning("could not warn %s about the Zalo quota", staff.identity.actor)
            continue
        told += delivery.status.value == "sent"
    log.warning("Zalo quota: %d of %d messages sent in %s", usage.sent, usage.limit, usage.month)
    return told
