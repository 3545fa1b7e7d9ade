"""Form throughput: N focal points fill in the 6-month report at once, over HTTP.

The real ``Application`` (``bot.app.build_application``) polls the Bot API stand-in in this
process. Each simulated focal point sends its next answer (typed, or a button press on the
bot's latest message) as soon as the bot has processed the previous one; the reply latency is
the time from putting the update in the stand-in's queue to the bot's first message to that
chat reaching the stand-in (its ``listeners`` hook). The same harness then drives a bare
python-telegram-bot echo bot (one ``MessageHandler`` answering with ``send_message``), built
with the same settings, as the framework's ceiling.

The script each user plays is recorded first by a probe user through the real bot (every
question in the order the bot asks it, confirmations and the final "send" included), so it
follows the form exactly as it is today.
"""

from __future__ import annotations

import asyncio
import gc
import html
import logging
import random
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

from sqlmodel import col, func, select
from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ContextTypes,
    Defaults,
    MessageHandler,
    filters,
)

from bench.common import Figure, loopback_only, percentile
from bench.data import (
    CAMPAIGN_NOW,
    TOKEN,
    VN,
    BenchUnit,
    ShiftedClock,
    add_units_with_focal_points,
)
from bot.app import allowed_updates, build_application, start_polling, stop_polling
from bot.processing import PerChatUpdateProcessor
from bot.runtime import services_for
from bot.settings import Settings, load_settings
from standin.telegram import FakeTelegram, SentMessage
from storage.db import Database, make_engine, upgrade
from storage.models import FormSession, Report, ReportStatus, UnitKind
from tests.forms_helpers import DISTRICT_ANSWERS

NAME = "forms"
ADMIN_ID = 1
PROBE_ID = 900
FIRST_USER = 10_000
STEP_TIMEOUT = 300.0
SUBMIT, KEEP = "Gửi báo cáo", "Có, giữ nguyên"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Step:
    """One thing a focal point does: type ``value``, or press the button labelled ``value``."""

    press: bool
    value: str


@dataclass
class Run:
    bot: str  # "form bot" or "echo bot"
    users: int
    limiter: bool
    think: tuple[float, float] | None = None
    updates: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    missing_replies: int = 0
    bad_requests: int = 0
    submitted: int | None = None

    @property
    def per_second(self) -> float:
        return self.updates / self.seconds if self.seconds else 0.0

    def ms(self, p: float) -> float:
        return percentile(self.latencies, p) * 1000

    def line(self) -> str:
        extra = f", {self.submitted}/{self.users} reports submitted" if self.submitted else ""
        paced = f" think {self.think[0]:g}-{self.think[1]:g} s" if self.think else ""
        return (
            f"{self.bot:8} users {self.users:4} limiter {'on ' if self.limiter else 'off'}"
            f"{paced}: "
            f"{self.updates} updates in {self.seconds:.1f} s = {self.per_second:.1f}/s; "
            f"latency p50 {self.ms(50):.1f} p95 {self.ms(95):.1f} p99 {self.ms(99):.1f} ms"
            f"{extra}; missing replies {self.missing_replies}, bad requests {self.bad_requests}"
        )


