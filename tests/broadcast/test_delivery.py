"""The delivery engine on a virtual clock: limits, flood waits, backoff, refusals, resume.

The ledger is the real one (``BroadcastService`` on a migrated SQLite file); the sender is
scripted and instant, and time only moves when the engine sleeps, so a 30-second broadcast
runs in well under a second and every timing is exact.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from domain.accounts import AccountService
from domain.broadcasts import (
    BroadcastProgress,
    BroadcastService,
    DeliveryJob,
    SendResult,
)
from domain.clock import FixedClock
from domain.delivery import DeliveryConfig, DeliveryEngine, TokenBucket
from domain.i18n import translator_for
from storage.broadcast_models import (
    Broadcast,
    BroadcastDelivery,
    BroadcastStatus,
    DeliveryStatus,
)
from storage.db import Database, make_engine, upgrade
from storage.models import Account, FocalPoint, Unit, UnitKind

NOW = datetime(2023, 5, 22, 2, 0, tzinfo=UTC)


class VirtualTime:
    """A monotonic clock that moves only when the engine sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        # Let ready work run first: if it wakes the engine, this sleep is cancelled before
        # time moves, as a real timer would be.
        for _ in range(20):
            await asyncio.sleep(0)
        self.now += max(seconds, 0.0)


class ScriptedSender:
    """Answers from a per-chat script (then "sent"); notes the virtual time of every call."""

    def __init__(self, time: VirtualTime, script: dict[str, list[SendResult]] | None = None):
        self.time = time
        self.script = script or {}
        self.calls: list[tuple[float, str]] = []
        self.delivered: list[str] = []  # what "Telegram" accepted
        self._next_id = 100

    async def send(self, job: DeliveryJob) -> SendResult:
        chat_id = job.chat_id
        self.calls.append((self.time.now, chat_id))
        await asyncio.sleep(0)
        planned = self.script.get(chat_id)
        if planned:
            return planned.pop(0)
        self.delivered.append(chat_id)
        self._next_id += 1
        return SendResult.sent(self._next_id)

    def calls_to(self, chat_id: str) -> list[float]:
        return [at for at, chat in self.calls if chat == chat_id]


class Ledger:
    """A migrated database with units, focal points and rounds to deliver."""

    def __init__(self, tmp_path: Path) -> None:
        engine = make_engine(f"sqlite:///{tmp_path / 'delivery.sqlite3'}")
        upgrade(engine)
        self.db = Database(engine)
        self.clock = FixedClock(NOW)
        self.accounts = AccountService(self.db, self.clock)
        self.service = BroadcastService(self.db, self.clock, self.accounts)
        with self.db.transaction() as session:
            office = Account(external_id="1", chat_id="1", display_name="Office", created_at=NOW)
            unit = Unit(
                code="so-y-te",
                name_vi="Sở Y tế",
                kind=UnitKind.DEPARTMENT,
                created_at=NOW,
                updated_at=NOW,
            )
            session.add_all([office, unit])
            session.flush()
            assert office.id is not None and unit.id is not None
            self.office_id, self.unit_id = office.id, unit.id

    def people(self, count: int, first: int = 1000, channel: str = "telegram") -> list[str]:
        """Register ``count`` focal points on ``channel``; return their chat ids."""
        chats = [str(first + i) for i in range(count)]
        with self.db.transaction() as session:
            for chat in chats:
                account = Account(
                    channel=channel,
                    external_id=chat,
                    chat_id=chat,
                    display_name=f"Person {chat}",
                    created_at=NOW,
                )
                session.add(account)
                session.flush()
                assert account.id is not None
                session.add(
                    FocalPoint(account_id=account.id, unit_id=self.unit_id, registered_at=NOW)
                )
        return chats

    def round(
        self, chats: list[str], text: str = "Họp giao ban", *, sender: int | None = None
    ) -> int:
        """A confirmed round to these chats (what "Send" in the compose flow creates)."""
        with self.db.transaction() as session:
            accounts = session.exec(select(Account).where(col(Account.chat_id).in_(chats))).all()
            broadcast = Broadcast(
                sender_account_id=sender or self.office_id,
                sender_chat_id="1",
                status=BroadcastStatus.SENDING,
                step="preview",
                text=text,
                total=len(accounts),
                created_at=NOW,
                updated_at=NOW,
                queued_at=NOW,
            )
            session.add(broadcast)
            session.flush()
            assert broadcast.id is not None
            for account in accounts:
                assert account.id is not None
                session.add(
                    BroadcastDelivery(
                        broadcast_id=broadcast.id,
                        account_id=account.id,
                        unit_id=self.unit_id,
                        channel=account.channel,
                        chat_id=account.chat_id,
                    )
                )
            return broadcast.id

    def deliveries(self, broadcast_id: int) -> dict[str, BroadcastDelivery]:
        with self.db.transaction() as session:
            rows = session.exec(
                select(BroadcastDelivery).where(BroadcastDelivery.broadcast_id == broadcast_id)
            ).all()
            return {row.chat_id: row for row in rows}

    def status(self, broadcast_id: int) -> BroadcastStatus:
        with self.db.transaction() as session:
            broadcast = session.get(Broadcast, broadcast_id)
            assert broadcast is not None
            return broadcast.status

    def account(self, chat_id: str) -> Account:
        with self.db.transaction() as session:
            return session.exec(select(Account).where(Account.chat_id == chat_id)).one()


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    built = Ledger(tmp_path)
    yield built
    built.db.engine.dispose()


