"""Database write faults for tests: an INSERT refused as by a full disk or a held lock.

Raised by the SQLite driver's cursor (SQLAlchemy wraps it in ``OperationalError`` exactly as
it wraps a real ``database or disk is full``), so everything above the driver sees what it
would see in production.
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine


class WriteFaults:
    """Refuse INSERTs into ``table`` ``times`` times (None: until ``clear``), on ``engine``,
    or on every engine of the database at a URL (one a bot process made for itself)."""

    def __init__(self, engine: Engine | str, table: str = "inbound_update") -> None:
        self._engine: Engine | type[Engine] = engine if isinstance(engine, Engine) else Engine
        self._url = None if isinstance(engine, Engine) else engine
        self._prefix = f"INSERT INTO {table}"
        self._left: int | None = 0
        self.message = "database or disk is full"
        self.refused = 0
        self.first_refusal = asyncio.Event()  # set from the loop's thread, like the writes
        event.listen(self._engine, "before_cursor_execute", self._before)

    def fail(self, times: int | None = 1, message: str = "database or disk is full") -> None:
        self._left, self.message = times, message

    def clear(self) -> None:
        self._left = 0

    def remove(self) -> None:
        event.remove(self._engine, "before_cursor_execute", self._before)

    def _before(self, *args: Any) -> None:
        connection, statement = args[0], str(args[2])
        if not statement.startswith(self._prefix) or self._left == 0:
            return
        if self._url is not None and str(connection.engine.url) != self._url:
            return
        if self._left is not None:
            self._left -= 1
        self.refused += 1
        self.first_refusal.set()
        raise sqlite3.OperationalError(self.message)