class Driver:
    """Plays users against whatever bot polls ``telegram``, one step at a time per user."""

    def __init__(self, telegram: FakeTelegram) -> None:
        self.telegram = telegram
        self.processed: dict[int, asyncio.Event] = {}
        self.pending: dict[int, float] = {}  # chat id -> when its update was queued
        self.latencies: list[float] = []
        self.missing = 0
        telegram.listeners.append(self._on_sent)

    def on_processed(self, update: object) -> None:
        if isinstance(update, Update):
            self.processed.setdefault(update.update_id, asyncio.Event()).set()

    def _on_sent(self, sent: SentMessage) -> None:
        started = self.pending.pop(sent.chat_id, None)
        if started is not None:
            self.latencies.append(time.perf_counter() - started)

    async def act(self, user_id: int, step: Step) -> None:
        if step.press:
            message = self.telegram.last_message(user_id)
            data = next(d for row in message.buttons for label, d in row if label == step.value)
            self.pending[user_id] = time.perf_counter()
            update_id = self.telegram.inject_callback(user_id, message.message_id, data)
        else:
            self.pending[user_id] = time.perf_counter()
            update_id = self.telegram.inject_message(user_id, step.value)
        event = self.processed.setdefault(update_id, asyncio.Event())
        await asyncio.wait_for(event.wait(), STEP_TIMEOUT)
        del self.processed[update_id]
        if self.pending.pop(user_id, None) is not None:
            self.missing += 1

    async def play(
        self,
        user_ids: Sequence[int],
        script: Sequence[Step],
        think: tuple[float, float] | None = None,
    ) -> float:
        """Every user plays the whole script, all at once; return the seconds it took.

        ``think``: seconds (uniformly between the two) a person takes to read a question and
        answer it, before each step; None: answer at once (a saturation test).
        """
        self.latencies.clear()
        pace = random.Random(2023)

        async def one(user_id: int) -> None:
            for step in script:
                if think is not None:
                    await asyncio.sleep(pace.uniform(*think))
                await self.act(user_id, step)

        started = time.perf_counter()
        await asyncio.gather(*(one(user_id) for user_id in user_ids))
        return time.perf_counter() - started


@contextmanager
def rate_limiter(enabled: bool) -> Iterator[None]:
    """``build_application`` installs a rate limiter; with ``enabled=False`` it gets none."""
    if enabled:
        yield
        return
    with mock.patch("bot.app.RetryingRateLimiter", return_value=None):
        yield


def _settings(tmp: Path, telegram: FakeTelegram) -> Settings:
    return load_settings(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=telegram.base_url,
        DATABASE_URL=f"sqlite:///{tmp / 'forms.sqlite3'}",
        BOT_ADMIN_IDS=str(ADMIN_ID),
        # The bot's own speed: at saturation every user answers faster than a person can,
        # which fairness (on in production) would pace; bench/flood.py measures fairness.
        BOT_FAIRNESS="off",
    )


def _current(db: Database, user_id: int) -> str | None:
    with db.transaction() as session:
        active = session.exec(
            select(FormSession).where(FormSession.chat_id == str(user_id))
        ).first()
        if active is None:
            return None
        return active.question_key if active.mode == "question" else f"<{active.mode}>"


async def record_script(driver: Driver, db: Database, user_id: int) -> list[Step]:
    """Fill in the report once as ``user_id``, following the bot; return what was done."""
    steps = [Step(False, "/report")]
    await driver.act(user_id, steps[0])
    for _ in range(200):
        key = _current(db, user_id)
        if key is None:
            return steps
        if key == "<review>":
            step = Step(True, SUBMIT)
        elif key == "<confirm>":
            step = Step(True, KEEP)
        else:
            answer = DISTRICT_ANSWERS[key]
            pressed = isinstance(answer, tuple)
            step = Step(pressed, str(answer[1] if isinstance(answer, tuple) else answer))
        steps.append(step)
        await driver.act(user_id, step)
    raise AssertionError("the form did not end")


def _submitted(db: Database) -> int:
    with db.transaction() as session:
        return int(
            session.exec(
                select(func.count())
                .select_from(Report)
                .where(col(Report.status) == ReportStatus.SUBMITTED)
            ).one()
        )


