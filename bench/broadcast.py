"""Benchmark: one broadcast to many focal points against the Bot API stand-in.

The stand-in runs in a child process (as Telegram would be elsewhere) enforcing the overall
limit (``--rate`` messages/s) and one message a second per chat; the delivery engine gets the
same rate. The round goes through the real code: the compose flow creates the ledger rows, the
engine sends them with ``TelegramSender`` over HTTP and records each one.

Prints the achieved rate as a fraction of the configured limit (goal ≥ 0.95), duplicates and
losses (goal 0). ``--restart-after 0.4`` stops the engine after 40 % of the messages and starts
a new one on the same database, as a process restart would.

    .venv/bin/python bench/broadcast.py                            # 10,000 at 30/s: ~5.5 min
    .venv/bin/python bench/broadcast.py --recipients 2000 --rate 200
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import select

from bot.settings import load_settings
from domain.accounts import AccountService
from domain.broadcasts import BroadcastQueued, BroadcastService
from domain.clock import SystemClock
from domain.conversation import Outcome
from domain.delivery import DeliveryConfig, DeliveryEngine
from domain.i18n import translator_for
from domain.identity import ChannelIdentity
from handlers.telegram_sender import TelegramSender
from standin.telegram import FakeTelegram
from storage.broadcast_models import BroadcastDelivery, DeliveryStatus
from storage.db import Database, make_engine, upgrade
from storage.models import Account, FocalPoint, Role, Unit, UnitKind

TOKEN = "123456:BENCH-TOKEN-secret"
OFFICE_ID = 1
FIRST_USER = 100_000
UNITS = 100


# --- the stand-in, in a child process ---------------------------------------------------------
async def serve(recipients: int, rate: float, latency: float) -> None:
    """Run the stand-in with the users and the limits; print its URL; run until killed."""
    telegram = FakeTelegram(TOKEN)
    await telegram.start()
    telegram.enforce_rate_limits(global_per_second=rate, per_chat_per_second=1, burst=3)
    telegram.latency = latency
    telegram.add_user(OFFICE_ID, "Văn phòng")
    for user_id in range(FIRST_USER, FIRST_USER + recipients):
        telegram.add_user(user_id, f"Đầu mối {user_id}")
    print(telegram.url, flush=True)
    await asyncio.Event().wait()


# --- the bot side -----------------------------------------------------------------------------
def populate(db: Database, recipients: int) -> None:
    """Units and focal points straight into the database (registering 10,000 would take long)."""
    now = datetime.now(UTC)
    with db.transaction() as session:
        units = [
            Unit(
                code=f"unit-{n:03d}",
                name_vi=f"Đơn vị {n}",
                kind=UnitKind.COMMUNE,
                created_at=now,
                updated_at=now,
            )
            for n in range(UNITS)
        ]
        session.add_all(units)
        accounts = [
            Account(
                external_id=str(user_id),
                chat_id=str(user_id),
                display_name=f"Đầu mối {user_id}",
                created_at=now,
            )
            for user_id in range(FIRST_USER, FIRST_USER + recipients)
        ]
        session.add_all(accounts)
        session.flush()
        session.add_all(
            FocalPoint(
                account_id=account.id or 0, unit_id=units[i % UNITS].id or 0, registered_at=now
            )
            for i, account in enumerate(accounts)
        )


def queue_broadcast(service: BroadcastService, accounts: AccountService) -> int:
    """Compose and confirm one announcement to everyone, as the office would in the chat."""
    accounts.grant_role("telegram", str(OFFICE_ID), Role.OFFICE, actor="bench")
    me = accounts.load(ChannelIdentity("telegram", str(OFFICE_ID), str(OFFICE_ID), "Office"))
    t = translator_for("en")
    service.compose(me, t)
    outcome = service.on_input(me, t, text="Benchmark: họp giao ban quý II lúc 8h00 ngày 05/6.")
    assert outcome is not None
    for label_start in ("All focal points", "✅ Send to"):
        outcome = service.on_action(me, t, _code(outcome, label_start))
    (queued,) = [n for n in outcome.notices if isinstance(n, BroadcastQueued)]
    return queued.broadcast_id


def _code(outcome: Outcome, label_start: str) -> str:
    for row in outcome.replies[-1].actions:
        for action in row:
            if action.label.startswith(label_start):
                return action.code
    raise LookupError(label_start)


async def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--serve",
        "--recipients",
        str(args.recipients),
        "--rate",
        str(args.rate),
        "--latency",
        str(args.latency),
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        url = (await child.stdout.readline()).decode().strip()
        with tempfile.TemporaryDirectory() as tmp:
            return await _measure(args, url, Path(tmp))
    finally:
        child.terminate()
        await child.wait()


async def _measure(args: argparse.Namespace, url: str, tmp: Path) -> int:
    settings = load_settings(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=f"{url}/bot",
        DATABASE_URL=f"sqlite:///{tmp / 'bench.sqlite3'}",
    )
    engine_db = make_engine(settings.database_url)
    upgrade(engine_db)
    db = Database(engine_db)
    clock = SystemClock()
    accounts = AccountService(db, clock)
    service = BroadcastService(db, clock, accounts)
    populate(db, args.recipients)
    broadcast_id = queue_broadcast(service, accounts)

    config = DeliveryConfig(rate_per_second=args.rate, concurrency=args.concurrency)
    print(
        f"recipients {args.recipients}; configured rate {args.rate:g}/s; the stand-in enforces "
        f"{args.rate:g}/s overall and 1/s per chat; concurrency {args.concurrency}; "
        f"stand-in latency {args.latency * 1000:g} ms"
    )
    started = time.monotonic()
    first_send: float | None = None
    last_send = 0.0
    rounds = 0
    while True:
        rounds += 1
        sender = TelegramSender.from_settings(settings, pool_size=args.concurrency + 4)
        engine = DeliveryEngine(service, sender, config)
        await sender.initialize()
        await engine.start()
        if rounds == 1 and args.restart_after:
            target = int(args.recipients * args.restart_after)
            while engine.stats.sent < target:  # noqa: ASYNC110 - a counter, not an event
                await asyncio.sleep(0.05)
            await engine.stop()
            print(f"  engine stopped after {engine.stats.sent} messages; starting a new one")
        else:
            await engine.wait_idle()
            await engine.stop()
        await sender.shutdown()
        if engine.stats.first_send_at is not None:
            first_send = first_send if first_send is not None else engine.stats.first_send_at
            last_send = max(last_send, engine.stats.last_send_at or 0.0)
        if service.progress(broadcast_id).pending == 0:
            break
    elapsed = time.monotonic() - started

    async with httpx.AsyncClient(base_url=url, trust_env=False, timeout=60) as client:
        state = (await client.get("/_standin/state")).json()["result"]
        sent: list[dict[str, Any]] = (await client.get("/_standin/sent")).json()["result"]
    per_chat = Counter(m["chat_id"] for m in sent if m["method"] == "sendMessage")
    expected = set(range(FIRST_USER, FIRST_USER + args.recipients))
    duplicates = sum(n - 1 for n in per_chat.values() if n > 1)
    losses = len(expected - set(per_chat))
    with db.transaction() as session:
        rows = Counter(
            session.exec(
                select(BroadcastDelivery.status).where(
                    BroadcastDelivery.broadcast_id == broadcast_id
                )
            ).all()
        )
    engine_db.dispose()

    assert first_send is not None
    # The bucket starts full: its first ``burst`` sends go at once, the rest at the rate.
    span = max(last_send - first_send, 1e-9)
    steady = (args.recipients - config.bucket_capacity) / span
    overall = args.recipients / elapsed
    print(f"delivered {sum(per_chat.values())} messages in {elapsed:.2f} s")
    print(
        f"achieved rate {steady:.1f}/s (first to last send, after the initial burst of "
        f"{config.bucket_capacity:g}) = {steady / args.rate:.3f} of the configured limit "
        f"(goal >= 0.95); engine start to last record: {overall:.1f}/s = "
        f"{overall / args.rate:.3f}"
    )
    print(
        f"duplicates {duplicates}, losses {losses}; ledger: "
        f"{rows[DeliveryStatus.SENT]} sent, {rows[DeliveryStatus.FAILED]} failed, "
        f"{rows[DeliveryStatus.PENDING]} pending; stand-in answered 429 "
        f"{state['rate_limited']} times, bad requests {len(state['bad_requests'])}"
    )
    ok = duplicates == 0 and losses == 0 and steady / args.rate >= 0.95
    return 0 if ok else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=30.0, help="messages per second")
    parser.add_argument("--concurrency", type=int, default=16, help="sends in flight")
    parser.add_argument(
        "--latency", type=float, default=0.0, help="seconds the stand-in waits before answering"
    )
    parser.add_argument(
        "--restart-after",
        type=float,
        default=0.0,
        help="stop the engine after this fraction of the messages and start a new one",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if args.serve:
        asyncio.run(serve(args.recipients, args.rate, args.latency))
        return
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
