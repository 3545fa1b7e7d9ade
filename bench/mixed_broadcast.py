"""Mixed-channel broadcast: one announcement to focal points on Telegram and on Zalo, while a
focal point on each channel types a report and waits for the bot's answers.

The bot is the real ``python -m bot run`` with both tokens set (through ``bench.botproc``, its
clock at 09:00 on 29 May 2023: the 6-month report is open), alone in its own process. The two
stand-ins (``FakeTelegram``, ``FakeZalo``) run in this process with the people who use them, so
their work never runs on the bot's event loop (it still shares the machine's cores, so the
bot's wait for a CPU is printed with the load); the Telegram one enforces Telegram's
limits (30 messages/s overall, one a second per chat with bursts of 3), as in
``bench/broadcast.py``. Zalo documents no limit: its stand-in enforces none, and the figure is
the pace the bot keeps to its own ``ZALO_SEND_RATE``.

The focal points (``--recipients``, half on each channel, each in a district of their own) are
inserted straight into the database; the reminders due that morning are marked done first so
that only the announcement is bulk. The office member composes the announcement on Telegram
as a person would (``/broadcast``, the text, "All focal points", "✅ Send to …"). From the
confirmation until every copy has arrived, one focal point on each channel types the 6-month
report, an answer every 1–2 s after the bot's reply (the next person takes over when a form
reaches its review); the latency runs from the message entering the stand-in's queue to the
first message of the bot's answer reaching the stand-in.

Printed, per channel: the achieved pace as a fraction of the configured one (copies delivered
÷ seconds from the first to the last ÷ rate; goal ≥ 0.95), duplicates and losses (goal 0), and
the typing person's reply latency p50 / p95 / max (goal p95 < 1 s).

    .venv/bin/python -m bench.mixed_broadcast                     # 10,000: about 4 minutes
    .venv/bin/python -m bench.mixed_broadcast --recipients 600    # the --quick size of bench.run
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import col, func, select

from bench.common import ROOT, Figure, percentile, render_table
from bench.data import CAMPAIGN_NOW, ShiftedClock, add_units_with_focal_points, open_database
from bot.runtime import services_for
from bot.settings import load_settings
from domain.i18n import translator_for
from domain.reminder_plan import steps_to_send
from standin.telegram import FakeTelegram, SentMessage
from standin.zalo import FakeZalo, ZaloSent
from storage.broadcast_models import BroadcastDelivery
from storage.db import Database
from storage.models import FormSession, ReminderStep, Role, UnitKind
from tests.forms_helpers import TYPED_ANSWERS, form_position

NAME = "mixed_broadcast"
TELEGRAM_TOKEN = "123456:MIXED-BENCH-telegram-token"
ZALO_TOKEN = "2233445566778899001:MIXED-BENCH-zalo-token"
OFFICE_ID = 1
FIRST_TELEGRAM = 100_000
FIRST_ZALO = 500_000
CHANNELS = ("telegram", "zalo")
TYPISTS = 8  # focal points per channel who type, one after the other
TYPING_SECONDS = (1.0, 2.0)  # between the bot's answer and the person's next message
REPLY_TIMEOUT = 30.0
READING_SECONDS = 1.5  # the office member reads each screen while composing
GOAL_PACE = 0.95
GOAL_P95_S = 1.0
MARKER = "Thông báo thử tải"
TEXT = f"{MARKER}: họp giao ban quý II lúc 8h00 ngày 05/6; các đơn vị chuẩn bị số liệu."
REVIEW = "<review>"
# ``python -m bot run`` with its clock at the given instant (a profiler may wrap it).
BOT_PROGRAM = ["-m", "bench.botproc"]


@dataclass(frozen=True)
class Config:
    recipients: int = 10_000
    telegram_rate: float = 25.0  # BOT_BROADCAST_RATE, the bot's default
    zalo_rate: float = 30.0  # ZALO_SEND_RATE: 5,000 in under 3 minutes
    seed: int = 2023

    @property
    def telegram_count(self) -> int:
        return self.recipients // 2

    @property
    def zalo_count(self) -> int:
        return self.recipients - self.telegram_count

    @property
    def telegram_limit(self) -> float:
        """What the stand-in enforces overall: Telegram's 30/s, or room above a faster pace."""
        return max(30.0, self.telegram_rate + 5)

    def rate(self, channel: str) -> float:
        return self.telegram_rate if channel == "telegram" else self.zalo_rate


