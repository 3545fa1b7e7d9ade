"""Chaos run: forms, a broadcast and a day's reminders at once, 10% faults, 20 SIGKILLs.

The bot is the real ``python -m bot run`` process (through ``bench.botproc``, its clock at
08:00 on 1 June 2023: the domestic-violence action month starts and the 6-month report is
due soon). The Bot API stand-in runs here and fails ``--fault-rate`` of the calls (429 with
retry_after, 500, 502, dropped connections, answers that come after the client gave up) and
answers 403 for ``--blocked`` people. Meanwhile:

- ``--filling`` focal points type the 6-month report, one message at a time, like people;
- one announcement goes to every focal point (``--focal-points``) at ``--broadcast-rate``;
- the reminders due that morning go to every focal point, retried every 2 s after faults.

The bot is killed (SIGKILL) ``--kills`` times at random moments and started again; each restart
comes 6 minutes later on the bot's clock (what the claim lease of an interrupted reminder
needs). At the end the run checks: every form at its review with exactly the typed answers,
every announcement and reminder delivered (or failed for the blocked), the ledgers complete,
SQLite's integrity and foreign keys. Duplicates are counted and split between the answers the
stand-in sent too late (the bot could not know) and the crash windows (a kill between Telegram
accepting a message and the bot's commit).

    .venv/bin/python -m bench.chaos                  # 1,000 focal points, 100 filling: ~3 min
    .venv/bin/python -m bench.chaos --focal-points 200 --filling 20
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlmodel import select

from bench.broadcast import queue_broadcast
from bench.common import percentile
from bench.data import ShiftedClock, add_units_with_focal_points, open_database
from bot.runtime import services_for
from bot.settings import load_settings
from domain.delivery import DeliveryConfig
from domain.reminder_plan import OFFICE, steps_to_send
from domain.reminders import CLAIM_LEASE, SEND_CONCURRENCY
from standin.telegram import FakeTelegram, SentMessage
from storage.broadcast_models import Broadcast, BroadcastDelivery, BroadcastStatus
from storage.db import Database
from storage.inbox import MAX_ATTEMPTS, InboundUpdate
from storage.models import ReminderDelivery, ReminderStep, UnitKind
from tests.typing_user import REVIEW, TypingUser, expected_values, form_positions, stored_answers

ROOT = Path(__file__).resolve().parent.parent
VN = ZoneInfo("Asia/Ho_Chi_Minh")
TOKEN = "123456:CHAOS-TOKEN-secret-value"
OFFICE_ID = 1  # bench.broadcast.queue_broadcast registers the office under this id
FIRST_USER = 100_000
SENDS = ("sendMessage", "sendPhoto", "sendDocument")
FAULT_KINDS = ("429", "500", "502", "drop", "timeout")
FAULTY_METHODS = (*SENDS, "editMessageText", "answerCallbackQuery", "setMyCommands")


@dataclass(frozen=True)
class ChaosConfig:
    focal_points: int = 1000
    filling: int = 100
    kills: int = 20
    fault_rate: float = 0.10
    blocked: int = 10
    broadcast_rate: float = 100.0
    start: datetime = datetime(2023, 6, 1, 8, 0, tzinfo=VN)
    seed: int = 2023
    budget_seconds: float = 900.0


@dataclass
class ChaosReport:
    config: ChaosConfig
    seconds: float = 0.0
    kills: int = 0
    restart_seconds: list[float] = field(default_factory=list)
    faults: Counter[str] = field(default_factory=Counter)
    late_answers: int = 0
    bad_requests: list[tuple[str, str]] = field(default_factory=list)
    forms_at_review: int = 0
    answers_stored: int = 0
    answers_wrong: list[tuple[str, str]] = field(default_factory=list)
    messages_retyped: int = 0
    broadcast_done: bool = False
    broadcast_ledger: Counter[str] = field(default_factory=Counter)
    broadcast_missing: list[int] = field(default_factory=list)
    broadcast_duplicates: int = 0
    reminder_steps: list[str] = field(default_factory=list)
    reminder_steps_done: int = 0
    reminder_ledger: Counter[str] = field(default_factory=Counter)
    reminders_missing: list[tuple[str, int]] = field(default_factory=list)
    reminder_duplicates: int = 0
    duplicates_after_late_answers: int = 0
    duplicates_from_crashes: int = 0
    integrity: str = ""
    foreign_key_violations: int = 0
    inbox: Counter[str] = field(default_factory=Counter)  # update rows by status at the end

    @property
    def crash_duplicate_bound(self) -> int:
        """At most the reminders and the broadcast's sends in flight, per kill."""
        return self.kills * (SEND_CONCURRENCY + DeliveryConfig().concurrency)

    def lines(self) -> list[str]:
        c = self.config
        return [
            f"chaos run: {c.focal_points} focal points, {c.filling} filling the 6-month report, "
            f"{c.blocked} blocked; faults at {c.fault_rate:.0%}; {self.seconds:.0f} s",
            f"kills: {self.kills}; restart to first poll: median "
            f"{percentile(self.restart_seconds, 50):.2f} s, "
            f"max {max(self.restart_seconds or [0]):.2f} s",
            "faults answered: "
            + ", ".join(f"{kind} {count}" for kind, count in sorted(self.faults.items()))
            + f"; late answers (done, client timed out): {self.late_answers}",
            f"forms: {self.forms_at_review}/{c.filling} at the review, {self.answers_stored} "
            f"answers stored, {len(self.answers_wrong)} differ from the typed; "
            f"{self.messages_retyped} messages typed again (no answer within a minute: lost)",
            f"broadcast: {'done' if self.broadcast_done else 'NOT DONE'}, ledger "
            f"{dict(self.broadcast_ledger)}, {len(self.broadcast_missing)} not received, "
            f"{self.broadcast_duplicates} duplicates",
            f"reminders: steps {', '.join(self.reminder_steps)} "
            f"({self.reminder_steps_done}/{len(self.reminder_steps)} complete), ledger "
            f"{dict(self.reminder_ledger)}, {len(self.reminders_missing)} not received, "
            f"{self.reminder_duplicates} duplicates",
            f"duplicates: {self.duplicates_after_late_answers} after a late answer, "
            f"{self.duplicates_from_crashes} from crash windows "
            f"(bound {self.crash_duplicate_bound}: {SEND_CONCURRENCY} reminders + "
            f"{DeliveryConfig().concurrency} broadcast sends in flight per kill)",
            f"inbox: {dict(self.inbox)} (pending: taken, never finished; given_up: its "
            f"replays cut short {MAX_ATTEMPTS} times)",
            f"SQLite: integrity {self.integrity}, {self.foreign_key_violations} foreign key "
            f"violations; Bad Requests: {len(self.bad_requests)}",
        ]


