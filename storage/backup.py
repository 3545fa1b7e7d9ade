"""Backups of the SQLite database while the bot runs, their check, and a careful restore.

``backup`` uses SQLite's online backup API (``sqlite3.Connection.backup``) in one step: it
reads one consistent snapshot while the bot keeps writing (WAL lets writers go on beside a
reader), writes it to ``<target>.part``, turns it into a single self-contained file
(``journal_mode=DELETE``), checks it, syncs it, and only then renames it over ``target``: a
backup that is there is whole. Copying the file with ``cp`` instead could catch it between
the database and its ``-wal`` file.

``restore`` refuses while a bot holds the database's lock (``storage.lock``), checks the
backup first, keeps the database it replaces beside it, and copies with the same API so the
live file's WAL is handled by SQLite, not overwritten under it.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from storage.lock import DatabaseLock

BUSY_TIMEOUT_MS = 30_000


class BackupError(Exception):
    """A backup, check or restore that cannot be done; the message says why, in one line."""


@dataclass(frozen=True)
class CheckResult:
    path: Path
    problems: list[str]  # integrity_check and foreign_key_check findings; empty: sound
    revision: str | None  # the schema's Alembic revision (None: not one of our databases)
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems and self.revision is not None


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    seconds: float
    check: CheckResult


@dataclass(frozen=True)
class RestoreResult:
    restored_from: Path
    previous: Path | None  # where the replaced database was kept
    check: CheckResult


def _connect(path: Path, *, read_only: bool = False) -> sqlite3.Connection:
    if read_only:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    else:
        connection = sqlite3.connect(path)
    connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return connection


def _same_file(a: Path, b: Path) -> bool:
    return a.resolve() == b.resolve() or (b.exists() and a.exists() and os.path.samefile(a, b))


def backup(source: Path, target: Path | str) -> BackupResult:
    """Copy the database at ``source`` to ``target`` while it is in use; checked, then renamed.

    A ``target`` that is a folder (or ends with a slash) gets a dated file in it."""
    if not source.is_file():
        raise BackupError(f"there is no database at {source}")
    if isinstance(target, str):
        folder = target.endswith(os.sep)
        target = Path(target)
        if folder:
            target.mkdir(parents=True, exist_ok=True)
    if target.is_dir():
        target = target / f"{source.stem}-{datetime.now(UTC):%Y%m%d-%H%M%S}{source.suffix}"
    if _same_file(source, target) or target.name.startswith(source.name + "-"):
        raise BackupError("the backup must not be written over the database or its journal")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    partial.unlink(missing_ok=True)
    started = time.perf_counter()
    with contextlib.closing(_connect(source)) as src, contextlib.closing(_connect(partial)) as dst:
        src.backup(dst)  # one step: one snapshot, writers go on meanwhile
        dst.execute("PRAGMA journal_mode=DELETE")  # one file, no -wal beside it
    check_result = check(partial)
    if not check_result.ok:
        partial.unlink(missing_ok=True)
        raise BackupError(f"the copy failed its check: {'; '.join(check_result.problems[:3])}")
    _fsync(partial)
    os.replace(partial, target)
    _fsync(target.parent)
    seconds = time.perf_counter() - started
    final = CheckResult(target, check_result.problems, check_result.revision, check_result.counts)
    return BackupResult(target, target.stat().st_size, seconds, final)


def check(path: Path) -> CheckResult:
    """``PRAGMA integrity_check`` and ``foreign_key_check``, the schema revision, a few counts."""
    if not path.is_file():
        raise BackupError(f"there is no database at {path}")
    try:
        with contextlib.closing(_connect(path, read_only=True)) as connection:
            problems = [row[0] for row in connection.execute("PRAGMA integrity_check")]
            if problems == ["ok"]:
                problems = []
            problems += [
                f"foreign key: {table} row {rowid} points at a missing {parent}"
                for table, rowid, parent, _fk in connection.execute("PRAGMA foreign_key_check")
            ]
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
            revision = None
            if "alembic_version" in tables:
                row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
                revision = row[0] if row else None
            counts = {
                name: int(connection.execute(query).fetchone()[0])
                for name, table, query in _COUNTS
                if table in tables
            }
    except sqlite3.DatabaseError as error:  # not a database at all, or torn apart
        return CheckResult(path, [f"cannot read it: {error}"], None)
    return CheckResult(path, problems, revision, counts)


_COUNTS = (
    ("units", "unit", "SELECT count(*) FROM unit"),
    ("focal points", "focal_point", "SELECT count(*) FROM focal_point WHERE active"),
    (
        "submitted reports",
        "report",
        "SELECT count(*) FROM report WHERE status = 'SUBMITTED'",
    ),
    ("report versions", "report_version", "SELECT count(*) FROM report_version"),
)


def restore(backup_file: Path, database: Path) -> RestoreResult:
    """Put ``backup_file`` in place of ``database``, unless a bot is serving it."""
    if _same_file(backup_file, database):
        raise BackupError("the backup and the database are the same file")
    found = check(backup_file)
    if not found.ok:
        why = "; ".join(found.problems[:3]) or "it is not a database of this bot"
        raise BackupError(f"{backup_file} is not a sound backup: {why}")
    with DatabaseLock(database) as lock:
        if not lock.exclusive():
            raise BackupError(
                f"a bot is running on {database} (it holds {lock.path.name}); stop it first"
            )
        previous: Path | None = None
        if database.exists():
            previous = database.with_name(
                f"{database.name}.before-restore-{datetime.now(UTC):%Y%m%d-%H%M%S}"
            )
            backup(database, previous)
        database.parent.mkdir(parents=True, exist_ok=True)
        with (
            contextlib.closing(_connect(backup_file, read_only=True)) as src,
            contextlib.closing(_connect(database)) as dst,
        ):
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=WAL")
            dst.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return RestoreResult(backup_file, previous, check(database))


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
