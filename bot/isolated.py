"""Heavy work in child processes: the /export workbook, the /status chart.

Reading 10,000 units' answers into a workbook takes seconds and leaves the bot's memory high
for good (CPython seldom gives freed memory back to the system); matplotlib alone adds 27 MB.
Done in the bot, it would also stop every chat meanwhile. A spawned child does it, sends the
bytes back and exits, taking its memory with it; the bot awaits the answer.

The chart is asked for at every /status, and a cold child needs seconds to import matplotlib:
one chart worker is started (and warmed) in the background at start, kept, and replaced after
``CHART_TASKS_PER_WORKER`` charts so that its memory cannot creep.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

from bot.settings import Settings
from commands.core import ExportFile
from domain.i18n import translator_for
from domain.overview import CampaignStatus, status_chart_png

T = TypeVar("T")

_SPAWN = multiprocessing.get_context("spawn")  # a fresh interpreter: no copy of the bot's memory


def _die_with_parent(parent: int) -> None:
    """In a child, at start: exit when the bot that spawned it is gone.

    A pool's worker waits for its next task for ever; when the bot is killed (``kill -9``, a
    crash) nobody shuts the pool down, and each restart would leave a worker of ~90 MB behind.
    """

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


async def run_isolated(function: Callable[..., T], *args: object) -> T:
    """``function(*args)`` in a new process (arguments and result are pickled)."""
    pool = ProcessPoolExecutor(
        max_workers=1, mp_context=_SPAWN, initializer=_die_with_parent, initargs=(os.getpid(),)
    )
    try:
        return await asyncio.get_running_loop().run_in_executor(pool, function, *args)
    finally:
        pool.shutdown(wait=False)


@dataclass(frozen=True)
class DataSource:
    """Where a child finds what the bot reads: the database, forms and calendar, the zone."""

    database_url: str
    forms_dir: Path | None
    calendar_file: Path | None
    timezone: str

    @classmethod
    def from_settings(cls, settings: Settings) -> DataSource:
        return cls(
            settings.database_url, settings.forms_dir, settings.calendar_file, settings.timezone
        )


@dataclass(frozen=True)
class ExportJob:
    source: DataSource
    period_key: str
    language: str
    generated_at: datetime


@dataclass(frozen=True)
class ExportResult:
    content: bytes
    submitted: int
    total: int


def build_export(job: ExportJob) -> ExportResult:
    """In the child: the consolidated workbook of one period."""
    from bot.runtime import open_database, services_for
    from bot.settings import load_settings
    from domain.export import period_sheet, write_xlsx

    source = job.source
    values: dict[str, object] = {"DATABASE_URL": source.database_url}
    if source.forms_dir is not None:
        values["BOT_FORMS_DIR"] = str(source.forms_dir)
    if source.calendar_file is not None:
        values["BOT_CALENDAR_FILE"] = str(source.calendar_file)
    settings = load_settings(**values)
    db = open_database(settings, migrate=False)
    try:
        services = services_for(settings, db)
        period = services.periods.by_key(job.period_key)
        if period is None:
            raise LookupError(job.period_key)
        sheet = period_sheet(services.reporting, period, job.language)
        t = translator_for(job.language, ZoneInfo(source.timezone))
        content = write_xlsx([sheet], t, generated_at=job.generated_at)
        return ExportResult(content, sheet.submitted, len(sheet.snapshots))
    finally:
        db.engine.dispose()


def build_status_chart(status: CampaignStatus, language: str) -> bytes:
    """In the child: the /status chart (give it ``missing=()``: only the counts are drawn)."""
    return status_chart_png(status, translator_for(language))


CHART_TASKS_PER_WORKER = 50


def _warm_chart_worker(parent: int) -> None:
    """In the chart worker, once: the imports that make a cold chart slow."""
    _die_with_parent(parent)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot


class IsolatedWorkshop:
    """The command layer's ``Workshop``: the export in a new child, the chart in a warm one."""

    def __init__(self, source: DataSource) -> None:
        self.source = source
        self._charts: ProcessPoolExecutor | None = None

    def warm(self) -> None:
        """Start the chart worker now, in the background (call once the loop runs)."""
        if self._charts is None:
            self._charts = ProcessPoolExecutor(
                max_workers=1,
                mp_context=_SPAWN,
                initializer=_warm_chart_worker,
                initargs=(os.getpid(),),
                max_tasks_per_child=CHART_TASKS_PER_WORKER,
            )
            self._charts.submit(int)  # spawns the worker and runs its initializer

    def close(self) -> None:
        if self._charts is not None:
            self._charts.shutdown(wait=False, cancel_futures=True)
            self._charts = None

    async def export(self, period_key: str, language: str, now: datetime) -> ExportFile:
        job = ExportJob(self.source, period_key, language, now)
        result = await run_isolated(build_export, job)
        return ExportFile(result.content, result.submitted, result.total)

    async def status_chart(self, status: CampaignStatus, language: str) -> bytes:
        self.warm()
        assert self._charts is not None
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._charts, build_status_chart, status, language)