async def run_form_bot(
    users: int,
    *,
    limiter: bool,
    think: tuple[float, float] | None = None,
    steps: int | None = None,
) -> tuple[Run, list[Step]]:
    """N district focal points fill in the 6-month report through the real Application
    (``steps``: only the first steps of it)."""
    with tempfile.TemporaryDirectory() as tmp, loopback_only(), rate_limiter(limiter):
        telegram = FakeTelegram(TOKEN)
        await telegram.start()
        settings = _settings(Path(tmp), telegram)
        engine = make_engine(settings.database_url)
        upgrade(engine)
        db = Database(engine)
        # A running clock, so each message updates "last seen" as in production.
        services = services_for(settings, db, ShiftedClock(CAMPAIGN_NOW))
        services.periods.ensure_year(CAMPAIGN_NOW.year)
        units: list[BenchUnit] = add_units_with_focal_points(
            db, users + 1, now=CAMPAIGN_NOW, first_user_id=FIRST_USER, kind=UnitKind.DISTRICT
        )
        probe, *players = units
        telegram.add_user(ADMIN_ID, "Văn phòng")
        for unit in units:
            telegram.add_user(unit.user_id, f"Đầu mối {unit.user_id}")
        driver = Driver(telegram)
        application = build_application(
            settings, services, on_processed=driver.on_processed, run_scheduler=False
        )
        await start_polling(application, poll_timeout=10)
        try:
            # The office has talked to the bot, so every submission notifies it (as in use).
            await driver.act(ADMIN_ID, Step(False, "/help"))
            script = await record_script(driver, db, probe.user_id)
            played = script[:steps] if steps else script
            gc.collect()
            run = Run("form bot", users, limiter, think, updates=users * len(played))
            run.seconds = await driver.play([u.user_id for u in players], played, think)
            run.latencies = list(driver.latencies)
            run.missing_replies = driver.missing
            run.bad_requests = len(telegram.bad_requests)
            run.submitted = _submitted(db) - 1  # the probe's
            if steps:
                run.submitted = None
        finally:
            await stop_polling(application)
            await telegram.stop()
            engine.dispose()
    return run, script


async def _echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message = update.effective_message
    if message is not None and message.text is not None:
        await context.bot.send_message(message.chat_id, html.escape(message.text, quote=False))


def echo_application(
    telegram: FakeTelegram, driver: Driver, *, limiter: bool
) -> Application[Any, Any, Any, Any, Any, Any]:
    """A bare PTB bot with the settings ``build_application`` uses, answering with the text."""
    builder: Any = (
        ApplicationBuilder()
        .token(TOKEN)
        .base_url(telegram.base_url)
        .base_file_url(telegram.base_file_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=VN))
        .concurrent_updates(PerChatUpdateProcessor(on_processed=driver.on_processed))
    )
    if limiter:
        builder = builder.rate_limiter(AIORateLimiter(max_retries=2))
    application: Application[Any, Any, Any, Any, Any, Any] = builder.build()
    application.add_handler(MessageHandler(filters.TEXT, _echo))
    return application


async def run_echo_bot(users: int, script: Sequence[Step], *, limiter: bool) -> Run:
    """The same users and as many messages (button labels typed), answered by the echo bot."""
    texts = [Step(False, step.value) for step in script]
    with loopback_only():
        telegram = FakeTelegram(TOKEN)
        await telegram.start()
        user_ids = [FIRST_USER + 1 + n for n in range(users)]
        for user_id in user_ids:
            telegram.add_user(user_id, f"Đầu mối {user_id}")
        driver = Driver(telegram)
        application = echo_application(telegram, driver, limiter=limiter)
        await application.initialize()
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(
            poll_interval=0, timeout=10, allowed_updates=allowed_updates()
        )
        try:
            gc.collect()
            run = Run("echo bot", users, limiter, updates=users * len(texts))
            run.seconds = await driver.play(user_ids, texts)
            run.latencies = list(driver.latencies)
            run.missing_replies = driver.missing
            run.bad_requests = len(telegram.bad_requests)
        finally:
            await application.updater.stop()
            await application.stop()
            await application.shutdown()
            await telegram.stop()
    return run


async def measure(users: int, *, limiter: bool) -> tuple[Run, Run]:
    bot, script = await run_form_bot(users, limiter=limiter)
    print(f"  {bot.line()}", flush=True)
    echo = await run_echo_bot(users, script, limiter=limiter)
    print(f"  {echo.line()}", flush=True)
    return bot, echo