# --- what reached the stand-ins ---------------------------------------------------------------
class Recorder:
    """Every message the bot sent, as it reached a stand-in: announcements counted per chat,
    anything else to a chat timed (the answers the typing people wait for)."""

    def __init__(self) -> None:
        self.announced: dict[str, list[float]] = {channel: [] for channel in CHANNELS}
        self.copies: dict[str, Counter[str]] = {channel: Counter() for channel in CHANNELS}
        self.answers: defaultdict[tuple[str, str], list[float]] = defaultdict(list)
        self._arrived: dict[tuple[str, str], asyncio.Event] = {}
        self.all_announced = asyncio.Event()
        self.expected = {channel: 0 for channel in CHANNELS}

    def on_telegram(self, sent: SentMessage) -> None:
        self._seen("telegram", str(sent.chat_id), sent.text or "", sent.method)

    def on_zalo(self, sent: ZaloSent) -> None:
        self._seen("zalo", sent.chat_id, sent.text, sent.method)

    def _seen(self, channel: str, chat: str, text: str, method: str) -> None:
        now = time.monotonic()
        office = channel == "telegram" and chat == str(OFFICE_ID)  # its preview quotes the text
        if MARKER in text and not office and method != "editMessageText":
            self.announced[channel].append(now)
            self.copies[channel][chat] += 1
            if all(len(self.announced[c]) >= self.expected[c] for c in CHANNELS):
                self.all_announced.set()
            return
        self.answers[(channel, chat)].append(now)
        self._event(channel, chat).set()

    def _event(self, channel: str, chat: str) -> asyncio.Event:
        return self._arrived.setdefault((channel, chat), asyncio.Event())

    async def answer_after(self, channel: str, chat: str, seen: int, timeout: float) -> bool:
        """Wait until the chat has more than ``seen`` answers; False after ``timeout``."""
        event = self._event(channel, chat)
        try:
            async with asyncio.timeout(timeout):
                while len(self.answers[(channel, chat)]) <= seen:
                    event.clear()
                    await event.wait()
        except TimeoutError:
            return False
        return True


# --- the people -------------------------------------------------------------------------------
def form_position_of(db: Database, channel: str, chat: str) -> str | None:
    """Where the chat's open form is (the bot's memory): a question key, ``<review>``…"""
    with db.transaction() as session:
        row = session.exec(
            select(FormSession).where(FormSession.channel == channel, FormSession.chat_id == chat)
        ).first()
        return None if row is None else form_position(row)


@dataclass
class Typist:
    """Focal points of one channel typing the report one after the other, as people do: read
    the question, type for a second or two, send, wait for the answer."""

    channel: str
    chats: list[str]
    say: Callable[[str, str], object]
    db: Database
    recorder: Recorder
    dice: random.Random
    sends: list[tuple[str, float]] = field(default_factory=list)
    forms_done: int = 0
    stuck: int = 0

    async def run(self, stop: asyncio.Event) -> None:
        for chat in self.chats:
            if not await self._fill(chat, stop):
                return

    async def _fill(self, chat: str, stop: asyncio.Event) -> bool:
        """Type until the review (True) or until told to stop (False)."""
        last, repeats = "", 0
        while not stop.is_set():
            position = form_position_of(self.db, self.channel, chat)
            if position == REVIEW:
                self.forms_done += 1
                return True
            repeats = repeats + 1 if position == last else 0
            unexpected = (position or "").startswith("<") and position != "<confirm>"
            if repeats >= 3 or unexpected:
                self.stuck += 1  # the form did not move on: the next person takes over
                return True
            last = position or ""
            seen = len(self.recorder.answers[(self.channel, chat)])
            self.say(chat, self._text(position))
            self.sends.append((chat, time.monotonic()))
            await self.recorder.answer_after(self.channel, chat, seen, REPLY_TIMEOUT)
            await asyncio.sleep(self.dice.uniform(*TYPING_SECONDS))
        return False

    def _text(self, position: str | None) -> str:
        if position is None:
            return "/report"
        if position == "<confirm>":
            return "có" if self.channel == "telegram" else "1"  # "Yes, keep it"
        return str(TYPED_ANSWERS[position])

    def latencies(self) -> tuple[list[float], int]:
        """Seconds from each message to the first answer before the next message; unanswered."""
        answers = self.recorder.answers
        latencies: list[float] = []
        unanswered = 0
        for index, (chat, sent_at) in enumerate(self.sends):
            following = self.sends[index + 1 :]
            until = next((t for c, t in following if c == chat), float("inf"))
            first = next((t for t in answers[(self.channel, chat)] if sent_at <= t < until), None)
            if first is None:
                unanswered += 1
            else:
                latencies.append(first - sent_at)
        return latencies, unanswered


