"""The daily retention job: inbound texts older than BOT_RETENTION_DAYS are deleted.

Runs once at start (a bot that was down for the night still prunes) and every day at 03:00
local time, when nobody is filling in a form. What it deletes, and the audit entry it leaves,
are in ``domain.lifecycle.DataLifecycle.prune``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.exc import OperationalError

from domain.lifecycle import DataLifecycle, Pruned

log = logging.getLogger(__name__)

JOB_ID = "prune_inbound_texts"
HOUR = 3


class RetentionJob:
    def __init__(self, lifecycle: DataLifecycle, tz: ZoneInfo, *, hour: int = HOUR) -> None:
        self._lifecycle = lifecycle
        self._scheduler = AsyncIOScheduler(
            timezone=tz,
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        self._hour = hour

    def start(self) -> None:
        """Prune now, then every day at ``hour``:00 local time."""
        self._scheduler.add_job(self.run, "cron", hour=self._hour, id=JOB_ID, replace_existing=True)
        self._scheduler.add_job(self.run, "date", run_date=datetime.now(UTC), id=JOB_ID + "_now")
        self._scheduler.start()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)

    async def run(self) -> Pruned | None:
        try:
            pruned = self._lifecycle.prune()
        except OperationalError as error:  # tomorrow's run catches up
            log.warning("could not prune old inbound texts: %s", error.orig)
            return None
        if pruned.total:
            log.info(
                "retention: deleted %d inbound updates, %d registration attempts, %d drafts "
                "older than %d days",
                pruned.updates,
                pruned.attempts,
                pruned.drafts,
                self._lifecycle.retention.days,
            )
        return pruned