def paced_figures(bot: Run) -> list[Figure]:
    assert bot.think is not None
    label = (
        f"{bot.users} users answering every {bot.think[0]:g}-{bot.think[1]:g} s, "
        f"limiter {'on' if bot.limiter else 'off'}"
    )
    checks = bot.missing_replies == 0 and bot.bad_requests == 0
    note = f"{bot.per_second:.1f} answers/s offered"
    if not checks:
        note += "; CHECK FAILED: missing replies or bad requests"
    return [
        Figure(NAME, f"{label}: p50", bot.ms(50), "ms", note=note),
        Figure(NAME, f"{label}: p95", bot.ms(95), "ms", "≤ 100 ms", bot.ms(95) <= 100),
        Figure(NAME, f"{label}: p99", bot.ms(99), "ms"),
    ]


def figures_of(bot: Run, echo: Run) -> list[Figure]:
    label = f"{bot.users} users, limiter {'on' if bot.limiter else 'off'}"
    ratio = bot.per_second / echo.per_second if echo.per_second else 0.0
    p95_goal = bot.users == 100
    checks = bot.missing_replies == 0 and bot.bad_requests == 0 and bot.submitted == bot.users
    note = "" if checks else "CHECK FAILED: missing replies, bad requests or unsent reports"
    return [
        Figure(NAME, f"{label}: form bot answers/s", bot.per_second, "/s", note=note),
        Figure(NAME, f"{label}: echo bot answers/s", echo.per_second, "/s"),
        Figure(NAME, f"{label}: ratio to echo", ratio, "", "≥ 0.70", ratio >= 0.7),
        Figure(NAME, f"{label}: form bot p50", bot.ms(50), "ms"),
        Figure(
            NAME,
            f"{label}: form bot p95",
            bot.ms(95),
            "ms",
            "≤ 100 ms" if p95_goal else "",
            bot.ms(95) <= 100 if p95_goal else None,
        ),
        Figure(NAME, f"{label}: form bot p99", bot.ms(99), "ms"),
        Figure(
            NAME,
            f"{label}: echo bot p95",
            echo.ms(95),
            "ms",
            note=f"p50 {echo.ms(50):.1f} ms, p99 {echo.ms(99):.1f} ms",
        ),
    ]


def run(*, quick: bool = False) -> list[Figure]:
    """Saturation (answers sent at once) without the rate limiter at 10/100/500 users and
    with it at 10/100, against the echo bot; then 100 users at a person's pace with the
    limiter (quick: 10 and 30 users, 5 with the limiter, 10 paced users for 12 steps)."""
    plan: list[tuple[int, bool]] = (
        [(10, False), (30, False), (5, True)]
        if quick
        else [(10, False), (100, False), (500, False), (10, True), (100, True)]
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    figures: list[Figure] = []
    for users, limiter in plan:
        print(f"forms: {users} users, rate limiter {'on' if limiter else 'off'}", flush=True)
        bot, echo = asyncio.run(measure(users, limiter=limiter))
        figures.extend(figures_of(bot, echo))
    users, think, steps = (10, (0.3, 0.9), 12) if quick else (100, (2.0, 8.0), None)
    print(f"forms: {users} users at a person's pace ({think[0]:g}-{think[1]:g} s)", flush=True)
    paced, _script = asyncio.run(run_form_bot(users, limiter=True, think=think, steps=steps))
    print(f"  {paced.line()}", flush=True)
    figures.extend(paced_figures(paced))
    return figures


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="*", default=[10])
    parser.add_argument("--limiter", action="store_true", help="keep AIORateLimiter on")
    parser.add_argument(
        "--think", type=float, nargs=2, metavar=("MIN", "MAX"), help="pace: seconds per answer"
    )
    args = parser.parse_args()
    for count in args.users:
        if args.think:
            paced_run, _ = asyncio.run(
                run_form_bot(count, limiter=args.limiter, think=tuple(args.think))
            )
            print(f"  {paced_run.line()}")
        else:
            asyncio.run(measure(count, limiter=args.limiter))