@pytest.fixture
def vtime() -> VirtualTime:
    return VirtualTime()


def make_engine_for(
    ledger: Ledger,
    sender: ScriptedSender,
    vtime: VirtualTime,
    progress: list[tuple[float, BroadcastProgress]] | None = None,
    **config: float,
) -> DeliveryEngine:
    async def sink(snapshot: BroadcastProgress) -> None:
        if progress is not None:
            progress.append((vtime.now, snapshot))

    return DeliveryEngine(
        ledger.service,
        sender,
        DeliveryConfig(**config),  # type: ignore[arg-type]
        on_progress=sink,
        monotonic=vtime.monotonic,
        sleep=vtime.sleep,
    )


async def run_to_end(engine: DeliveryEngine) -> None:
    await engine.start()
    await asyncio.wait_for(engine.wait_idle(), 10)
    await engine.stop()


def test_token_bucket_refills_at_its_rate() -> None:
    bucket = TokenBucket(rate=10, capacity=2, now=0.0)
    bucket.take(0.0)
    bucket.take(0.0)
    assert bucket.delay(0.0) == pytest.approx(0.1)
    assert bucket.delay(0.05) == pytest.approx(0.05)
    assert bucket.delay(0.1) == 0
    assert bucket.delay(100.0) == 0  # saved up to capacity only
    bucket.take(100.0)
    bucket.take(100.0)
    assert bucket.delay(100.0) > 0


async def test_overall_rate_is_respected_and_reached(ledger: Ledger, vtime: VirtualTime) -> None:
    chats = ledger.people(300)
    broadcast_id = ledger.round(chats)
    sender = ScriptedSender(vtime)
    engine = make_engine_for(ledger, sender, vtime, rate_per_second=30, burst=3)
    await run_to_end(engine)

    assert Counter(sender.delivered) == Counter(chats)  # each exactly once
    times = sorted(at for at, _ in sender.calls)
    # No one-second window holds more than the rate plus the small burst.
    for index, start in enumerate(times):
        in_window = [t for t in times[index:] if t < start + 1.0]
        assert len(in_window) <= 30 + 3
    achieved = (len(times) - 3) / (times[-1] - times[0])
    assert 0.97 * 30 <= achieved <= 30.0001
    assert ledger.status(broadcast_id) is BroadcastStatus.DONE
    assert {d.status for d in ledger.deliveries(broadcast_id).values()} == {DeliveryStatus.SENT}


