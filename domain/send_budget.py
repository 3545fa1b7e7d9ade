"""One send budget per bot token: replies first, bulk (announcements, reminders) after.

A platform counts every message a token sends, whoever in the bot sends it. Telegram allows
about 30 a second overall, about one a second in one chat (short bursts pass) and 20 a minute
in a group; a 429 asks the whole token to wait. Replies, reminders and announcements therefore
draw from one budget: a waiting reply always goes before waiting bulk, bulk never takes more
than its share (``bulk_rate``, the old ``BOT_BROADCAST_RATE``), and one chat at its own limit
never holds back the others. The one-a-second limit of a private chat applies to bulk: a reply
answers a person at the pace they write (a form's next question must not wait a second).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import IntEnum

BULK_RATE_ARG = 1  # python-telegram-bot's ``rate_limit_args`` of a bulk send


class Priority(IntEnum):
    REPLY = 0  # someone is waiting for this answer
    BULK = 1  # announcements and reminders


# What the sends made in this task are: bulk senders (reminders, announcements) say so once
# instead of threading a priority through every layer down to the channel's client.
SEND_PRIORITY: ContextVar[Priority] = ContextVar("send_priority", default=Priority.REPLY)


@contextmanager
def bulk_sends() -> Iterator[None]:
    """Within this block, this task's sends are bulk: they give way to replies."""
    token = SEND_PRIORITY.set(Priority.BULK)
    try:
        yield
    finally:
        SEND_PRIORITY.reset(token)


@dataclass
class Bucket:
    """A token bucket: ``capacity`` tokens, refilled at ``rate`` a second."""

    rate: float
    capacity: float
    tokens: float = field(default=-1.0)
    stamp: float = 0.0

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = self.capacity

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def wait(self, now: float) -> float:
        """Seconds until one token is there (0: now)."""
        self.refill(now)
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


@dataclass(frozen=True)
class BudgetConfig:
    rate: float = 30.0  # messages a second, the whole token
    bulk_rate: float = 25.0  # of which bulk may use at most this
    chat_rate: float = 1.0  # one chat, sustained
    chat_burst: float = 3.0  # one chat, at once (a reply in three parts is not held back)
    group_per_minute: float = 20.0


@dataclass(order=True)
class _Waiter:
    priority: int
    seq: int
    chat: str | None = field(compare=False)
    group: bool = field(compare=False)
    granted: asyncio.Future[None] = field(compare=False)


class SendBudget:
    """``await budget.acquire(priority, chat)`` before each send of one token."""

    def __init__(
        self,
        config: BudgetConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config or BudgetConfig()
        self._clock = clock
        now = clock()
        self._overall = Bucket(self.config.rate, self.config.rate, stamp=now)
        self._bulk = Bucket(self.config.bulk_rate, max(1.0, self.config.bulk_rate), stamp=now)
        self._chats: dict[str, Bucket] = {}
        self._waiting: list[_Waiter] = []
        self._seq = itertools.count()
        self._paused_until = 0.0
        self._wake = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None
        self.granted = {Priority.REPLY: 0, Priority.BULK: 0}

    async def acquire(
        self, priority: Priority, chat: str | int | None = None, *, group: bool = False
    ) -> None:
        """Wait for this send's turn within every limit that applies to it."""
        waiter = _Waiter(
            int(priority),
            next(self._seq),
            None if chat is None else str(chat),
            group,
            asyncio.get_running_loop().create_future(),
        )
        heapq.heappush(self._waiting, waiter)
        self._start()
        try:
            await asyncio.shield(waiter.granted)
        except asyncio.CancelledError:
            if not waiter.granted.done():
                waiter.granted.cancel()  # the pump skips it
            raise

    def poke(self) -> None:
        """Look again now (a test moved its clock)."""
        self._wake.set()

    def pause(self, seconds: float) -> None:
        """The platform said wait (a 429 with Retry-After): nothing of this token goes out."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)
        self._wake.set()

    @property
    def waiting(self) -> int:
        return sum(1 for w in self._waiting if not w.granted.done())

    def _start(self) -> None:
        self._wake.set()
        if self._pump is None or self._pump.done():
            self._pump = asyncio.get_running_loop().create_task(self._run())

    def _chat_bucket(self, chat: str, group: bool) -> Bucket:
        bucket = self._chats.get(chat)
        if bucket is None:
            if group:
                per_minute = self.config.group_per_minute
                bucket = Bucket(per_minute / 60, per_minute, stamp=self._clock())
            else:
                bucket = Bucket(self.config.chat_rate, self.config.chat_burst, stamp=self._clock())
            self._chats[chat] = bucket
        return bucket

    @staticmethod
    def _per_chat(waiter: _Waiter) -> bool:
        return waiter.chat is not None and (waiter.group or waiter.priority == Priority.BULK)

    def _wait_for(self, waiter: _Waiter, now: float) -> float:
        """Seconds until ``waiter`` may go, leaving the overall budget aside."""
        wait = 0.0
        if self._per_chat(waiter):
            assert waiter.chat is not None
            wait = self._chat_bucket(waiter.chat, waiter.group).wait(now)
        if waiter.priority == Priority.BULK:
            wait = max(wait, self._bulk.wait(now))
        return wait

    async def _run(self) -> None:
        while self._waiting:
            self._waiting = [w for w in self._waiting if not w.granted.done()]
            heapq.heapify(self._waiting)
            if not self._waiting:
                break
            now = self._clock()
            delay = max(0.0, self._paused_until - now)
            if delay == 0:
                delay = self._overall.wait(now)
            if delay == 0:
                chosen, soonest = None, float("inf")
                for waiter in sorted(self._waiting):  # replies first, then oldest first
                    wait = self._wait_for(waiter, now)
                    if wait == 0:
                        chosen = waiter
                        break
                    soonest = min(soonest, wait)
                if chosen is not None:
                    self._grant(chosen)
                    continue
                delay = soonest
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
        self._forget_idle_chats()

    def _grant(self, waiter: _Waiter) -> None:
        self._overall.take()
        if self._per_chat(waiter):
            assert waiter.chat is not None
            self._chat_bucket(waiter.chat, waiter.group).take()
        if waiter.priority == Priority.BULK:
            self._bulk.take()
        self._waiting.remove(waiter)
        self.granted[Priority(waiter.priority)] += 1
        waiter.granted.set_result(None)

    def _forget_idle_chats(self) -> None:
        """Full buckets carry no information: memory stays flat with many chats."""
        now = self._clock()
        for chat, bucket in list(self._chats.items()):
            bucket.refill(now)
            if bucket.tokens >= bucket.capacity:
                del self._chats[chat]