class BotProcess:
    """``python -m bot run`` (or ``bench.botproc TIME run``): started, killed, started again."""

    def __init__(self, telegram: FakeTelegram, env: dict[str, str], log: Path | None) -> None:
        self._telegram = telegram
        self._env = env
        self._log = log
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, at: datetime | None = None) -> float:
        """Start (its clock at ``at``, if given); seconds until it polls Telegram."""
        polls = self._telegram.calls["getUpdates"]
        began = time.monotonic()
        command = ["bot", "run"] if at is None else ["bench.botproc", at.isoformat(), "run"]
        with contextlib.ExitStack() as stack:
            log = stack.enter_context(self._log.open("a")) if self._log else None
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                *command,
                env=self._env,
                cwd=str(ROOT),
                stdout=asyncio.subprocess.DEVNULL,
                stderr=log or asyncio.subprocess.DEVNULL,
            )
        await self._telegram.wait_until(
            lambda: self._telegram.calls["getUpdates"] > polls, timeout=60
        )
        return time.monotonic() - began

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()


@dataclass(frozen=True)
class _Setup:
    db: Database
    fillers: list[int]
    blocked: set[int]
    focal_points: dict[int, int]  # account id -> Telegram user id
    broadcast_id: int
    broadcast_text: str
    steps: list[tuple[str, str, str]]  # (period key, step, audience)


def _prepare(config: ChaosConfig, path: Path) -> _Setup:
    db = open_database(path)
    settings = load_settings(DATABASE_URL=f"sqlite:///{path}")
    services = services_for(settings, db, ShiftedClock(config.start))
    services.periods.ensure_year(config.start.year)
    units = add_units_with_focal_points(
        db,
        config.focal_points,
        now=config.start,
        prefix="chaos",
        first_user_id=FIRST_USER,
        kind=UnitKind.DISTRICT,  # the typed answers are a district's
    )
    broadcast_id = queue_broadcast(services.broadcasts, services.accounts)
    with db.transaction() as session:
        broadcast_text = session.get_one(Broadcast, broadcast_id).text
    dice = random.Random(config.seed)
    fillers = [unit.user_id for unit in units[: config.filling]]
    others = [unit.user_id for unit in units[config.filling :]]
    blocked = set(dice.sample(others, min(config.blocked, len(others))))
    due = steps_to_send(services.reminders.plan(), config.start, set())
    return _Setup(
        db=db,
        fillers=fillers,
        blocked=blocked,
        focal_points={unit.account_id: unit.user_id for unit in units},
        broadcast_id=broadcast_id,
        broadcast_text=broadcast_text,
        steps=[(p.period_key, p.step, p.audience) for p in due],
    )


