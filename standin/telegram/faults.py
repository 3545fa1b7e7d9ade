"""Failures on purpose: Telegram's rate limits, injected faults and random ones.

Every such answer is recorded in :attr:`FakeTelegram.faults`, not in ``bad_requests``: the bot
is expected to handle them.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from standin.telegram.errors import CONFLICT_OTHER_POLL, JSON, ApiError
from standin.telegram.state import StandinState

#: What ``set_fault_rate`` can draw: error answers, a dropped connection, a late answer.
RANDOM_FAULT_KINDS = ("429", "500", "502", "drop", "timeout")
#: Methods that count against the overall broadcast limit (about 30 messages a second); edits
#: count against the per-chat limit only.
SENDING_METHODS = frozenset(
    {"sendMessage", "sendPhoto", "sendDocument", "copyMessage", "forwardMessage"}
)


@dataclass(slots=True)
class TokenBucket:
    """Classic token bucket: ``rate`` tokens a second, at most ``capacity`` saved up."""

    rate: float
    capacity: float
    tokens: float
    stamp: float

    def wait(self, now: float) -> float:
        """Refill, then return how long until one token is available (0 if now)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


@dataclass(slots=True)
class RateLimits:
    per_chat_per_second: float
    per_group_per_second: float
    burst: int
    overall: TokenBucket
    chats: dict[int, TokenBucket] = field(default_factory=dict)


@dataclass(slots=True)
class Fault:
    method: str
    status: int
    description: str
    retry_after: int | None
    remaining: int | None
    chat_id: int | None


class FaultInjection(StandinState):
    """Rate limits and faults a scenario switches on; the checks every call goes through."""

    def enforce_rate_limits(
        self,
        *,
        global_per_second: float = 30,
        per_chat_per_second: float = 1,
        burst: int = 3,
        per_group_per_minute: float = 20,
    ) -> None:
        """Answer 429 with retry_after when sends exceed Telegram's limits (token buckets)."""
        now = time.monotonic()
        capacity = max(float(burst), global_per_second)
        self._limits = RateLimits(
            per_chat_per_second=per_chat_per_second,
            per_group_per_second=min(per_chat_per_second, per_group_per_minute / 60),
            burst=burst,
            overall=TokenBucket(global_per_second, capacity, capacity, now),
        )

    def inject_fault(
        self,
        method: str,
        *,
        status: int = 500,
        description: str | None = None,
        retry_after: int | None = None,
        times: int | None = 1,
        chat_id: int | None = None,
    ) -> None:
        """Fail the next ``times`` calls of ``method`` ("*": any; ``times=None``: until cleared)."""
        if status == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            description = {
                400: "Bad Request: injected fault",
                401: "Unauthorized",
                403: "Forbidden: bot was blocked by the user",
                409: CONFLICT_OTHER_POLL,
                429: f"Too Many Requests: retry after {retry_after}",
                502: "Bad Gateway",
            }.get(status, "Internal Server Error")
        self._faults.append(Fault(method, status, description, retry_after, times, chat_id))

    def clear_faults(self) -> None:
        """Forget every injected fault."""
        self._faults.clear()

    def set_fault_rate(
        self,
        rate: float,
        *,
        methods: Iterable[str] = (
            "sendMessage",
            "editMessageText",
            "answerCallbackQuery",
            "sendPhoto",
            "sendDocument",
        ),
        kinds: Iterable[str] = ("429", "500", "502"),
        seed: int = 0,
        answer_delay: float = 6.0,
    ) -> None:
        """Fail a random ``rate`` of the calls of ``methods`` with one of ``kinds``.

        ``"429"``, ``"500"``, ``"502"``: that error answer, nothing done. ``"drop"``: the
        connection is closed before anything is done. ``"timeout"``: the call *is* carried out
        (the message is delivered) but the answer comes ``answer_delay`` seconds late, after the
        client gave up (PTB waits 5 s): the one fault that can make a careful bot send twice.
        Each such call is listed in ``late_answers``.
        """
        unknown = set(kinds) - set(RANDOM_FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds: {sorted(unknown)}")
        self._fault_rate = rate
        self._fault_methods = frozenset(methods)
        self._fault_kinds = tuple(kinds)
        self._fault_random = random.Random(seed)
        self._answer_delay = answer_delay

    def _random_fault(self, method: str) -> str | None:
        if not self._fault_rate or method not in self._fault_methods:
            return None
        if self._fault_random.random() >= self._fault_rate:
            return None
        kind = self._fault_random.choice(self._fault_kinds)
        self.random_faults[kind] += 1
        return kind

    def _take_fault(self, method: str, params: JSON, kind: str | None) -> Fault | None:
        if kind == "429":
            return Fault(method, 429, "Too Many Requests: retry after 1", 1, 1, None)
        if kind in ("500", "502"):
            description = "Bad Gateway" if kind == "502" else "Internal Server Error"
            return Fault(method, int(kind), description, None, 1, None)
        for fault in self._faults:
            if fault.method not in ("*", method):
                continue
            if fault.chat_id is not None and params.get("chat_id") != fault.chat_id:
                continue
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
            return fault
        return None

    def _rate_check(self, chat: JSON, method: str) -> None:
        limits = self._limits
        if limits is None:
            return
        now = time.monotonic()
        chat_id = int(chat["id"])
        bucket = limits.chats.get(chat_id)
        if bucket is None:
            rate = (
                limits.per_chat_per_second
                if chat["type"] == "private"
                else limits.per_group_per_second
            )
            bucket = TokenBucket(rate, float(limits.burst), float(limits.burst), now)
            limits.chats[chat_id] = bucket
        counts_overall = method in SENDING_METHODS
        wait = bucket.wait(now)
        if counts_overall:
            wait = max(wait, limits.overall.wait(now))
        if wait > 0:
            self.rate_limited += 1
            retry_after = max(1, math.ceil(wait))
            raise ApiError(
                429,
                f"Too Many Requests: retry after {retry_after}",
                retry_after=retry_after,
                deliberate=True,
            )
        bucket.take()
        if counts_overall:
            limits.overall.take()
