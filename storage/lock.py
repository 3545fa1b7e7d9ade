"""Whether a bot process is serving a database right now: a lock file beside it.

A running bot holds a shared ``flock`` on ``<database>.lock`` for its whole life; the kernel
drops it when the process ends, however it ends (``kill -9``, a power cut), so a stale lock
cannot outlive its process the way a pid file or an old heartbeat can. ``db restore`` takes
the lock exclusively, so it refuses while any bot runs and no bot starts while it restores;
``health`` asks whether anyone holds it.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType
from typing import Self


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


class DatabaseLock:
    """The lock file of one SQLite database; ``serve()`` for a bot, ``exclusive()`` for tools."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.path = lock_path(database)
        self._fd: int | None = None

    def serve(self, *, wait: bool = True) -> bool:
        """Hold the lock shared (several bots may); with ``wait``, wait while a restore holds
        it, else answer False at once."""
        try:
            self._take(fcntl.LOCK_SH if wait else fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def exclusive(self) -> bool:
        """Hold the lock alone; False at once when a bot (or another tool) holds it."""
        try:
            self._take(fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def in_use(self) -> bool:
        """Whether some process holds the lock now (without keeping it)."""
        if not self.path.exists():
            return False
        with DatabaseLock(self.database) as probe:
            return not probe.exclusive()

    def _take(self, operation: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, operation)
        except BaseException:
            os.close(fd)
            raise
        self.release()
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the lock
            self._fd = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
