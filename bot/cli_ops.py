"""The command line's verbs for the running bot and its database: ``health`` and ``db backup |
restore | check`` (SQLite). Output is English for the operator at a terminal; the exit status
says whether it did what was asked (``health``: 0 healthy, 1 not). A backup and a restore are
written to the audit log with the actor "cli".
"""

from __future__ import annotations

import argparse
import json
import sys

from bot.settings import Settings

ACTOR = "cli"


def health(settings: Settings, args: argparse.Namespace) -> int:
    """Whether the running bot receives updates on each channel, and the database's state."""
    from bot.health import check_health

    report = check_health(settings.database_url)
    if args.json:
        print(json.dumps(report.to_json(), ensure_ascii=False, indent=2))
    else:
        print("\n".join(report.lines()))
    return 0 if report.healthy else 1


def db(settings: Settings, args: argparse.Namespace) -> int:
    """``db backup PATH``, ``db restore PATH``, ``db check [PATH]`` (SQLite only)."""
    from storage.backup import BackupError, backup, check, restore

    database = settings.sqlite_path()
    if database is None and not (args.db_command == "check" and args.path is not None):
        print(
            f"db {args.db_command} works on a SQLite database; DATABASE_URL is not one "
            "(use the database's own tools)",
            file=sys.stderr,
        )
        return 1
    try:
        if args.db_command == "backup":
            assert database is not None
            made = backup(database, args.path)
            print(
                f"{made.path}: {made.size / 1e6:.1f} MB in {made.seconds:.2f} s, "
                f"{_counts(made.check.counts)}; integrity_check ok"
            )
            _audit(settings, "db.backup", str(made.path), size=made.size)
            return 0
        if args.db_command == "restore":
            assert database is not None
            done = restore(args.path, database)
            kept = f"; the database it replaced is kept as {done.previous}" if done.previous else ""
            print(f"{database} restored from {args.path}: {_counts(done.check.counts)}{kept}")
            _audit(settings, "db.restore", str(args.path), previous=str(done.previous or ""))
            return 0 if done.check.ok else 1
        target = args.path or database
        assert target is not None
        result = check(target)
    except BackupError as error:
        print(f"db {args.db_command}: {error}", file=sys.stderr)
        return 1
    if not result.ok:
        for problem in result.problems[:50] or ["no schema: not a database of this bot"]:
            print(problem, file=sys.stderr)
        print(f"{target}: NOT sound", file=sys.stderr)
        return 1
    print(f"{target}: integrity_check ok, schema {result.revision}, {_counts(result.counts)}")
    return 0


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{value} {name}" for name, value in counts.items()) or "empty"


def _audit(settings: Settings, action: str, target: str, **details: object) -> None:
    """Note a backup or restore in the database's audit log (a failure is only said)."""
    from sqlalchemy.exc import SQLAlchemyError

    from domain.audit import record_action
    from domain.clock import SystemClock
    from storage.db import Database, make_engine

    engine = make_engine(settings.database_url)
    try:
        with Database(engine).transaction() as session:
            record_action(
                session,
                at=SystemClock().now(),
                actor=ACTOR,
                action=action,
                target=target[:200],
                **details,
            )
    except SQLAlchemyError as error:
        print(f"(not written to the audit log: {error.__class__.__name__})", file=sys.stderr)
    finally:
        engine.dispose()
