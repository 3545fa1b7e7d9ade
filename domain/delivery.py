"""Deliver broadcast rounds at Telegram's pace, from the ledger, surviving restarts.

Pure asyncio: time (``monotonic``) and sleeping (``sleep``) are injected, so tests run a
virtual clock. One dispatcher task decides what goes out when; sends run concurrently (up to
``concurrency`` in flight) and report back. Limits (Bot API FAQ, platform notes):

- overall: a token bucket at ``rate_per_second`` (default 30/s) with a small ``burst``;
- per chat: at most one message every ``per_chat_interval`` seconds (default 1 s);
- 429 ``retry_after``: *everything* pauses that long (Telegram's flood control is per bot),
  and the message goes again; flood waits are not failed attempts;
- 5xx, network errors, time-outs: retried with exponential backoff, up to ``max_attempts``;
- 403 (blocked, deactivated) and 400 (chat not found…): failed at once, never retried.

Exactly-once, and where it is not. The ledger row of each delivery is "pending" until the send
returns, and is marked "sent" (with the message id) *immediately* after, in its own small
transaction; a (re)started engine loads only pending rows, so a recorded message is never sent
again. Marking a row "sending" before the call would not close the gap: what is unknowable is
whether Telegram accepted a message whose answer we never recorded. That window is the time
between Telegram accepting a message and our commit (milliseconds); only a hard crash (power
loss, ``kill -9``) inside it, or a time-out whose request did reach Telegram, can repeat a
message — at most ``concurrency`` of them. A graceful ``stop()`` closes it: no new sends start,
and the sends in flight finish and are recorded before it returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, Protocol

from domain.broadcasts import (
    BroadcastProgress,
    DeliveryJob,
    Sender,
    SendOutcome,
    SendResult,
)

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
ProgressSink = Callable[[BroadcastProgress], Awaitable[None]]


@dataclass(frozen=True)
class DeliveryConfig:
    rate_per_second: float = 30.0
    burst: float | None = None  # tokens saved up; default a tenth of a second's worth, ≥ 1
    per_chat_interval: float = 1.0
    max_attempts: int = 5  # failed attempts (5xx, network) before giving up
    backoff_base: float = 1.0  # first retry after 1 s, then 2, 4, 8…
    backoff_max: float = 60.0
    max_flood_waits: int = 20  # 429s for one message before giving up
    concurrency: int = 16  # sends in flight: enough for 30/s at ~0.5 s round trips
    progress_interval: float = 2.0  # at most one progress report per round this often
    drain_timeout: float = 15.0  # stop(): how long sends in flight may take to finish

    def __post_init__(self) -> None:
        if self.rate_per_second <= 0 or self.concurrency < 1 or self.max_attempts < 1:
            raise ValueError("rate_per_second, concurrency and max_attempts must be positive")

    @property
    def bucket_capacity(self) -> float:
        return self.burst if self.burst is not None else max(1.0, self.rate_per_second / 10)

    def backoff(self, failed_attempts: int) -> float:
        """Seconds before the next try after ``failed_attempts`` failures (1, 2, 4…)."""
        return min(self.backoff_max, self.backoff_base * 2.0 ** max(0, failed_attempts - 1))


class DeliveryLedger(Protocol):
    """The delivery ledger as the engine uses it (``BroadcastService`` implements it)."""

    def sending_broadcast_ids(self) -> list[int]: ...

    def pending_jobs(self, broadcast_id: int) -> list[DeliveryJob]: ...

    def progress(self, broadcast_id: int) -> BroadcastProgress: ...

    def record_sent(self, delivery_id: int, message_id: int) -> None: ...

    def record_failed(self, delivery_id: int, outcome: SendOutcome, reason: str) -> None: ...

    def record_retry(self, delivery_id: int, reason: str) -> None: ...

    def mark_finished(self, broadcast_id: int) -> None: ...


class TokenBucket:
    """``rate`` tokens a second, at most ``capacity`` saved up; starts full."""

    def __init__(self, rate: float, capacity: float, now: float) -> None:
        self.rate = rate
        self.capacity = capacity
        self._tokens = capacity
        self._stamp = now

    def _refill(self, now: float) -> None:
        if now > self._stamp:
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now

    def delay(self, now: float) -> float:
        """Seconds until a token is available (0: now)."""
        self._refill(now)
        # A hair of tolerance: refills are float sums and 0.9999999999999998 is a whole token.
        return 0.0 if self._tokens >= 1 - 1e-9 else (1 - self._tokens) / self.rate

    def take(self, now: float) -> None:
        self._refill(now)
        self._tokens -= 1


@dataclass
class DeliveryStats:
    """Counters of one engine's life, for logs and the benchmark."""

    attempts: int = 0
    sent: int = 0
    failed: int = 0
    retries: int = 0
    flood_waits: int = 0
    first_send_at: float | None = None
    last_send_at: float | None = None


