"""Is the bot alive: each channel's update loop, its last update, the database.

How ``python -m bot health`` knows about a running process: the process writes a heartbeat
file beside the database (``<database>.health.json``, rewritten every ``HEARTBEAT_SECONDS``
and at once when a loop stops or restarts), and holds the database's lock
(``storage.lock``) while it runs. A file, not a database row, because the database is one of
the things being checked: a locked or full database could not take the heartbeat, and
``health`` must still answer. The lock tells a dead process from a slow one without trusting
a pid: the kernel drops it when the process ends, even on ``kill -9``.

``health`` is healthy (exit 0) when a process holds the lock, its heartbeat is fresh, every
channel it serves is receiving (polling or webhook) and the database opens at the expected
schema and takes writes; else it says why (exit 1). ``/healthz`` answers the same as JSON
(200 or 503) from inside the process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sqlite3
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import text

from storage.db import Database, head_revision, sqlite_file
from storage.lock import DatabaseLock

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10.0
# A heartbeat older than this means the process is stuck (its event loop blocked) or gone.
STALE_AFTER_SECONDS = 3 * HEARTBEAT_SECONDS + 5
DEFAULT_HEARTBEAT = Path("data") / "bot.health.json"  # for a database that is not a file


def heartbeat_path(database_url: str) -> Path:
    """Where the process serving ``database_url`` writes its heartbeat."""
    database = sqlite_file(database_url)
    if database is None:
        return DEFAULT_HEARTBEAT
    return database.with_name(database.name + ".health.json")


def database_lock(database_url: str) -> DatabaseLock | None:
    database = sqlite_file(database_url)
    return DatabaseLock(database) if database is not None else None


@dataclass
class ChannelState:
    """One channel's update loop as the process sees it now."""

    channel: str
    mode: str  # "polling" or "webhook"
    up: bool
    detail: str = ""  # why it is not up
    last_update_at: datetime | None = None
    restarts: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "up": self.up,
            "detail": self.detail,
            "last_update_at": _iso(self.last_update_at),
            "restarts": self.restarts,
        }


ChannelProbe = Callable[[], ChannelState]


class Heartbeat:
    """The process's side: its channels' states, written to the heartbeat file."""

    def __init__(self, path: Path, db: Database) -> None:
        self.path = path
        self._db = db
        self._probes: dict[str, ChannelProbe] = {}
        self.pid = os.getpid()
        self.started_at = datetime.now(UTC)
        self._write_failed = False

    def add(self, channel: str, probe: ChannelProbe) -> None:
        self._probes[channel] = probe

    def channels(self) -> list[ChannelState]:
        return [probe() for _name, probe in sorted(self._probes.items())]

    def snapshot(self) -> dict[str, Any]:
        writes = self._db.writes
        return {
            "pid": self.pid,
            "started_at": _iso(self.started_at),
            "written_at": _iso(datetime.now(UTC)),
            "channels": {state.channel: state.to_json() for state in self.channels()},
            "writes": {
                "ok": writes.ok,
                "failing_since": _iso(writes.failing_since),
                "error": writes.last_error,
            },
        }

    def write(self) -> None:
        """Replace the file at once (write, then rename): a reader never sees half of it."""
        partial = self.path.with_name(self.path.name + ".part")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            partial.write_text(json.dumps(self.snapshot(), ensure_ascii=False), encoding="utf-8")
            os.replace(partial, self.path)
        except OSError as error:  # a full disk: health will see the heartbeat go stale
            if not self._write_failed:
                log.error("could not write the heartbeat %s: %s", self.path, error)
            self._write_failed = True
            return
        self._write_failed = False

    async def run(self, interval: float = HEARTBEAT_SECONDS) -> None:
        """Write every ``interval`` seconds until cancelled (the caller wrote the first)."""
        while True:
            await asyncio.sleep(interval)
            self.write()

    def remove(self) -> None:
        """A process that stops on purpose leaves no heartbeat behind."""
        with contextlib.suppress(OSError):
            self.path.unlink()


@dataclass(frozen=True)
class DatabaseState:
    ok: bool
    revision: str | None
    expected: str
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "revision": self.revision,
            "expected": self.expected,
            "detail": self.detail,
        }


def probe_database(database_url: str, db: Database | None = None) -> DatabaseState:
    """Whether the database opens and is at the schema this code expects (reads only)."""
    expected = head_revision()
    path = sqlite_file(database_url)
    try:
        if db is None and path is not None:
            if not path.is_file():
                return DatabaseState(False, None, expected, f"there is no database at {path}")
            with contextlib.closing(
                sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
            ) as connection:
                row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        else:
            from storage.db import make_engine

            engine = db.engine if db is not None else make_engine(database_url)
            with engine.connect() as connection:
                row = connection.execute(text("SELECT version_num FROM alembic_version")).first()
    except Exception as error:  # unreachable, not a database, no schema: all say "not ok"
        return DatabaseState(False, None, expected, f"cannot read it: {_first_line(error)}")
    revision = str(row[0]) if row else None
    if revision != expected:
        return DatabaseState(
            False, revision, expected, f"schema {revision} where {expected} is expected"
        )
    return DatabaseState(True, revision, expected)


