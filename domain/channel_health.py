"""Whether each messaging channel works right now, for /status and for the senders.

A channel is "down" when its platform refuses the bot itself (a revoked or wrong token): no
message can go out or come in until someone fixes the configuration and restarts the bot. The
board lives in memory on purpose: a restart checks the token again (getMe) and starts "up".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

State = Literal["up", "down"]


@dataclass(frozen=True)
class ChannelHealth:
    """One channel's state, why it is down (never a secret), and since when."""

    channel: str
    state: State
    since: datetime
    reason: str = ""

    @property
    def up(self) -> bool:
        return self.state == "up"


class ChannelHealthBoard:
    """The state of every enabled channel; ``ChannelRouter.health`` holds the process's one."""

    def __init__(self, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._now = now
        self._channels: dict[str, ChannelHealth] = {}

    def mark_up(self, channel: str) -> None:
        current = self._channels.get(channel)
        if current is None or not current.up:
            self._channels[channel] = ChannelHealth(channel, "up", self._now())

    def mark_down(self, channel: str, reason: str) -> bool:
        """Record ``channel`` as down; True the first time (so the office is told once)."""
        current = self._channels.get(channel)
        if current is not None and not current.up:
            return False
        self._channels[channel] = ChannelHealth(channel, "down", self._now(), reason)
        return True

    def get(self, channel: str) -> ChannelHealth | None:
        """The channel's state; None when it is not enabled in this process."""
        return self._channels.get(channel)

    def is_down(self, channel: str) -> bool:
        current = self._channels.get(channel)
        return current is not None and not current.up

    def all(self) -> list[ChannelHealth]:
        """Every enabled channel, by name (what /status lists)."""
        return [self._channels[name] for name in sorted(self._channels)]