@dataclass
class _Round:
    total: int
    sent: int
    failed: int
    remaining: int
    last_report: float
    shown: int = -1  # "order" of the last progress handed to the sink
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def progress(self, broadcast_id: int, *, finished: bool = False) -> BroadcastProgress:
        return BroadcastProgress(broadcast_id, self.total, self.sent, self.failed, finished)


@dataclass
class _Job:
    job: DeliveryJob
    attempts: int
    flood_waits: int = 0


class DeliveryEngine:
    """Send every pending delivery once, within the limits; resume what a restart left."""

    def __init__(
        self,
        ledger: DeliveryLedger,
        sender: Sender,
        config: DeliveryConfig | None = None,
        *,
        on_progress: ProgressSink | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._ledger = ledger
        self._sender = sender
        self.config = config or DeliveryConfig()
        self._on_progress = on_progress
        self._now = monotonic
        self._sleep = sleep
        self.stats = DeliveryStats()
        self._reset()

    def _reset(self) -> None:
        config = self.config
        self._heap: list[tuple[float, int, _Job]] = []
        self._seq = itertools.count()
        self._known: set[int] = set()  # deliveries queued or in flight
        self._chat_ready: dict[str, float] = {}
        self._pause_until = 0.0
        self._bucket = TokenBucket(config.rate_per_second, config.bucket_capacity, self._now())
        self._slots = asyncio.Semaphore(config.concurrency)
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._rounds: dict[int, _Round] = {}
        self._dispatcher: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def running(self) -> bool:
        return self._dispatcher is not None and not self._dispatcher.done()

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        """Resume every round the ledger says is sending, then run in the background."""
        if self.running:
            return
        self._reset()
        for broadcast_id in self._ledger.sending_broadcast_ids():
            self._load(broadcast_id)
        self._dispatcher = asyncio.create_task(self._dispatch(), name="broadcast-delivery")

    def submit(self, broadcast_id: int) -> None:
        """Deliver a round just confirmed (its rows are already in the ledger)."""
        self._load(broadcast_id)
        self._wake.set()

    async def stop(self) -> None:
        """Start no new send; let those in flight finish and be recorded (``drain_timeout``)."""
        self._stopping = True
        self._wake.set()
        if self._dispatcher is not None:
            await self._dispatcher
            self._dispatcher = None
        if self._tasks:
            _, late = await asyncio.wait(set(self._tasks), timeout=self.config.drain_timeout)
            for task in late:
                # Its message may or may not have reached Telegram: the row stays pending and
                # is sent again after a restart (the documented window, see the module doc).
                log.warning("broadcast send still in flight at shutdown; cancelled")
                task.cancel()
            if late:
                await asyncio.gather(*late, return_exceptions=True)
        self._reset()

    async def wait_idle(self) -> None:
        """Wait until nothing is queued, in flight or being reported."""
        while not self._is_idle():
            self._idle.clear()
            await self._idle.wait()

    def _is_idle(self) -> bool:
        return not self._heap and not self._tasks

    # ------------------------------------------------------------------ queueing
    def _load(self, broadcast_id: int) -> None:
        jobs = [
            j for j in self._ledger.pending_jobs(broadcast_id) if j.delivery_id not in self._known
        ]
        round_ = self._rounds.get(broadcast_id)
        if round_ is None:
            progress = self._ledger.progress(broadcast_id)
            round_ = _Round(
                total=progress.total,
                sent=progress.sent,
                failed=progress.failed,
                remaining=0,
                last_report=self._now(),
            )
            self._rounds[broadcast_id] = round_
        now = self._now()
        for job in jobs:
            self._known.add(job.delivery_id)
            self._push(now, _Job(job, job.attempts))
        round_.remaining += len(jobs)
        if round_.remaining == 0:
            self._spawn(self._finish(broadcast_id))

    def _push(self, not_before: float, item: _Job) -> None:
        heapq.heappush(self._heap, (not_before, next(self._seq), item))

    def _ready_at(self) -> float | None:
        """When the first queued job may go (per-chat spacing and pauses included)."""
        while self._heap:
            not_before, seq, item = self._heap[0]
            chat_ready = self._chat_ready.get(item.job.chat_id, 0.0)
            if chat_ready > not_before:
                heapq.heapreplace(self._heap, (chat_ready, seq, item))
                continue
            return max(not_before, self._pause_until)
        return None

    # ------------------------------------------------------------------ the dispatcher
    async def _dispatch(self) -> None:
        while not self._stopping:
            ready_at = self._ready_at()
            if ready_at is None:
                self._idle_check()
                await self._wait(None)
                continue
            now = self._now()
            wait = max(ready_at - now, self._bucket.delay(now))
            if wait > 0:
                await self._wait(wait)
                continue
            await self._slots.acquire()
            # Waiting for a slot let time pass and results arrive (a 429 may have paused us).
            now = self._now()
            ready_at = self._ready_at()
            if self._stopping or ready_at is None or ready_at > now or self._bucket.delay(now) > 0:
                self._slots.release()
                continue
            _, _, item = heapq.heappop(self._heap)
            self._bucket.take(now)
            self._chat_ready[item.job.chat_id] = now + self.config.per_chat_interval
            if len(self._chat_ready) > 4096:
                self._chat_ready = {c: t for c, t in self._chat_ready.items() if t > now}
            self._spawn(self._attempt(item, now), holds_slot=True)

    async def _wait(self, timeout: float | None) -> None:
        """Sleep ``timeout`` seconds (None: indefinitely), or less if woken."""
        self._wake.clear()
        if timeout is None:
            await self._wake.wait()
            return
        waker = asyncio.ensure_future(self._wake.wait())
        sleeper = asyncio.ensure_future(self._sleep(timeout))
        try:
            await asyncio.wait({waker, sleeper}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (waker, sleeper):
                if not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    def _spawn(self, coroutine: Coroutine[Any, Any, None], *, holds_slot: bool = False) -> None:
        task = asyncio.create_task(coroutine)
        self._tasks.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._tasks.discard(finished)
            if holds_slot:
                self._slots.release()
            if not finished.cancelled() and finished.exception() is not None:
                log.error("broadcast task failed", exc_info=finished.exception())
            self._wake.set()
            self._idle_check()

        task.add_done_callback(done)

    def _idle_check(self) -> None:
        if self._is_idle():
            self._idle.set()

    # ------------------------------------------------------------------ one attempt
    async def _attempt(self, item: _Job, started: float) -> None:
        job = item.job
        stats = self.stats
        stats.attempts += 1
        stats.first_send_at = started if stats.first_send_at is None else stats.first_send_at
        stats.last_send_at = started
        try:
            result = await self._sender.send(
                job.chat_id, job.text, job.attachment, job.ack_button, language=job.language
            )
        except asyncio.CancelledError:
            raise
        except Exception as error:  # an adapter bug must not stop the other deliveries
            log.exception("sender raised for delivery %s", job.delivery_id)
            result = SendResult.transient(repr(error))
        self._settle(item, result)

    def _settle(self, item: _Job, result: SendResult) -> None:
        """Record the result now (the crash window is this short), or queue the next try."""
        job, config, now = item.job, self.config, self._now()
        outcome = result.outcome
        if outcome is SendOutcome.SENT:
            assert result.message_id is not None
            self._ledger.record_sent(job.delivery_id, result.message_id)
            self.stats.sent += 1
            self._done(job, sent=True)
            return
        if outcome is SendOutcome.RETRY_AFTER:
            item.flood_waits += 1
            self.stats.flood_waits += 1
            wait = max(result.retry_after, 0.001)
            self._pause_until = max(self._pause_until, now + wait)
            if item.flood_waits <= config.max_flood_waits:
                self._push(now + wait, item)
                return
        elif outcome is SendOutcome.TRANSIENT:
            item.attempts += 1
            self._ledger.record_retry(job.delivery_id, result.reason)
            if item.attempts < config.max_attempts:
                self.stats.retries += 1
                self._push(now + config.backoff(item.attempts), item)
                return
        self._ledger.record_failed(job.delivery_id, outcome, result.reason)
        self.stats.failed += 1
        self._done(job, sent=False)

    def _done(self, job: DeliveryJob, *, sent: bool) -> None:
        self._known.discard(job.delivery_id)
        round_ = self._rounds.get(job.broadcast_id)
        if round_ is None:  # pragma: no cover - rounds live as long as their jobs
            return
        if sent:
            round_.sent += 1
        else:
            round_.failed += 1
        round_.remaining -= 1
        if round_.remaining <= 0:
            self._spawn(self._finish(job.broadcast_id))
            return
        now = self._now()
        if now - round_.last_report >= self.config.progress_interval:
            round_.last_report = now
            self._spawn(self._report(job.broadcast_id, round_.progress(job.broadcast_id)))

    # ------------------------------------------------------------------ progress and the end
    async def _report(self, broadcast_id: int, progress: BroadcastProgress) -> None:
        """Hand progress to the sink in order: an older snapshot never overwrites a newer one."""
        round_ = self._rounds.get(broadcast_id)
        if round_ is None or self._on_progress is None:
            return
        order = progress.done + (1 if progress.finished else 0)
        async with round_.lock:
            if order <= round_.shown:
                return
            round_.shown = order
            try:
                await self._on_progress(progress)
            except Exception:
                log.exception("progress report of broadcast %s failed", broadcast_id)

    async def _finish(self, broadcast_id: int) -> None:
        round_ = self._rounds.get(broadcast_id)
        if round_ is None:
            return
        final = round_.progress(broadcast_id, finished=True)
        await self._report(broadcast_id, final)
        # After the report: a crash in between repeats the report, never loses it.
        self._ledger.mark_finished(broadcast_id)
        if round_.remaining <= 0:
            self._rounds.pop(broadcast_id, None)