async def test_one_chat_gets_at_most_one_message_a_second(
    ledger: Ledger, vtime: VirtualTime
) -> None:
    chats = ledger.people(5)
    first, second = ledger.round(chats, "Một"), ledger.round(chats, "Hai")
    sender = ScriptedSender(vtime)
    await run_to_end(make_engine_for(ledger, sender, vtime, rate_per_second=100, burst=10))
    for chat in chats:
        calls = sender.calls_to(chat)
        assert len(calls) == 2
        assert calls[1] - calls[0] >= 1.0
    assert ledger.status(first) is ledger.status(second) is BroadcastStatus.DONE


async def test_retry_after_pauses_everything_then_sends_again(
    ledger: Ledger, vtime: VirtualTime
) -> None:
    chats = ledger.people(60)
    ledger.round(chats)
    flooded = chats[10]
    sender = ScriptedSender(vtime, {flooded: [SendResult.flood_wait(5, "Too Many Requests")]})
    await run_to_end(make_engine_for(ledger, sender, vtime, rate_per_second=30, burst=1))

    refused_at = sender.calls_to(flooded)[0]
    quiet = [at for at, _ in sender.calls if refused_at < at < refused_at + 5]
    assert quiet == []  # nothing at all during the wait Telegram asked for
    assert sender.calls_to(flooded)[1] >= refused_at + 5
    assert Counter(sender.delivered) == Counter(chats)
    assert engine_attempts(ledger, chats) == {0}  # a flood wait is not a failed attempt


def engine_attempts(ledger: Ledger, chats: list[str]) -> set[int]:
    with ledger.db.transaction() as session:
        rows = session.exec(
            select(BroadcastDelivery.attempts).where(col(BroadcastDelivery.chat_id).in_(chats))
        ).all()
    return set(rows)


async def test_transient_errors_are_retried_with_exponential_backoff(
    ledger: Ledger, vtime: VirtualTime
) -> None:
    chats = ledger.people(3)
    broadcast_id = ledger.round(chats)
    flaky = chats[1]
    sender = ScriptedSender(
        vtime,
        {flaky: [SendResult.transient("Bad Gateway"), SendResult.transient("Timed out")]},
    )
    await run_to_end(make_engine_for(ledger, sender, vtime, backoff_base=1.0))

    tries = sender.calls_to(flaky)
    assert len(tries) == 3
    assert tries[1] - tries[0] == pytest.approx(1.0, abs=0.05)
    assert tries[2] - tries[1] == pytest.approx(2.0, abs=0.05)
    row = ledger.deliveries(broadcast_id)[flaky]
    assert (row.status, row.attempts, row.message_id is not None) == (DeliveryStatus.SENT, 2, True)


async def test_transient_errors_give_up_after_max_attempts(
    ledger: Ledger, vtime: VirtualTime
) -> None:
    chats = ledger.people(2)
    broadcast_id = ledger.round(chats)
    down = chats[0]
    sender = ScriptedSender(vtime, {down: [SendResult.transient("Bad Gateway")] * 10})
    await run_to_end(make_engine_for(ledger, sender, vtime, max_attempts=4))

    assert len(sender.calls_to(down)) == 4
    row = ledger.deliveries(broadcast_id)[down]
    assert (row.status, row.failure_kind, row.attempts) == (DeliveryStatus.FAILED, "transient", 4)
    report = ledger.service.report(broadcast_id, translator_for("en"))
    assert "delivered to 1 of 2" in report
    assert "Person 1000 (Telegram): Telegram could not be reached after 4 attempts" in report


async def test_forbidden_marks_unreachable_and_is_never_retried(
    ledger: Ledger, vtime: VirtualTime
) -> None:
    chats = ledger.people(4)
    broadcast_id = ledger.round(chats)
    blocked, gone = chats[0], chats[1]
    sender = ScriptedSender(
        vtime,
        {
            blocked: [SendResult.forbidden("Forbidden: bot was blocked by the user")] * 3,
            gone: [SendResult.bad_request("Bad Request: chat not found")] * 3,
        },
    )
    await run_to_end(make_engine_for(ledger, sender, vtime))

    assert len(sender.calls_to(blocked)) == 1
    assert len(sender.calls_to(gone)) == 1
    rows = ledger.deliveries(broadcast_id)
    assert (rows[blocked].status, rows[blocked].failure_kind) == (
        DeliveryStatus.FAILED,
        "forbidden",
    )
    assert (rows[gone].status, rows[gone].failure_kind) == (DeliveryStatus.FAILED, "bad_request")
    assert ledger.account(blocked).unreachable_at is not None
    assert ledger.account(gone).unreachable_at is None
    assert ledger.service.progress(broadcast_id) == BroadcastProgress(
        broadcast_id, total=4, sent=2, failed=2, finished=True
    )


