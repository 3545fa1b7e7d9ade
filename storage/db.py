"""Engine and transactions. Services open a transaction; repositories never commit.

SQLite runs in WAL mode with ``synchronous=FULL``: a commit returns only once it is on the
disk, so what the bot acknowledged (an update stored before Telegram hears it arrived, a
reminder marked sent) survives a power cut. ``NORMAL`` syncs only at checkpoints and keeps the
file consistent, but a power cut may take the last commits with it. The cost is measured in
docs/benchmarks.md ("Durability").

Writes that must not be dropped (the inbox) go through ``retry_writes``: a locked or full
database is waited out with backoff instead of ending the update loop, and ``WriteHealth``
tells ``python -m bot health`` that writes are failing meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, create_engine

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
SQLITE_PREFIX = "sqlite:///"
# FULL: every commit is synced (see the module's docstring). A benchmark may lower it to
# compare; nothing else should.
DEFAULT_SYNCHRONOUS = "FULL"
_SYNCHRONOUS_LEVELS = ("OFF", "NORMAL", "FULL", "EXTRA")

T = TypeVar("T")


def sqlite_file(url: str) -> Path | None:
    """The file behind a SQLite URL (None for another database or an in-memory one)."""
    if url.startswith(SQLITE_PREFIX) and ":memory:" not in url:
        return Path(url.removeprefix(SQLITE_PREFIX))
    return None


def make_engine(url: str, *, synchronous: str | None = None) -> Engine:
    """Create an engine; for SQLite turn on WAL, foreign keys and durable commits."""
    path = sqlite_file(url)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    connect_args: dict[str, Any] = {}
    if url.startswith("sqlite"):
        # Handlers run on one event-loop thread, the CLI and jobs may use others.
        connect_args = {"check_same_thread": False, "timeout": 30}
    engine = create_engine(url, connect_args=connect_args)
    if engine.dialect.name == "sqlite":
        level = (synchronous or DEFAULT_SYNCHRONOUS).upper()
        if level not in _SYNCHRONOUS_LEVELS:
            raise ValueError(f"synchronous must be one of {', '.join(_SYNCHRONOUS_LEVELS)}")

        def pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA synchronous={level}")
            cursor.close()

        event.listen(engine, "connect", pragmas)
    return engine


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    """The schema revision this code expects (the newest migration)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` with Alembic (the only way the schema changes)."""
    command.upgrade(alembic_config(engine), revision)


@dataclass
class WriteHealth:
    """Whether the database takes writes now: failing since when, and why (for ``health``)."""

    failing_since: datetime | None = None
    last_error: str = ""
    failures: int = 0  # in a row

    @property
    def ok(self) -> bool:
        return self.failing_since is None

    def failed(self, error: BaseException) -> None:
        if self.failing_since is None:
            self.failing_since = datetime.now(UTC)
        self.failures += 1
        self.last_error = _reason(error)

    def succeeded(self) -> None:
        self.failing_since, self.last_error, self.failures = None, "", 0


class Database:
    """Opens sessions; ``transaction()`` commits on success and rolls back on error."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.writes = WriteHealth()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise


FIRST_RETRY_DELAY = 0.05
MAX_RETRY_DELAY = 30.0
_LOG_EVERY = 10  # failures in a row between two warnings after the first error


async def retry_writes(
    action: Callable[[], Awaitable[T]],
    *,
    what: str,
    health: WriteHealth | None = None,
    attempts: int | None = None,
    first_delay: float = FIRST_RETRY_DELAY,
    max_delay: float = MAX_RETRY_DELAY,
) -> T:
    """Run ``action`` until the database takes it: a locked or full database is waited out.

    Only ``OperationalError`` (locked, disk full, I/O error, read-only) is retried, with a
    delay doubling from ``first_delay`` to ``max_delay``; anything else is a bug and raised.
    ``attempts`` bounds the tries (None: until it works or the task is cancelled). Said once
    in the log when it starts failing and once when it works again, never silently.
    """
    delay, tried = first_delay, 0
    while True:
        try:
            result = await action()
        except OperationalError as error:
            tried += 1
            if health is not None:
                health.failed(error)
            if tried == 1:
                log.error(
                    "could not store %s (%s); trying again until it works", what, _reason(error)
                )
            elif tried % _LOG_EVERY == 0:
                log.warning(
                    "still cannot store %s after %d tries (%s)", what, tried, _reason(error)
                )
            if attempts is not None and tried >= attempts:
                raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, max_delay)
            continue
        if tried:
            log.warning(
                "stored %s after %d failed tries: the database takes writes again", what, tried
            )
        if health is not None and not health.ok:
            health.succeeded()
        return result


def _reason(error: BaseException) -> str:
    """The driver's words ("database is locked"), without the statement or parameters."""
    original = getattr(error, "orig", None)
    return str(original if original is not None else error).splitlines()[0][:200]
