"""Heavy one-off work in a short-lived child process: the /export workbook, the /status chart.

Reading 10,000 units' answers into a workbook takes seconds and leaves the bot's memory high
for good (CPython seldom gives freed memory back to the system); matplotlib alone adds 27 MB.
Done in the bot, it would also stop every chat meanwhile. A spawned child does it, sends the
bytes back and exits, taking its memory with it; the bot awaits the answer.
"""

from __future__ import annotations

import asyncio
import multiprocessing
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


async def run_isolated(function: Callable[..., T], *args: object) -> T:
    """``function(*args)`` in a new process (arguments and result are pickled)."""
    pool = ProcessPoolExecutor(max_workers=1, mp_context=_SPAWN)
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


@dataclass(frozen=True)
class IsolatedWorkshop:
    """The command layer's ``Workshop``: the export and the chart, each in a child process."""

    source: DataSource

    async def export(self, period_key: str, language: str, now: datetime) -> ExportFile:
        job = ExportJob(self.source, period_key, language, now)
        result = await run_isolated(build_export, job)
        return ExportFile(result.content, result.submitted, result.total)

    async def status_chart(self, status: CampaignStatus, language: str) -> bytes:
        return await run_isolated(build_status_chart, status, language)