async def test_progress_is_reported_every_two_seconds_at_most_then_finished(
    ledger: Ledger, vtime: VirtualTime
) -> None:
    chats = ledger.people(150)
    broadcast_id = ledger.round(chats)
    progress: list[tuple[float, BroadcastProgress]] = []
    sender = ScriptedSender(vtime, {chats[5]: [SendResult.forbidden("Forbidden: blocked")]})
    await run_to_end(make_engine_for(ledger, sender, vtime, progress, rate_per_second=30))

    running = [(at, p) for at, p in progress if not p.finished]
    assert 2 <= len(running) <= 3  # 150 at 30/s: five seconds
    assert all(b[0] - a[0] >= 2.0 for a, b in itertools.pairwise(running))
    assert [p.done for _, p in running] == sorted(p.done for _, p in running)
    final = progress[-1][1]
    assert final == BroadcastProgress(broadcast_id, 150, 149, 1, finished=True)
    assert ledger.status(broadcast_id) is BroadcastStatus.DONE


async def test_resume_after_a_crash_never_resends_a_recorded_message(
    ledger: Ledger, vtime: VirtualTime
) -> None:
    chats = ledger.people(50)
    broadcast_id = ledger.round(chats)

    class Crashing(ScriptedSender):
        """The process dies after 20 messages: the 21st send never returns."""

        async def send(self, job: DeliveryJob) -> SendResult:
            if len(self.delivered) >= 20:
                await asyncio.Event().wait()  # hangs until the engine is torn down
            return await super().send(job)

    before = Crashing(vtime)
    engine = make_engine_for(ledger, before, vtime, drain_timeout=0.01)
    await engine.start()
    await vtime_until(lambda: engine.stats.attempts > 20)
    await engine.stop()  # the hung sends are abandoned; their rows stay pending
    assert ledger.status(broadcast_id) is BroadcastStatus.SENDING

    after = ScriptedSender(vtime)
    await run_to_end(make_engine_for(ledger, after, vtime))
    assert set(before.delivered).isdisjoint(after.delivered)
    assert Counter(before.delivered + after.delivered) == Counter(chats)
    assert ledger.status(broadcast_id) is BroadcastStatus.DONE
    rows = ledger.deliveries(broadcast_id)
    assert all(row.status is DeliveryStatus.SENT for row in rows.values())


async def test_the_crash_window_is_one_send_wide_and_documented(
    ledger: Ledger, vtime: VirtualTime
) -> None:
    """A crash after Telegram accepted a message but before we recorded it repeats that one.

    This is the honest limit of at-least-once delivery without idempotency keys in the Bot
    API; the engine keeps the window to the record that follows each send at once.
    """
    chats = ledger.people(10)
    ledger.round(chats)

    class DiesAfterAccepting(ScriptedSender):
        async def send(self, job: DeliveryJob) -> SendResult:
            result = await super().send(job)
            if len(self.delivered) == 4:
                await asyncio.Event().wait()  # accepted by Telegram, then the process died
            return result

    before = DiesAfterAccepting(vtime)
    engine = make_engine_for(ledger, before, vtime, drain_timeout=0.01, concurrency=1)
    await engine.start()
    await vtime_until(lambda: len(before.delivered) >= 4)
    await engine.stop()

    after = ScriptedSender(vtime)
    await run_to_end(make_engine_for(ledger, after, vtime))
    twice = [chat for chat, n in Counter(before.delivered + after.delivered).items() if n > 1]
    assert twice == [before.delivered[3]]
    assert set(before.delivered[:3]).isdisjoint(after.delivered)


