"""A stranger flood: 20 strangers send 50 messages a second together for 30 s while a focal
point fills in the 6-month report; the focal point's reply times against a quiet run.

    python -m bench.flood                 # quiet, flood, and flood without fairness; 2 rounds
    python -m bench.flood --rounds 3 --seconds 30 --rate 50 --strangers 20

Issue 14's goal: the focal point's p95 reply time during the flood stays within 2x of the
quiet run's. Everything is the production setup: the real ``Application``
(``build_application``, rate limiter on, BOT_FAIRNESS on) polling the Bot API stand-in in this
process, a migrated SQLite file. The focal point answers at a brisk person's pace (0.5 to
1 s after each reply, about the whole form in 30 s); its reply time runs from queueing its
update in the stand-in to the bot's first message to that chat (as ``bench/forms.py``). The
strangers' messages are queued in the stand-in at an even pace, round robin, from the start of
the focal point's form until ``--seconds`` have passed. Rounds alternate quiet / flood /
flood without fairness, so the machine's drift touches them alike; the latencies of all
rounds of a kind are pooled. Each run checks the report was submitted, no reply was missing
and the stand-in counted no Bad Request; for the strangers it counts the messages the bot
sent them and the rows their updates left in the inbox.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sqlmodel import select

from bench.common import Figure, loopback_only, percentile, render_table
from bench.data import CAMPAIGN_NOW, TOKEN, ShiftedClock, add_units_with_focal_points
from bench.forms import ADMIN_ID, Driver, Step, record_script
from bot.app import build_application, start_polling, stop_polling
from bot.runtime import services_for
from bot.settings import load_settings
from standin.telegram import FakeTelegram, SentMessage
from storage.db import Database, make_engine, upgrade
from storage.inbox import InboundUpdate
from storage.models import Report, ReportStatus, UnitKind

NAME = "flood"
FIRST_USER = 10_000
FIRST_STRANGER = 500_000
THINK = (0.5, 1.0)
GOAL_RATIO = 2.0


@dataclass
class FloodRun:
    kind: str  # "quiet", "flood", "flood, fairness off"
    latencies: list[float] = field(default_factory=list)
    stranger_messages: int = 0
    stranger_replies: int = 0
    stranger_inbox_rows: int = 0
    missing_replies: int = 0
    bad_requests: int = 0
    submitted: bool = False

    def ms(self, p: float) -> float:
        return percentile(self.latencies, p) * 1000

    def line(self) -> str:
        return (
            f"{self.kind:20}: focal point p50 {self.ms(50):.1f} p95 {self.ms(95):.1f} ms "
            f"({len(self.latencies)} replies); strangers sent {self.stranger_messages}, "
            f"answered {self.stranger_replies}, stored {self.stranger_inbox_rows}; "
            f"submitted {self.submitted}, missing {self.missing_replies}, "
            f"bad requests {self.bad_requests}"
        )


async def _flood(telegram: FakeTelegram, strangers: list[int], rate: float, seconds: float) -> int:
    """Queue strangers' messages at ``rate`` a second (round robin) for ``seconds``."""
    loop = asyncio.get_running_loop()
    started, sent = loop.time(), 0
    while (elapsed := loop.time() - started) < seconds:
        due = int(elapsed * rate) + 1
        while sent < due:
            telegram.inject_message(strangers[sent % len(strangers)], f"alo {sent}")
            sent += 1
        await asyncio.sleep(1 / rate)
    return sent


def _stranger_rows(db: Database) -> int:
    with db.transaction() as session:
        rows = session.exec(select(InboundUpdate)).all()
    count = 0
    for row in rows:
        sender = json.loads(row.payload_json).get("message", {}).get("from", {}).get("id", 0)
        count += int(sender) >= FIRST_STRANGER
    return count


