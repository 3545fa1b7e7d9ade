"""Deliver broadcast rounds at each channel's pace, from the ledger, surviving restarts.

Pure asyncio: time (``monotonic``) and sleeping (``sleep``) are injected, so tests run a
virtual clock. One dispatcher task decides what goes out when; sends run concurrently (up to
``concurrency`` in flight) and report back. Each recipient channel (Telegram, Zalo) is a lane
with its own sender and limits, so one channel's pace or flood wait never holds the other.
Limits per lane (Telegram's Bot API FAQ, platform notes; Zalo documents none):

- overall: a token bucket at ``rate_per_second`` (default 30/s) with a small ``burst``;
- per chat: at most one message every ``per_chat_interval`` seconds (default 1 s);
- 429 ``retry_after``: the whole lane pauses that long (flood control is per bot token),
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

    def sender_channel(self, broadcast_id: int) -> str | None: ...

    def record_sent(self, delivery_id: int, message_id: int | None) -> None: ...

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
    channel: str  # the sender's: where its progress and report are shown
    shown: int = -1  # "order" of the last progress handed to the sink
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def progress(self, broadcast_id: int, *, finished: bool = False) -> BroadcastProgress:
        return BroadcastProgress(broadcast_id, self.total, self.sent, self.failed, finished)


@dataclass
class _Job:
    job: DeliveryJob
    attempts: int
    flood_waits: int = 0


class _Lane:
    """One channel: its sender, its pace (bucket, per-chat spacing, flood pause), its queue.

    A lane declared before its sender exists (the channel is wired later in the process)
    keeps its jobs queued until ``sender`` is set.
    """

    def __init__(self, config: DeliveryConfig) -> None:
        self.config = config
        self.sender: Sender | None = None
        self.progress: ProgressSink | None = None
        self.wired = asyncio.Event()  # set once the sender's progress sink is known
        self.reset(0.0)

    def reset(self, now: float) -> None:
        config = self.config
        self.heap: list[tuple[float, int, _Job]] = []
        self.chat_ready: dict[str, float] = {}
        self.pause_until = 0.0
        self.bucket = TokenBucket(config.rate_per_second, config.bucket_capacity, now)

    def head_ready(self) -> float | None:
        """When the first queued job may go (per-chat spacing and pauses included)."""
        while self.heap:
            not_before, seq, item = self.heap[0]
            chat_ready = self.chat_ready.get(item.job.chat_id, 0.0)
            if chat_ready > not_before:
                heapq.heapreplace(self.heap, (chat_ready, seq, item))
                continue
            return max(not_before, self.pause_until)
        return None

    def ready_at(self, now: float) -> float | None:
        """When this lane may send next (None: nothing to send, or no sender yet)."""
        head = self.head_ready() if self.sender is not None else None
        if head is None:
            return None
        return max(head, now + self.bucket.delay(now))


class DeliveryEngine:
    """Send every pending delivery once, within the limits; resume what a restart left.

    Each recipient channel is a lane (``add_channel``) with its own sender and pace: the
    Telegram bucket does not slow Zalo down, nor a 429 on one token the other. Progress goes
    to the sink of the channel where the round's sender (the office member) is.
    """

    def __init__(
        self,
        ledger: DeliveryLedger,
        sender: Sender | None = None,
        config: DeliveryConfig | None = None,
        *,
        channel: str = "telegram",
        on_progress: ProgressSink | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._ledger = ledger
        self.config = config or DeliveryConfig()  # concurrency, progress, drain: engine-wide
        self._now = monotonic
        self._sleep = sleep
        self.stats = DeliveryStats()
        self._lanes: dict[str, _Lane] = {}
        self._reset()
        if sender is not None or on_progress is not None:
            self.add_channel(channel, sender, self.config, progress=on_progress)

    def add_channel(
        self,
        channel: str,
        sender: Sender | None = None,
        config: DeliveryConfig | None = None,
        *,
        progress: ProgressSink | None = None,
    ) -> None:
        """Serve ``channel``: its sender, pace and progress sink (each kept if not given).

        Declared without a sender, the channel's deliveries wait for it (wired later, e.g.
        Zalo after Telegram has started); a channel never declared fails them at once.
        """
        lane = self._lanes.get(channel)
        if lane is None:
            lane = self._lanes[channel] = _Lane(config or self.config)
            lane.reset(self._now())
        elif config is not None:
            lane.config = config
            lane.bucket = TokenBucket(config.rate_per_second, config.bucket_capacity, self._now())
        lane.sender = sender or lane.sender
        lane.progress = progress or lane.progress
        if lane.progress is not None:
            lane.wired.set()
        self._wake.set()

    @property
    def channels(self) -> frozenset[str]:
        return frozenset(self._lanes)

    def _reset(self) -> None:
        now = self._now()
        self._seq = itertools.count()
        self._known: set[int] = set()  # deliveries queued or in flight
        for lane in self._lanes.values():
            lane.reset(now)
        self._slots = asyncio.Semaphore(self.config.concurrency)
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
        return not self._tasks and not any(lane.heap for lane in self._lanes.values())

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
                channel=self._ledger.sender_channel(broadcast_id) or "",
            )
            self._rounds[broadcast_id] = round_
        now = self._now()
        round_.remaining += len(jobs)
        for job in jobs:
            self._known.add(job.delivery_id)
            lane = self._lanes.get(job.channel)
            if lane is None:  # nobody here can send on that channel: say so, do not wait
                self._settle(_Job(job, job.attempts), SendResult.unavailable(job.channel))
            else:
                self._push(lane, now, _Job(job, job.attempts))
        if round_.remaining == 0 and not jobs:
            self._spawn(self._finish(broadcast_id))

    def _push(self, lane: _Lane, not_before: float, item: _Job) -> None:
        heapq.heappush(lane.heap, (not_before, next(self._seq), item))

    def _next_lane(self, now: float) -> tuple[_Lane, float] | None:
        """The lane that may send first, and when."""
        best: tuple[_Lane, float] | None = None
        for lane in self._lanes.values():
            ready_at = lane.ready_at(now)
            if ready_at is not None and (best is None or ready_at < best[1]):
                best = (lane, ready_at)
        return best

    # ------------------------------------------------------------------ the dispatcher
    async def _dispatch(self) -> None:
        while not self._stopping:
            now = self._now()
            found = self._next_lane(now)
            if found is None:
                self._idle_check()
                await self._wait(None)
                continue
            if found[1] > now:
                await self._wait(found[1] - now)
                continue
            await self._slots.acquire()
            # Waiting for a slot let time pass and results arrive (a 429 may have paused us).
            now = self._now()
            found = self._next_lane(now)
            if self._stopping or found is None or found[1] > now:
                self._slots.release()
                continue
            lane = found[0]
            _, _, item = heapq.heappop(lane.heap)
            lane.bucket.take(now)
            lane.chat_ready[item.job.chat_id] = now + lane.config.per_chat_interval
            if len(lane.chat_ready) > 4096:
                lane.chat_ready = {c: t for c, t in lane.chat_ready.items() if t > now}
            assert lane.sender is not None
            self._spawn(self._attempt(lane.sender, item, now), holds_slot=True)

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
    async def _attempt(self, sender: Sender, item: _Job, started: float) -> None:
        job = item.job
        stats = self.stats
        stats.attempts += 1
        stats.first_send_at = started if stats.first_send_at is None else stats.first_send_at
        stats.last_send_at = started
        try:
            result = await sender.send(job)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # an adapter bug must not stop the other deliveries
            log.exception("sender raised for delivery %s", job.delivery_id)
            result = SendResult.transient(repr(error))
        self._settle(item, result)

    def _settle(self, item: _Job, result: SendResult) -> None:
        """Record the result now (the crash window is this short), or queue the next try."""
        job, now = item.job, self._now()
        lane = self._lanes.get(job.channel)
        config = lane.config if lane is not None else self.config
        outcome = result.outcome
        if outcome is SendOutcome.SENT:
            self._ledger.record_sent(job.delivery_id, result.message_id)
            self.stats.sent += 1
            self._done(job, sent=True)
            return
        if outcome is SendOutcome.RETRY_AFTER and lane is not None:
            item.flood_waits += 1
            self.stats.flood_waits += 1
            wait = max(result.retry_after, 0.001)
            # The channel's flood control is per bot: this lane waits, the others go on.
            lane.pause_until = max(lane.pause_until, now + wait)
            if item.flood_waits <= config.max_flood_waits:
                self._push(lane, now + wait, item)
                return
        elif outcome is SendOutcome.TRANSIENT and lane is not None:
            item.attempts += 1
            self._ledger.record_retry(job.delivery_id, result.reason)
            if item.attempts < config.max_attempts:
                self.stats.retries += 1
                self._push(lane, now + config.backoff(item.attempts), item)
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
        if round_ is None:
            return
        lane = self._lanes.get(round_.channel)
        if lane is None:
            if progress.finished:
                log.warning(
                    "broadcast %s: its sender's channel %r is not served here; no report",
                    broadcast_id,
                    round_.channel,
                )
            return
        if lane.progress is None:
            if not progress.finished:
                return
            await lane.wired.wait()  # the channel is being wired: its report waits for it
        sink = lane.progress
        assert sink is not None
        order = progress.done + (1 if progress.finished else 0)
        async with round_.lock:
            if order <= round_.shown:
                return
            round_.shown = order
            try:
                await sink(progress)
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