@dataclass
class HealthReport:
    """What ``health`` and ``/healthz`` say: healthy or not, why, and the details."""

    healthy: bool
    problems: list[str]
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"healthy": self.healthy, "problems": self.problems, **self.data}

    def lines(self) -> list[str]:
        """The report for a person at a terminal."""
        data = self.data
        lines = ["healthy" if self.healthy else "NOT healthy: " + "; ".join(self.problems)]
        process = data.get("process") or {}
        if process.get("pid"):
            age = process.get("heartbeat_age_seconds")
            lines.append(
                f"process {process['pid']}, started {_shown(process.get('started_at'))}, "
                f"heartbeat {age:.0f} s ago"
                if age is not None
                else f"process {process['pid']}"
            )
        for name, state in (data.get("channels") or {}).items():
            status = state["mode"] if state["up"] else f"{state['mode']} STOPPED"
            if state.get("detail"):
                status += f" ({state['detail']})"
            last = state.get("last_update_at")
            seen = f"last update {_shown(last)}" if last else "no update since start"
            restarts = f", restarted {state['restarts']} times" if state.get("restarts") else ""
            lines.append(f"{name}: {status}, {seen}{restarts}")
        database = data.get("database") or {}
        if database:
            state = "ok" if database.get("ok") else "NOT ok"
            revision = database.get("revision") or "no schema"
            detail = f" ({database['detail']})" if database.get("detail") else ""
            writes = database.get("writes") or {}
            writing = (
                "writes ok"
                if writes.get("ok", True)
                else f"writes failing since {_shown(writes.get('failing_since'))}: "
                f"{writes.get('error', '')}"
            )
            lines.append(f"database: {state}, schema {revision}{detail}, {writing}")
        return lines


def evaluate(
    snapshot: dict[str, Any] | None,
    database: DatabaseState,
    *,
    running: bool | None,
    now: datetime | None = None,
) -> HealthReport:
    """Judge a heartbeat ``snapshot`` and the database; ``running``: whether a process holds
    the database's lock (None: unknown, e.g. a database that is not a file)."""
    now = now or datetime.now(UTC)
    problems: list[str] = []
    process: dict[str, Any] = {"running": running}
    channels: dict[str, Any] = {}
    writes: dict[str, Any] = {"ok": True}
    if running is False:
        problems.append("no bot process is running on this database")
    if snapshot is None:
        if running is not False:
            problems.append("the bot has written no heartbeat")
    else:
        written = _parse(snapshot.get("written_at"))
        age = (now - written).total_seconds() if written else None
        process.update(
            pid=snapshot.get("pid"),
            started_at=snapshot.get("started_at"),
            heartbeat_at=snapshot.get("written_at"),
            heartbeat_age_seconds=age,
        )
        if running is not False:
            if age is None or age > STALE_AFTER_SECONDS:
                problems.append(f"the heartbeat is {age or 0:.0f} s old: the process is stuck")
            channels = dict(snapshot.get("channels") or {})
            for name, state in channels.items():
                if not state.get("up"):
                    why = f" ({state['detail']})" if state.get("detail") else ""
                    problems.append(f"{name} is not receiving updates{why}")
            if not channels:
                problems.append("the process serves no channel")
            writes = dict(snapshot.get("writes") or writes)
            if not writes.get("ok", True):
                problems.append(f"database writes are failing: {writes.get('error', '')}")
    if not database.ok:
        problems.append(f"database: {database.detail}")
    data = {
        "checked_at": _iso(now),
        "process": process,
        "channels": channels,
        "database": {**database.to_json(), "writes": writes},
    }
    return HealthReport(not problems, problems, data)


def check_health(database_url: str) -> HealthReport:
    """``python -m bot health``: read the heartbeat, the lock and the database from outside."""
    path = heartbeat_path(database_url)
    snapshot: dict[str, Any] | None = None
    with contextlib.suppress(OSError, ValueError):
        loaded = json.loads(path.read_text(encoding="utf-8"))
        snapshot = loaded if isinstance(loaded, dict) else None
    lock = database_lock(database_url)
    running = lock.in_use() if lock is not None else None
    return evaluate(snapshot, probe_database(database_url), running=running)


def live_report(heartbeat: Heartbeat, database_url: str, db: Database) -> HealthReport:
    """The same judgement from inside the running process (for ``/healthz``)."""
    return evaluate(heartbeat.snapshot(), probe_database(database_url, db), running=True)


def healthz_handler(
    report: Callable[[], HealthReport],
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """An aiohttp handler: the report as JSON, 200 when healthy, else 503."""

    async def healthz(_request: web.Request) -> web.Response:
        current = report()
        return web.json_response(current.to_json(), status=200 if current.healthy else 503)

    return healthz


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat(timespec="seconds") if value is not None else None


def _parse(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _shown(value: object) -> str:
    parsed = _parse(value)
    return f"{parsed:%Y-%m-%d %H:%M:%S} UTC" if parsed else "?"


def _first_line(error: BaseException) -> str:
    original = getattr(error, "orig", None)
    return str(original if original is not None else error).splitlines()[0][:200]
