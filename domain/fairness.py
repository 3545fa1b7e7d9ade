"""Per-person fairness: a token bucket per sender, asked before any database work.

One policy for every channel (the adapters only ask it and act on the answer):

- A registered person (a focal point, office staff, an admin) has ``account_burst``
  messages at once, then ``account_rate`` a second. Past that nothing is dropped: the message
  is *paced*, handled in its turn once its token comes, and the person is told once (at most
  once every ``notice_interval``) that the bot will answer a little more slowly.
- A stranger (no unit, no role: nobody the bot serves yet) has ``stranger_burst`` messages,
  enough to ask and to type an invite code twice, then one more per quiet minute. Past that
  the message is dropped before it is stored: a flood costs no database write. While the
  flood goes on, the stranger gets one short reply (``STRANGER_NOTICE``) a minute after the
  last answer, then after 2, 4, 8… minutes (at most one a day), and silence in between: on
  Zalo every reply counts against the monthly quota. Messages dropped during a flood earn no
  token back; only a pause refills the bucket.
- Someone the policy has not met yet (since the process started) counts as registered until
  their first message has been read (``learn``): nothing a focal point types is ever dropped
  because the bot had not looked them up yet. A new stranger's first few messages are thus
  stored and answered like anyone's; only once they are known does the bucket drop.

The policy keeps only small numbers per sender in memory, and forgets a sender idle for
``forget_after`` seconds (a stranger forgotten is met again as new: one more message read).
It is not thread-safe: the adapters call it from the event loop.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from enum import StrEnum

from domain.i18n import N_

STRANGER_NOTICE = N_(
    "Too many messages. I can only help registered focal points: please wait a minute, "
    "then send the invite code the standing office gave your unit."
)
SLOW_DOWN = N_(
    "You are sending messages very fast. I will answer each of them in turn, a little more "
    "slowly; nothing you send is lost."
)


class Verdict(StrEnum):
    GO = "go"  # within the rate: handle it now
    PACE = "pace"  # a registered person over the rate: handle it in its turn (``delay``)
    NOTICE = "notice"  # a stranger over the rate: one short reply, the message is not kept
    DROP = "drop"  # a stranger over the rate, already told this minute: silence


@dataclass(frozen=True)
class Admission:
    verdict: Verdict
    ready_at: float = 0.0  # PACE: when (on the policy's clock) its token comes
    notify: bool = False  # PACE: say SLOW_DOWN before it (once per notice_interval)

    @property
    def kept(self) -> bool:
        """Whether the message is stored and handled (now or in its turn)."""
        return self.verdict in {Verdict.GO, Verdict.PACE}


@dataclass(frozen=True)
class FairnessConfig:
    account_burst: int = 20
    account_rate: float = 1.0  # messages a second, sustained
    stranger_burst: int = 3
    stranger_per_minute: float = 1.0
    notice_interval: float = 60.0  # seconds between two replies to a flooding person, at least
    longest_notice_interval: float = 86_400.0  # a stranger's gaps double up to this
    forget_after: float = 600.0  # seconds idle before a sender is forgotten


@dataclass
class _Sender:
    tokens: float
    stamp: float  # when ``tokens`` was last brought up to date
    registered: bool | None = None  # None: not read yet (counts as registered)
    language: str | None = None
    noticed_at: float = -math.inf  # the last slow-down notice (registered)
    pacing: bool = False  # registered: over the rate since the last message that went at once
    quiet_until: float = -math.inf  # stranger: no notice before this
    notice_gap: float = 0.0  # stranger: the gap before the last notice (doubles)


class FairnessPolicy:
    """Token buckets per sender: ``admit`` each message on arrival, ``learn`` who sent it."""

    PRUNE_EVERY = 1024

    def __init__(
        self,
        config: FairnessConfig | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.config = config or FairnessConfig()
        self.clock = clock
        self._sleep = sleep  # a test's own, to decide when a paced message's turn comes
        self._senders: dict[Hashable, _Sender] = {}
        self._admitted = 0

    def admit(self, sender: Hashable) -> Admission:
        """What to do with a message from ``sender`` arriving now (takes its token)."""
        now = self.clock()
        self._admitted += 1
        if self._admitted % self.PRUNE_EVERY == 0:
            self._prune(now)
        state = self._senders.get(sender)
        if state is None:
            state = self._senders[sender] = _Sender(self.config.account_burst, now)
        stranger = state.registered is False
        capacity, rate = self._bucket(stranger)
        refilled = min(capacity, state.tokens + (now - state.stamp) * rate)
        state.stamp = now
        if refilled >= 1:
            state.tokens = refilled - 1
            state.pacing = False
            # An answer is on its way: a stranger gets no notice for a while, gaps start over.
            state.quiet_until = now + self.config.notice_interval
            state.notice_gap = self.config.notice_interval
            return Admission(Verdict.GO)
        if stranger:
            # ``tokens`` keeps its value: a flood earns nothing back, only a pause does.
            if now < state.quiet_until:
                return Admission(Verdict.DROP)
            gap = min(
                2 * (state.notice_gap or self.config.notice_interval),
                self.config.longest_notice_interval,
            )
            state.quiet_until = now + gap
            state.notice_gap = gap
            return Admission(Verdict.NOTICE)
        # Registered (or not read yet): reserve the next token, so that messages queue behind
        # each other in arrival order; say "slow down" once as the pacing starts.
        state.tokens = refilled - 1
        notify = not state.pacing and now - state.noticed_at >= self.config.notice_interval
        state.pacing = True
        if notify:
            state.noticed_at = now
        return Admission(Verdict.PACE, ready_at=now - state.tokens / rate, notify=notify)

    def learn(self, sender: Hashable, *, registered: bool, language: str | None = None) -> None:
        """Who ``sender`` turned out to be once their message was read."""
        state = self._senders.get(sender)
        if state is None:
            state = self._senders[sender] = _Sender(self.config.account_burst, self.clock())
        state.registered = registered
        state.language = language or state.language
        if not registered:
            state.tokens = min(state.tokens, self.config.stranger_burst)

    def language(self, sender: Hashable) -> str | None:
        """The sender's language, as last learned (for a notice sent before reading them)."""
        state = self._senders.get(sender)
        return state.language if state is not None else None

    def wait(self, admission: Admission) -> float:
        """Seconds from now until a paced message's turn (0 when it may go)."""
        return max(0.0, admission.ready_at - self.clock())

    async def wait_turn(self, admission: Admission) -> None:
        """Sleep until a paced message's turn."""
        await self._sleep(self.wait(admission))

    def _bucket(self, stranger: bool) -> tuple[float, float]:
        """Capacity and refill per second."""
        if stranger:
            return self.config.stranger_burst, self.config.stranger_per_minute / 60
        return self.config.account_burst, self.config.account_rate

    def _prune(self, now: float) -> None:
        idle = [
            key
            for key, state in self._senders.items()
            if now - state.stamp > self.config.forget_after
        ]
        for key in idle:
            del self._senders[key]

    def __len__(self) -> int:
        return len(self._senders)