# --- the data, the bot ------------------------------------------------------------------------
def prepare(path: Path, config: Config) -> Database:
    """Units and focal points of both channels, the office member, the morning's reminders done."""
    db = open_database(path)
    settings = load_settings(DATABASE_URL=f"sqlite:///{path}")
    services = services_for(settings, db, ShiftedClock(CAMPAIGN_NOW))  # the bot's clock
    services.periods.ensure_year(CAMPAIGN_NOW.year)
    for channel, count, first, prefix in (
        ("telegram", config.telegram_count, FIRST_TELEGRAM, "tg"),
        ("zalo", config.zalo_count, FIRST_ZALO, "zl"),
    ):
        add_units_with_focal_points(
            db,
            count,
            now=CAMPAIGN_NOW,
            prefix=prefix,
            first_user_id=first,
            kind=UnitKind.DISTRICT,  # the typed answers are a district's
            channel=channel,
        )
    services.accounts.grant_role("telegram", str(OFFICE_ID), Role.OFFICE, actor="bench")
    # Only the announcement is bulk here: the reminders due this morning count as sent.
    due = steps_to_send(services.reminders.plan(), CAMPAIGN_NOW, set())
    with db.transaction() as session:
        session.add_all(
            ReminderStep(
                period_key=step.period_key,
                step=step.step,
                audience=step.audience,
                completed_at=CAMPAIGN_NOW,
            )
            for step in due
        )
    return db


def bot_environment(
    config: Config, telegram: FakeTelegram, zalo: FakeZalo, database: Path
) -> dict[str, str]:
    """The real settings of a process serving both channels, and nothing from this shell."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("TELEGRAM_", "BOT_", "DATABASE_URL", "ZALO_", "PUBLIC_"))
    }
    env.update(
        PYTHONPATH=str(ROOT),
        NO_PROXY="127.0.0.1,localhost",
        no_proxy="127.0.0.1,localhost",
        TELEGRAM_BOT_TOKEN=TELEGRAM_TOKEN,
        TELEGRAM_API_BASE_URL=telegram.base_url,
        ZALO_BOT_TOKEN=ZALO_TOKEN,
        ZALO_API_BASE_URL=zalo.url,
        DATABASE_URL=f"sqlite:///{database}",
        BOT_BROADCAST_RATE=f"{config.telegram_rate:g}",
        ZALO_SEND_RATE=f"{config.zalo_rate:g}",
        # A province with thousands of focal points on Zalo is on a plan that allows them.
        ZALO_MAX_USERS="0",
        ZALO_MONTHLY_MESSAGE_LIMIT="10000000",
        BOT_FILES_LISTEN="127.0.0.1:0",
    )
    return env


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_queue_seconds(pid: int) -> float:
    """Seconds the process's main thread (the bot's event loop) was ready to run but waited
    for a CPU, so far: the share of the machine the other processes took from it."""
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9


async def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        await asyncio.sleep(0.05)


async def compose(telegram: FakeTelegram, recorder: Recorder) -> None:
    """The office member's /broadcast on Telegram: text, "All focal points", "✅ Send to …"."""
    office = str(OFFICE_ID)
    t = translator_for("vi")

    async def step(act: Callable[[], object], *, read: bool = True) -> None:
        if read:
            await asyncio.sleep(READING_SECONDS)  # a person reads the screen before going on
        seen = len(recorder.answers[("telegram", office)])
        act()
        if not await recorder.answer_after("telegram", office, seen, REPLY_TIMEOUT):
            raise TimeoutError("the office got no answer while composing")

    def press(starts: str) -> None:
        message = telegram.last_message(OFFICE_ID)
        for row in message.buttons:
            for label, data in row:
                if label.startswith(starts):
                    telegram.inject_callback(OFFICE_ID, message.message_id, data)
                    return
        raise LookupError(f"no button {starts!r} in {message.buttons}")

    await step(lambda: telegram.inject_message(OFFICE_ID, "/broadcast"), read=False)
    await step(lambda: telegram.inject_message(OFFICE_ID, TEXT))
    await step(lambda: press(t("All focal points")))
    await step(lambda: press("✅"))