async def test_graceful_stop_records_the_sends_in_flight(
    ledger: Ledger, vtime: VirtualTime
) -> None:
    chats = ledger.people(30)
    broadcast_id = ledger.round(chats)
    gate = asyncio.Event()

    class Slow(ScriptedSender):
        async def send(self, job: DeliveryJob) -> SendResult:
            if len(self.calls) >= 10:
                await gate.wait()  # a slow network: these are in flight when we stop
            return await super().send(job)

    before = Slow(vtime)
    engine = make_engine_for(ledger, before, vtime, concurrency=4)
    await engine.start()
    await vtime_until(lambda: engine.stats.attempts >= 12)
    in_flight = engine.stats.attempts - len(before.calls)
    assert in_flight >= 2
    stopping = asyncio.create_task(engine.stop())
    for _ in range(20):
        await asyncio.sleep(0)
    gate.set()  # the answers arrive while we stop
    await stopping
    recorded = {c for c, row in ledger.deliveries(broadcast_id).items() if row.message_id}
    assert len(before.delivered) == 10 + in_flight
    assert recorded == set(before.delivered)  # every accepted message was recorded

    after = ScriptedSender(vtime)
    await run_to_end(make_engine_for(ledger, after, vtime))
    assert Counter(before.delivered + after.delivered) == Counter(chats)


async def test_submit_delivers_a_round_confirmed_while_running(
    ledger: Ledger, vtime: VirtualTime
) -> None:
    chats = ledger.people(6)
    sender = ScriptedSender(vtime)
    engine = make_engine_for(ledger, sender, vtime)
    await engine.start()
    broadcast_id = ledger.round(chats)
    engine.submit(broadcast_id)
    engine.submit(broadcast_id)  # twice: still one message each
    await asyncio.wait_for(engine.wait_idle(), 5)
    await engine.stop()
    assert Counter(sender.delivered) == Counter(chats)
    assert ledger.status(broadcast_id) is BroadcastStatus.DONE


async def vtime_until(predicate: object, limit: int = 10_000) -> None:
    """Let the engine run until ``predicate()`` holds."""
    assert callable(predicate)
    for _ in range(limit):
        if predicate():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition not reached")


def test_backoff_doubles_and_is_capped() -> None:
    config = DeliveryConfig(backoff_base=1.0, backoff_max=10.0)
    assert [config.backoff(n) for n in (1, 2, 3, 4, 5, 6)] == [1, 2, 4, 8, 10, 10]


def test_rejects_nonsense_configuration() -> None:
    with pytest.raises(ValueError, match="positive"):
        DeliveryConfig(rate_per_second=0)


def test_one_draft_per_sender_and_one_delivery_per_person_are_constraints(
    ledger: Ledger,
) -> None:
    def draft() -> Broadcast:
        return Broadcast(
            sender_account_id=ledger.office_id, sender_chat_id="1", created_at=NOW, updated_at=NOW
        )

    with pytest.raises(IntegrityError), ledger.db.transaction() as session:
        session.add_all([draft(), draft()])
    with ledger.db.transaction() as session:  # a sent one and a draft may coexist
        sent = draft()
        sent.status = BroadcastStatus.SENDING
        session.add_all([sent, draft()])
    (chat,) = ledger.people(1)
    broadcast_id = ledger.round([chat])
    (row,) = ledger.deliveries(broadcast_id).values()
    with pytest.raises(IntegrityError), ledger.db.transaction() as session:
        session.add(
            BroadcastDelivery(broadcast_id=broadcast_id, account_id=row.account_id, chat_id=chat)
        )


