"""The watchdog: an update loop that stops is restarted, or the process exits non-zero.

Before it, an update loop could end and leave a process that looked alive and answered
nobody: python-telegram-bot's polling task ends for good on any exception that is not a
network error (an inbox write that failed, a revoked token) and nothing looks at it again.
Here each loop's task is awaited; when it ends while the process is not stopping, the reason
is logged and the loop restarted, after a short pause that doubles each time. More than
``MAX_RESTARTS`` restarts within ``RESTART_WINDOW`` means restarting does not help: the
watchdog gives up and the process exits with status 1 (2 when the platform refused the
token), for a supervisor (systemd, Docker) to restart it or a person to look.

A loop that ended for a reason a restart cannot fix and that is already reported (Zalo
refused its token: ``zalo.health``) is ``final``: it is left stopped and shows in ``health``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

log = logging.getLogger(__name__)

MAX_RESTARTS = 3
RESTART_WINDOW = 600.0  # seconds
FIRST_PAUSE = 1.0  # seconds before the first restart; doubles each time
EXIT_GAVE_UP = 1
EXIT_TOKEN_REFUSED = 2


class UpdateLoop(Protocol):
    """A channel's update loop as the watchdog sees it."""

    name: str

    def task(self) -> asyncio.Future[Any] | None:
        """The task to watch now (None: nothing to watch, e.g. a webhook server)."""
        ...

    def final(self, ended: asyncio.Future[Any]) -> bool:
        """Whether this end is one a restart cannot fix and that is already reported."""
        ...

    async def restart(self) -> None: ...


@dataclass(frozen=True)
class GaveUp:
    loop: str
    reason: str
    status: int


@dataclass
class LoopRecord:
    restarts: int = 0
    stopped: str = ""  # why the loop is stopped now ("" while it runs)
    recent: list[float] = field(default_factory=list)  # monotonic times of recent restarts


class Watchdog:
    def __init__(
        self,
        *,
        max_restarts: int = MAX_RESTARTS,
        window: float = RESTART_WINDOW,
        first_pause: float | None = None,
        on_change: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._loops: list[UpdateLoop] = []
        self._max = max_restarts
        self._window = window
        self._first_pause = FIRST_PAUSE if first_pause is None else first_pause
        self._on_change = on_change
        self._clock = clock
        self._tasks: list[asyncio.Task[None]] = []
        self.records: dict[str, LoopRecord] = {}
        self.gave_up: asyncio.Future[GaveUp] = asyncio.get_running_loop().create_future()
        self.restarted = asyncio.Event()  # set after each restart (tests wait on it)

    def watch(self, loop: UpdateLoop) -> None:
        self._loops.append(loop)
        self.records[loop.name] = LoopRecord()
        self._tasks.append(asyncio.create_task(self._guard(loop), name=f"watchdog:{loop.name}"))

    async def stop(self) -> None:
        """The process is stopping: loops that end now are not restarted."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def _guard(self, loop: UpdateLoop) -> None:
        record = self.records[loop.name]
        watched = loop.task()
        while watched is not None:
            await asyncio.wait({watched})
            reason = describe_end(watched)
            record.stopped = reason
            if loop.final(watched):
                log.error("%s stopped for good (%s); see health", loop.name, reason)
                self._changed()
                return
            while True:  # restart until it takes, or give up
                now = self._clock()
                record.recent = [at for at in record.recent if now - at < self._window]
                if len(record.recent) >= self._max:
                    self._give_up(loop.name, reason, len(record.recent))
                    return
                pause = self._first_pause * 2 ** len(record.recent)
                log.error("%s stopped (%s); restarting it in %.0f s", loop.name, reason, pause)
                self._changed()
                await asyncio.sleep(pause)
                record.recent.append(self._clock())
                record.restarts += 1
                try:
                    await loop.restart()
                except Exception as error:  # counts as a loop that ended at once
                    reason = record.stopped = describe_error(error)
                    continue
                break
            record.stopped = ""
            log.warning("%s restarted (%d restarts so far)", loop.name, record.restarts)
            self._changed()
            self.restarted.set()
            watched = loop.task()

    def _give_up(self, name: str, reason: str, restarts: int) -> None:
        log.critical(
            "%s stopped again (%s) after %d restarts within %.0f s: giving up, exiting",
            name,
            reason,
            restarts,
            self._window,
        )
        status = EXIT_TOKEN_REFUSED if reason.startswith("InvalidToken") else EXIT_GAVE_UP
        if not self.gave_up.done():
            self.gave_up.set_result(GaveUp(name, reason, status))
        self._changed()

    def _changed(self) -> None:
        if self._on_change is not None:
            self._on_change()


def describe_end(ended: asyncio.Future[Any]) -> str:
    """Why a task ended, in a few words (never a secret: exception class and message)."""
    if ended.cancelled():
        return "cancelled"
    error = ended.exception()
    if error is None:
        return "ended"
    return describe_error(error)


def describe_error(error: BaseException) -> str:
    words = str(error).splitlines()[0][:160] if str(error) else ""
    return f"{type(error).__name__}: {words}" if words else type(error).__name__