# --- the run ----------------------------------------------------------------------------------
@dataclass
class Result:
    config: Config
    seconds: float = 0.0
    delivered: dict[str, int] = field(default_factory=dict)
    span: dict[str, float] = field(default_factory=dict)
    times: dict[str, list[float]] = field(default_factory=dict)  # each copy's arrival
    duplicates: dict[str, int] = field(default_factory=dict)
    losses: dict[str, int] = field(default_factory=dict)
    ledger: dict[str, dict[str, int]] = field(default_factory=dict)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    unanswered: dict[str, int] = field(default_factory=dict)
    forms_done: dict[str, int] = field(default_factory=dict)
    stuck: dict[str, int] = field(default_factory=dict)
    telegram_429: int = 0
    bad_requests: list[tuple[str, str]] = field(default_factory=list)
    bot_cpu: float = 0.0  # the bot's mean CPU use over the broadcast (1.0 = one core)
    bot_waiting: float = 0.0  # share of the broadcast its event loop waited for a CPU
    load: tuple[float, float] = (0.0, 0.0)  # 1-minute load average at the start and the end
    log_problems: list[str] = field(default_factory=list)

    def pace(self, channel: str) -> float:
        span = self.span.get(channel, 0.0)
        if span <= 0:
            return 0.0
        return self.delivered[channel] / span / self.config.rate(channel)

    def lines(self) -> list[str]:
        c = self.config
        lines = [
            f"mixed broadcast: {c.recipients:,} focal points ({c.telegram_count:,} on Telegram at "
            f"BOT_BROADCAST_RATE {c.telegram_rate:g}/s, the stand-in enforcing "
            f"{c.telegram_limit:g}/s overall and 1/s per chat; {c.zalo_count:,} on Zalo at "
            f"ZALO_SEND_RATE {c.zalo_rate:g}/s); {self.seconds:.0f} s from the confirmation",
        ]
        for channel in CHANNELS:
            latencies = self.latencies[channel]
            lines.append(
                f"{channel}: {self.delivered[channel]:,} delivered in {self.span[channel]:.1f} s "
                f"= {self.delivered[channel] / max(self.span[channel], 1e-9):.2f}/s = "
                f"{self.pace(channel):.3f} of the configured pace (goal >= {GOAL_PACE}); "
                f"duplicates {self.duplicates[channel]}, losses {self.losses[channel]}; "
                f"ledger {self.ledger.get(channel, {})}"
            )
            lines.append(
                f"  {channel} typing: {len(latencies) + self.unanswered[channel]} messages, "
                f"{self.forms_done[channel]} forms to the review, answer latency p50 "
                f"{percentile(latencies, 50) * 1000:.0f} ms, p95 "
                f"{percentile(latencies, 95) * 1000:.0f} ms, max {max(latencies or [0]) * 1000:.0f}"
                f" ms (goal p95 < {GOAL_P95_S * 1000:.0f} ms); unanswered "
                f"{self.unanswered[channel]}, stuck {self.stuck[channel]}"
            )
        lines.append(
            f"Telegram 429s: {self.telegram_429}; bad requests: {len(self.bad_requests)} "
            f"{self.bad_requests[:3]}; bot CPU {self.bot_cpu:.0%} of a core, its event loop waited "
            f"for a CPU {self.bot_waiting:.1%} of the time; load average "
            f"{self.load[0]:.2f} at the start, {self.load[1]:.2f} at the end ({os.cpu_count()} "
            f"cores); problems in the bot's log: {len(self.log_problems)}"
        )
        lines += [f"  log: {line}" for line in self.log_problems[:5]]
        return lines

    def figures(self) -> list[Figure]:
        figures: list[Figure] = []
        for channel in CHANNELS:
            pace = self.pace(channel)
            goal = f"≥ {GOAL_PACE}"
            figures.append(
                Figure(NAME, f"{channel} pace / configured", pace, "", goal, pace >= GOAL_PACE)
            )
            for name, count in (
                ("duplicates", self.duplicates[channel]),
                ("losses", self.losses[channel]),
            ):
                figures.append(Figure(NAME, f"{channel} {name}", count, "", "0", count == 0))
            latencies = self.latencies[channel]
            p95 = percentile(latencies, 95) if latencies else float("inf")
            figures.append(
                Figure(NAME, f"{channel} reply p50", percentile(latencies, 50) * 1000, "ms")
            )
            figures.append(
                Figure(
                    NAME,
                    f"{channel} reply p95",
                    p95 * 1000,
                    "ms",
                    f"< {GOAL_P95_S * 1000:.0f} ms",
                    p95 < GOAL_P95_S and self.unanswered[channel] == 0,
                    note=f"{len(latencies)} answers, {self.unanswered[channel]} unanswered",
                )
            )
            figures.append(Figure(NAME, f"{channel} reply max", max(latencies or [0]) * 1000, "ms"))
        return figures

    @property
    def ok(self) -> bool:
        return all(figure.ok is not False for figure in self.figures())


