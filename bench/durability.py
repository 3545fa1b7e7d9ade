"""What ``synchronous=FULL`` costs: SQLite commits and the form benchmark, FULL against NORMAL.

In WAL mode ``NORMAL`` syncs the disk only at checkpoints, so a power cut may take the last
commits (an update the bot already confirmed to Telegram) with it; ``FULL`` syncs the WAL at
every commit. Two measures, the settings interleaved because the machine is shared:

1. a bare commit (one small INSERT in its own transaction, as the inbox writes each update)
   on a file in the system's temporary folder: microseconds per commit;
2. ``bench.forms`` (N focal points fill the 6-month report through the real Application,
   rate limiter off): answers per second and reply latency, each setting ``--rounds`` times.

    python -m bench.durability [--users 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import storage.db
from bench import forms
from bench.common import Figure

NAME = "durability"
LEVELS = ("NORMAL", "FULL")


def commit_cost(level: str, commits: int = 300) -> float:
    """Microseconds per one-row commit at ``synchronous=level`` (WAL), on the temp folder."""
    with tempfile.TemporaryDirectory() as tmp:
        connection = sqlite3.connect(Path(tmp) / "c.sqlite3", isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(f"PRAGMA synchronous={level}")
        connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, payload TEXT)")
        started = time.perf_counter()
        for _ in range(commits):
            connection.execute("BEGIN")
            connection.execute("INSERT INTO t (payload) VALUES (?)", ("x" * 400,))
            connection.execute("COMMIT")
        elapsed = time.perf_counter() - started
        connection.close()
    return elapsed / commits * 1e6


def form_run(level: str, users: int) -> forms.Run:
    storage.db.DEFAULT_SYNCHRONOUS = level
    try:
        run, _script = asyncio.run(forms.run_form_bot(users, limiter=False))
    finally:
        storage.db.DEFAULT_SYNCHRONOUS = "FULL"
    return run


def run(*, quick: bool = False, users: int = 10, rounds: int = 3) -> list[Figure]:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if quick:
        rounds = 1
    commits: dict[str, list[float]] = {level: [] for level in LEVELS}
    runs: dict[str, list[forms.Run]] = {level: [] for level in LEVELS}
    for round_no in range(rounds):
        for level in LEVELS if round_no % 2 == 0 else reversed(LEVELS):
            commits[level].append(commit_cost(level))
            print(f"durability: {level}, commit {commits[level][-1]:.0f} µs", flush=True)
            runs[level].append(form_run(level, users))
            print(f"  {level:6} {runs[level][-1].line()}", flush=True)
    figures: list[Figure] = []
    for level in LEVELS:
        done = runs[level]
        figures += [
            Figure(NAME, f"{level}: one commit", statistics.median(commits[level]), "µs"),
            Figure(
                NAME,
                f"{level}: form bot, {users} users, answers/s",
                statistics.median(r.per_second for r in done),
                "/s",
            ),
            Figure(NAME, f"{level}: reply p50", statistics.median(r.ms(50) for r in done), "ms"),
            Figure(NAME, f"{level}: reply p95", statistics.median(r.ms(95) for r in done), "ms"),
        ]
    return figures


if __name__ == "__main__":
    from bench.common import render_table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    arguments = parser.parse_args()
    print(render_table(run(users=arguments.users, rounds=arguments.rounds)))