def _broadcast_done(db: Database, broadcast_id: int) -> bool:
    with db.transaction() as session:
        return session.get_one(Broadcast, broadcast_id).status == BroadcastStatus.DONE


def _reminder_steps_done(db: Database, steps: list[tuple[str, str, str]]) -> int:
    with db.transaction() as session:
        done = {
            (row.period_key, row.step, row.audience) for row in session.exec(select(ReminderStep))
        }
    return sum(1 for step in steps if step in done)


async def run_chaos(config: ChaosConfig, workdir: Path) -> ChaosReport:
    """Run everything at once under faults and kills; return what was checked and counted."""
    report = ChaosReport(config)
    setup = _prepare(config, workdir / "chaos.sqlite3")
    db = setup.db
    telegram = FakeTelegram(TOKEN)
    await telegram.start()
    telegram.add_user(OFFICE_ID, "Văn phòng")
    for user_id in setup.focal_points.values():
        telegram.add_user(user_id, f"Đầu mối {user_id}")
    for user_id in setup.blocked:
        telegram.block_user(user_id, notify=False)
    telegram.set_fault_rate(
        config.fault_rate, methods=FAULTY_METHODS, kinds=FAULT_KINDS, seed=config.seed
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": telegram.base_url,
        "DATABASE_URL": f"sqlite:///{workdir / 'chaos.sqlite3'}",
        "BOT_BROADCAST_RATE": str(config.broadcast_rate),
        "BOT_REMINDER_INTERVAL_SECONDS": "2",
        "NO_PROXY": "127.0.0.1,localhost",
    }
    bot = BotProcess(telegram, env, workdir / "bot.log")
    # Nothing is lost, so nobody needs to type again; a minute without an answer would mean
    # a message was lost, and typing it again is then counted.
    people = [TypingUser(telegram, user_id, patience=60.0) for user_id in setup.fillers]
    dice = random.Random(config.seed + 1)
    began = time.monotonic()
    clock_at = config.start
    up_since = time.monotonic()
    try:
        report.restart_seconds.append(await bot.start(clock_at))
        next_kill = up_since + dice.uniform(0.5, 3.0)
        checked = 0.0
        while time.monotonic() - began < config.budget_seconds:
            now = time.monotonic()
            positions = form_positions(db)
            at_review = sum(
                person.step(positions.get(str(person.user_id)), now) for person in people
            )
            if report.kills < config.kills and now >= next_kill:
                await bot.kill()
                report.kills += 1
                # The next start is later on the bot's clock: real time, plus a lease's worth.
                clock_at += timedelta(seconds=now - up_since) + CLAIM_LEASE + timedelta(minutes=1)
                up_since = time.monotonic()
                report.restart_seconds.append(await bot.start(clock_at))
                next_kill = time.monotonic() + dice.uniform(0.5, 3.0)
                continue
            if report.kills >= config.kills and at_review == len(people) and now - checked > 1:
                checked = now
                if _broadcast_done(db, setup.broadcast_id) and _reminder_steps_done(
                    db, setup.steps
                ) == len(setup.steps):
                    break
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.0)  # the last progress edits and notices
    finally:
        await bot.stop()
        telegram.set_fault_rate(0.0)
        await telegram.stop()
    report.seconds = time.monotonic() - began
    _check(report, setup, telegram, people)
    db.engine.dispose()
    return report