async def run_mixed(config: Config, workdir: Path) -> Result:
    """Seed, start the stand-ins and the bot, compose, type during the broadcast, count."""
    result = Result(config)
    database = workdir / "mixed.sqlite3"
    db = prepare(database, config)
    recorder = Recorder()
    recorder.expected = {"telegram": config.telegram_count, "zalo": config.zalo_count}
    telegram = FakeTelegram(TELEGRAM_TOKEN)
    zalo = FakeZalo(ZALO_TOKEN)
    await telegram.start()
    await zalo.start()
    telegram.enforce_rate_limits(
        global_per_second=config.telegram_limit, per_chat_per_second=1, burst=3
    )
    telegram.add_user(OFFICE_ID, "Văn phòng")
    for n in range(config.telegram_count):
        telegram.add_user(FIRST_TELEGRAM + n, f"Đầu mối {FIRST_TELEGRAM + n}")
    for n in range(config.zalo_count):
        zalo.add_user(str(FIRST_ZALO + n), f"Đầu mối {FIRST_ZALO + n}")
    telegram.listeners.append(recorder.on_telegram)
    zalo.listeners.append(recorder.on_zalo)
    log_path = workdir / "bot.log"
    dice = random.Random(config.seed)
    typists = [
        Typist(
            "telegram",
            [str(FIRST_TELEGRAM + n) for n in range(min(TYPISTS, config.telegram_count))],
            lambda chat, text: telegram.inject_message(int(chat), text),
            db,
            recorder,
            random.Random(dice.random()),
        ),
        Typist(
            "zalo",
            [str(FIRST_ZALO + n) for n in range(min(TYPISTS, config.zalo_count))],
            lambda chat, text: zalo.inject_text(chat, text),
            db,
            recorder,
            random.Random(dice.random()),
        ),
    ]
    with log_path.open("wb") as log:
        bot = await asyncio.create_subprocess_exec(
            sys.executable,
            *BOT_PROGRAM,
            CAMPAIGN_NOW.isoformat(),
            "run",
            env=bot_environment(config, telegram, zalo, database),
            cwd=str(ROOT),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log,
        )
    try:
        await wait_for(
            lambda: (
                bot.returncode is not None
                or (telegram.calls["getUpdates"] > 0 and zalo.calls["getUpdates"] > 0)
            ),
            60,
            "the bot did not start polling both channels",
        )
        if bot.returncode is not None:
            raise RuntimeError(f"the bot exited with {bot.returncode}: {_tail(log_path)}")
        result.load = (os.getloadavg()[0], 0.0)
        await compose(telegram, recorder)
        began, cpu_began = time.monotonic(), cpu_seconds(bot.pid)
        queued_began = run_queue_seconds(bot.pid)
        stop = asyncio.Event()
        typing = [asyncio.create_task(typist.run(stop)) for typist in typists]
        expected_s = max(
            config.telegram_count / config.telegram_rate, config.zalo_count / config.zalo_rate
        )
        try:
            async with asyncio.timeout(expected_s * 1.5 + 60):
                await recorder.all_announced.wait()
        except TimeoutError:
            pass  # counted as losses below
        result.seconds = time.monotonic() - began
        result.bot_cpu = (cpu_seconds(bot.pid) - cpu_began) / max(result.seconds, 1e-9)
        result.bot_waiting = (run_queue_seconds(bot.pid) - queued_began) / max(result.seconds, 1e-9)
        result.load = (result.load[0], os.getloadavg()[0])
        stop.set()
        await asyncio.gather(*typing)
        await asyncio.sleep(3.0)  # the office's final report, the last records
    finally:
        if bot.returncode is None:
            bot.terminate()
            try:
                await asyncio.wait_for(bot.wait(), 30)
            except TimeoutError:
                bot.kill()
                await bot.wait()
        await telegram.stop()
        await zalo.stop()
    _count(result, recorder, typists, db)
    result.telegram_429 = telegram.rate_limited
    result.bad_requests = [*telegram.bad_requests, *zalo.bad_requests]
    db.engine.dispose()
    return result