async def run_once(
    kind: str, *, strangers: int, rate: float, seconds: float, fairness: bool = True
) -> FloodRun:
    flood = kind != "quiet"
    with tempfile.TemporaryDirectory() as tmp, loopback_only():
        telegram = FakeTelegram(TOKEN)
        await telegram.start()
        settings = load_settings(
            TELEGRAM_BOT_TOKEN=TOKEN,
            TELEGRAM_API_BASE_URL=telegram.base_url,
            DATABASE_URL=f"sqlite:///{Path(tmp) / 'flood.sqlite3'}",
            BOT_ADMIN_IDS=str(ADMIN_ID),
            BOT_FAIRNESS="on" if fairness else "off",
        )
        engine = make_engine(settings.database_url)
        upgrade(engine)
        db = Database(engine)
        services = services_for(settings, db, ShiftedClock(CAMPAIGN_NOW))
        services.periods.ensure_year(CAMPAIGN_NOW.year)
        probe, focal = add_units_with_focal_points(
            db, 2, now=CAMPAIGN_NOW, first_user_id=FIRST_USER, kind=UnitKind.DISTRICT
        )
        stranger_ids = [FIRST_STRANGER + n for n in range(strangers)]
        for user_id in [ADMIN_ID, probe.user_id, focal.user_id, *stranger_ids]:
            telegram.add_user(user_id, f"Người {user_id}")
        replies_to_strangers: list[SentMessage] = []
        telegram.listeners.append(
            lambda sent: (
                replies_to_strangers.append(sent) if sent.chat_id >= FIRST_STRANGER else None
            )
        )
        driver = Driver(telegram)
        application = build_application(
            settings, services, on_processed=driver.on_processed, run_scheduler=False
        )
        await start_polling(application, poll_timeout=10)
        result = FloodRun(kind)
        try:
            await driver.act(ADMIN_ID, Step(False, "/help"))
            script = await record_script(driver, db, probe.user_id)
            gc.collect()
            driver.missing = 0
            filling = asyncio.create_task(driver.play([focal.user_id], script, THINK))
            if flood:
                result.stranger_messages = await _flood(telegram, stranger_ids, rate, seconds)
            await filling
            result.latencies = list(driver.latencies)
            result.missing_replies = driver.missing
            result.bad_requests = len(telegram.bad_requests)
            with db.transaction() as session:
                report = session.exec(select(Report).where(Report.unit_id == focal.unit_id)).first()
                result.submitted = report is not None and report.status == ReportStatus.SUBMITTED
            result.stranger_replies = len(replies_to_strangers)
            result.stranger_inbox_rows = _stranger_rows(db)
        finally:
            await stop_polling(application)
            await telegram.stop()
            engine.dispose()
    return result


def run(
    *,
    quick: bool = False,
    rounds: int = 2,
    strangers: int = 20,
    rate: float = 50.0,
    seconds: float = 30.0,
) -> list[Figure]:
    if quick:
        rounds, seconds = 1, 10.0
    logging.getLogger("httpx").setLevel(logging.WARNING)
    pooled: dict[str, FloodRun] = {}
    for number in range(rounds):
        for kind, fairness in (("quiet", True), ("flood", True), ("flood, fairness off", False)):
            print(f"flood: round {number + 1}, {kind}", flush=True)
            one = asyncio.run(
                run_once(kind, strangers=strangers, rate=rate, seconds=seconds, fairness=fairness)
            )
            print(f"  {one.line()}", flush=True)
            total = pooled.setdefault(kind, FloodRun(kind, submitted=True))
            total.latencies += one.latencies
            total.stranger_messages += one.stranger_messages
            total.stranger_replies += one.stranger_replies
            total.stranger_inbox_rows += one.stranger_inbox_rows
            total.missing_replies += one.missing_replies
            total.bad_requests += one.bad_requests
            total.submitted = total.submitted and one.submitted
    return figures_of(pooled, strangers=strangers, rate=rate, seconds=seconds, rounds=rounds)


def figures_of(
    pooled: dict[str, FloodRun], *, strangers: int, rate: float, seconds: float, rounds: int
) -> list[Figure]:
    quiet, flood, unfair = pooled["quiet"], pooled["flood"], pooled["flood, fairness off"]
    figures: list[Figure] = []
    for run in (quiet, flood, unfair):
        checks = run.submitted and run.missing_replies == 0 and run.bad_requests == 0
        note = f"{len(run.latencies)} replies over {rounds} round(s)"
        if not checks:
            note += "; CHECK FAILED: unsent report, missing replies or bad requests"
        figures.append(Figure(NAME, f"{run.kind}: focal point p50", run.ms(50), "ms", note=note))
        figures.append(Figure(NAME, f"{run.kind}: focal point p95", run.ms(95), "ms"))
    for run in (flood, unfair):
        ratio = run.ms(95) / quiet.ms(95) if quiet.ms(95) else 0.0
        goal = run is flood
        figures.append(
            Figure(
                NAME,
                f"{run.kind}: p95 / quiet p95",
                ratio,
                "",
                f"≤ {GOAL_RATIO:g}" if goal else "",
                ratio <= GOAL_RATIO if goal else None,
                note=f"{strangers} strangers, {rate:g} messages/s together, {seconds:g} s",
            )
        )
        figures.append(
            Figure(
                NAME,
                f"{run.kind}: strangers' messages answered",
                run.stranger_replies,
                "",
                note=(
                    f"of {run.stranger_messages} sent; {run.stranger_inbox_rows} stored "
                    "in the inbox"
                ),
            )
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--strangers", type=int, default=20)
    parser.add_argument("--rate", type=float, default=50.0, help="messages a second, together")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--quick", action="store_true", help="one round of 10 s")
    args = parser.parse_args()
    figures = run(
        quick=args.quick,
        rounds=args.rounds,
        strangers=args.strangers,
        rate=args.rate,
        seconds=args.seconds,
    )
    print(render_table(figures))
    raise SystemExit(0 if all(f.ok is not False for f in figures) else 1)


if __name__ == "__main__":
    main()