# --- one engine, a lane per channel ------------------------------------------------------------
async def test_each_channel_keeps_its_own_pace_and_its_own_flood_wait(
    ledger: Ledger, vtime: VirtualTime
) -> None:
    on_telegram = ledger.people(60)
    on_zalo = ledger.people(20, first=5000, channel="zalo")
    broadcast_id = ledger.round(on_telegram + on_zalo)
    telegram = ScriptedSender(vtime)
    zalo = ScriptedSender(vtime, {on_zalo[3]: [SendResult.flood_wait(3, "429")]})
    engine = make_engine_for(ledger, telegram, vtime, rate_per_second=30, burst=1)
    engine.add_channel("zalo", zalo, DeliveryConfig(rate_per_second=5, burst=1))
    await run_to_end(engine)

    assert Counter(telegram.delivered) == Counter(on_telegram)
    assert Counter(zalo.delivered) == Counter(on_zalo)
    telegram_times = sorted(at for at, _ in telegram.calls)
    zalo_times = sorted(at for at, _ in zalo.calls)
    # Each at its own rate: 60 at 30/s take two seconds; Zalo's 20 at 5/s, four, plus the wait.
    assert telegram_times[-1] == pytest.approx(59 / 30, abs=0.05)
    assert all(b - a >= 0.2 - 1e-9 for a, b in itertools.pairwise(zalo_times))
    refused_at = zalo.calls_to(on_zalo[3])[0]
    assert [at for at in zalo_times if refused_at < at < refused_at + 3] == []
    # Zalo's 429 held Zalo only: Telegram went on during it.
    assert any(refused_at < at < refused_at + 3 for at in telegram_times)
    rows = ledger.deliveries(broadcast_id)
    assert {rows[c].channel for c in on_zalo} == {"zalo"}
    assert ledger.status(broadcast_id) is BroadcastStatus.DONE


async def test_a_channel_not_served_here_fails_at_once_and_says_so(
    ledger: Ledger, vtime: VirtualTime
) -> None:
    on_telegram = ledger.people(2)
    on_zalo = ledger.people(1, first=5000, channel="zalo")
    broadcast_id = ledger.round(on_telegram + on_zalo)
    sender = ScriptedSender(vtime)
    await run_to_end(make_engine_for(ledger, sender, vtime))

    assert sender.delivered == on_telegram
    row = ledger.deliveries(broadcast_id)[on_zalo[0]]
    assert (row.status, row.failure_kind) == (DeliveryStatus.FAILED, "unavailable")
    report = ledger.service.report(broadcast_id, translator_for("en"))
    assert "Person 5000 (Zalo): the Zalo channel is not running in this bot" in report


async def test_a_channel_wired_later_gets_its_deliveries_and_its_senders_report(
    ledger: Ledger, vtime: VirtualTime
) -> None:
    """Zalo is wired after Telegram has started: its rows wait, and a Zalo office member's
    round reports to Zalo's sink, not Telegram's."""
    on_telegram = ledger.people(2)
    on_zalo = ledger.people(2, first=5000, channel="zalo")
    (office_on_zalo,) = ledger.people(1, first=9000, channel="zalo")
    broadcast_id = ledger.round(on_telegram + on_zalo, sender=ledger.account(office_on_zalo).id)
    telegram_reports: list[tuple[float, BroadcastProgress]] = []
    zalo_reports: list[BroadcastProgress] = []

    async def zalo_sink(progress: BroadcastProgress) -> None:
        zalo_reports.append(progress)

    telegram = ScriptedSender(vtime)
    engine = make_engine_for(ledger, telegram, vtime, telegram_reports)
    engine.add_channel("zalo")  # declared: Zalo's client comes later
    await engine.start()
    await vtime_until(lambda: len(telegram.delivered) == 2)
    for _ in range(50):
        await asyncio.sleep(0)
    assert ledger.status(broadcast_id) is BroadcastStatus.SENDING  # Zalo's rows wait
    zalo = ScriptedSender(vtime)
    engine.add_channel("zalo", zalo, progress=zalo_sink)
    await asyncio.wait_for(engine.wait_idle(), 5)
    await engine.stop()

    assert Counter(zalo.delivered) == Counter(on_zalo)
    assert zalo_reports[-1] == BroadcastProgress(broadcast_id, 4, 4, 0, finished=True)
    assert telegram_reports == []
    assert ledger.status(broadcast_id) is BroadcastStatus.DONE