def _check(
    report: ChaosReport, setup: _Setup, telegram: FakeTelegram, people: list[TypingUser]
) -> None:
    db = setup.db
    report.faults = Counter(telegram.random_faults)
    report.late_answers = len(telegram.late_answers)
    report.bad_requests = list(telegram.bad_requests)
    report.messages_retyped = sum(person.retyped for person in people)
    # Forms: at the review, and every stored answer is the typed one.
    positions = form_positions(db)
    stored = stored_answers(db)
    expected = expected_values()
    for person in people:
        chat = str(person.user_id)
        report.forms_at_review += positions.get(chat) == REVIEW
        answers = stored.get(chat, {})
        report.answers_stored += len(answers)
        report.answers_wrong.extend(
            (chat, key) for key, value in answers.items() if expected.get(key) != value
        )
    # What each chat received (sends, not edits), and which chats had an answer come too late.
    received: dict[int, list[SentMessage]] = {}
    for message in telegram.sent:
        if message.method in SENDS:
            received.setdefault(message.chat_id, []).append(message)
    late = {int(str(chat)) for method, chat in telegram.late_answers if method in SENDS and chat}
    duplicates_late = duplicates_crash = 0
    # Broadcast: one message per focal point that is not blocked; the ledger says the rest.
    report.broadcast_done = _broadcast_done(db, setup.broadcast_id)
    with db.transaction() as session:
        report.broadcast_ledger = Counter(
            str(status)
            for status in session.exec(
                select(BroadcastDelivery.status).where(
                    BroadcastDelivery.broadcast_id == setup.broadcast_id
                )
            )
        )
    for user_id in setup.focal_points.values():
        copies = sum(1 for m in received.get(user_id, []) if setup.broadcast_text in (m.text or ""))
        if user_id not in setup.blocked and copies == 0:
            report.broadcast_missing.append(user_id)
        extra = max(copies - 1, 0)
        report.broadcast_duplicates += extra
        if user_id in late:
            duplicates_late += extra
        else:
            duplicates_crash += extra
    # Reminders: every due step reached every focal point (the text of the recorded message,
    # counted among everything the chat received).
    report.reminder_steps = [f"{period}/{step}" for period, step, _ in setup.steps]
    report.reminder_steps_done = _reminder_steps_done(db, setup.steps)
    with db.transaction() as session:
        rows = session.exec(select(ReminderDelivery)).all()
    report.reminder_ledger = Counter(row.status for row in rows)
    ledger = {(row.period_key, row.step, row.account_id): row for row in rows}
    for period, step, audience in setup.steps:
        if audience == OFFICE:
            continue
        for account_id, user_id in setup.focal_points.items():
            row = ledger.get((period, step, account_id))
            if user_id in setup.blocked:
                continue
            if row is None or row.status != "sent" or row.message_id is None:
                report.reminders_missing.append((step, user_id))
                continue
            sent_text = next(
                (m.text for m in received.get(user_id, []) if str(m.message_id) == row.message_id),
                None,
            )
            copies = sum(1 for m in received.get(user_id, []) if m.text == sent_text)
            if sent_text is None or copies == 0:
                report.reminders_missing.append((step, user_id))
                continue
            extra = copies - 1
            report.reminder_duplicates += extra
            if user_id in late:
                duplicates_late += extra
            else:
                duplicates_crash += extra
    with db.transaction() as session:
        report.inbox = Counter(session.exec(select(InboundUpdate.status)).all())
    report.duplicates_after_late_answers = duplicates_late
    report.duplicates_from_crashes = duplicates_crash
    with db.engine.connect() as connection:
        report.integrity = str(connection.execute(text("PRAGMA integrity_check")).scalar())
        report.foreign_key_violations = len(
            connection.execute(text("PRAGMA foreign_key_check")).all()
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--focal-points", type=int, default=ChaosConfig.focal_points)
    parser.add_argument("--filling", type=int, default=ChaosConfig.filling)
    parser.add_argument("--kills", type=int, default=ChaosConfig.kills)
    parser.add_argument("--fault-rate", type=float, default=ChaosConfig.fault_rate)
    parser.add_argument("--blocked", type=int, default=ChaosConfig.blocked)
    parser.add_argument("--broadcast-rate", type=float, default=ChaosConfig.broadcast_rate)
    parser.add_argument("--seed", type=int, default=ChaosConfig.seed)
    args = parser.parse_args()
    config = ChaosConfig(
        focal_points=args.focal_points,
        filling=args.filling,
        kills=args.kills,
        fault_rate=args.fault_rate,
        blocked=args.blocked,
        broadcast_rate=args.broadcast_rate,
        seed=args.seed,
    )
    keep = bool(os.environ.get("VSTBPN_CHAOS_KEEP"))  # the database and the bot's log
    workdir = Path(tempfile.mkdtemp(prefix="vstbpn-chaos-"))
    try:
        report = asyncio.run(run_chaos(config, workdir))
        for line in report.lines():
            print(line)
        log = (workdir / "bot.log").read_text(encoding="utf-8", errors="replace")
        print(f"bot log: {log.count('Traceback')} tracebacks, {len(log.splitlines())} lines")
    finally:
        if keep:
            print(f"kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
