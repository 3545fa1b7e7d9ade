"""The reminder job: every minute, send what the plan says is due (the ledger dedupes).

APScheduler's defaults would drop a run that starts more than one second late
(``misfire_grace_time=1``); here a late run still runs (``None``), and runs that piled up
while the loop was busy coalesce into one. Nothing is lost either way: each tick derives
what is due from the calendar and the ledger, not from the job's own schedule.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from domain.reminders import Notifier, ReminderService, RunSummary

log = logging.getLogger(__name__)

JOB_ID = "send_due_reminders"


class ReminderScheduler:
    def __init__(
        self,
        service: ReminderService,
        notifier: Notifier,
        tz: ZoneInfo,
        *,
        interval_seconds: int = 60,
    ) -> None:
        self._service = service
        self._notifier = notifier
        self._interval = interval_seconds
        self._scheduler = AsyncIOScheduler(
            timezone=tz,
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )

    def start(self) -> None:
        """Tick now (catch up after downtime), then every interval."""
        self._scheduler.add_job(
            self.send_due_reminders,
            "interval",
            seconds=self._interval,
            id=JOB_ID,
            next_run_time=datetime.now(UTC),
            replace_existing=True,
        )
        self._scheduler.start()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    async def send_due_reminders(self) -> RunSummary:
        summary = await self._service.send_due(self._notifier)
        if summary.steps:
            log.info(
                "reminders: steps %s, sent %d, failed %d, deferred %d, already sent %d",
                ", ".join(summary.steps),
                summary.sent,
                summary.failed,
                summary.deferred,
                summary.skipped,
            )
        return summary