def _count(result: Result, recorder: Recorder, typists: list[Typist], db: Database) -> None:
    config = result.config
    expected = {
        "telegram": {str(FIRST_TELEGRAM + n) for n in range(config.telegram_count)},
        "zalo": {str(FIRST_ZALO + n) for n in range(config.zalo_count)},
    }
    for channel in CHANNELS:
        times = recorder.announced[channel]
        copies = recorder.copies[channel]
        result.times[channel] = sorted(times)
        result.delivered[channel] = len(times)
        result.span[channel] = (max(times) - min(times)) if times else 0.0
        result.duplicates[channel] = sum(n - 1 for n in copies.values() if n > 1)
        result.losses[channel] = len(expected[channel] - set(copies))
    with db.transaction() as session:
        rows = session.exec(
            select(BroadcastDelivery.channel, BroadcastDelivery.status, func.count()).group_by(
                col(BroadcastDelivery.channel), col(BroadcastDelivery.status)
            )
        ).all()
    for channel, status, count in rows:
        result.ledger.setdefault(channel, {})[str(status)] = count
    for typist in typists:
        latencies, unanswered = typist.latencies()
        result.latencies[typist.channel] = latencies
        result.unanswered[typist.channel] = unanswered
        result.forms_done[typist.channel] = typist.forms_done
        result.stuck[typist.channel] = typist.stuck


def _tail(path: Path, lines: int = 15) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def measure(config: Config, log_copy: Path | None = None) -> Result:
    """One run in a temporary folder; the problems the bot logged (and its log, if asked)."""
    with tempfile.TemporaryDirectory(prefix="mixed-") as tmp:
        result = asyncio.run(run_mixed(config, Path(tmp)))
        log = Path(tmp) / "bot.log"
        result.log_problems = [
            line
            for line in log.read_text(errors="replace").splitlines()
            if " ERROR " in line or " WARNING " in line or line.startswith("Traceback")
        ]
        if log_copy is not None:
            log_copy.write_bytes(log.read_bytes())
    return result


def run(*, quick: bool = False) -> list[Figure]:
    """For ``bench.run``: 600 focal points with ``quick``, else 10,000."""
    result = measure(Config(recipients=600 if quick else 10_000))
    print("\n".join(result.lines()), flush=True)
    return result.figures()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.mixed_broadcast", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--recipients", type=int, default=10_000, help="half on each channel")
    parser.add_argument(
        "--telegram-rate", type=float, default=25.0, help="BOT_BROADCAST_RATE (messages/s)"
    )
    parser.add_argument("--zalo-rate", type=float, default=30.0, help="ZALO_SEND_RATE (messages/s)")
    parser.add_argument("--seed", type=int, default=2023)
    parser.add_argument("--log", type=Path, help="keep the bot's log in this file")
    args = parser.parse_args(argv)
    config = Config(args.recipients, args.telegram_rate, args.zalo_rate, args.seed)
    result = measure(config, args.log)
    print("\n".join(result.lines()))
    print(render_table(result.figures()))
    return 0 if result.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
