"""Cold start to the first reply, and resident memory, with 10,000 units and 300,000 answers.

Two processes, as in production: the Bot API stand-in (``python -m standin``) and the bot
(``python -m bench.botproc TIME run``: ``python -m bot run`` with its clock set to a known day).
A focal point's ``/start`` is waiting in the stand-in's queue when the bot process is spawned;
the figure is the time from spawning it to the reply reaching the stand-in (polled every
5 ms through its control API). The resident memory (VmRSS from /proc) is read then, and again
after the office has run ``/status`` and ``/export`` on the 10,000 units (with VmHWM, the peak).

Variants: a quiet day (no reminder due: the main figure), the same data on a day a reminder
to the units still missing is due (the scheduler's first tick composes it as the bot starts),
and a first start on an empty database (migrations and the units catalogue).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import httpx

from bench.common import ROOT, Figure
from bench.data import CAMPAIGN_NOW, QUIET_NOW, TOKEN, build_campaign

NAME = "startup"
ADMIN_ID = 1
POLL_S = 0.005
GOAL_S = 1.5
GOAL_MB = 150.0


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """A process's resident memory (``VmRSS``) or its peak (``VmHWM``), in MB (10^6 bytes)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024 / 1e6
    raise LookupError(field)


class Standin:
    """The Bot API stand-in in its own process, driven through its control API."""

    def __init__(self, user_ids: list[int], log: IO[bytes]) -> None:
        args = [sys.executable, "-m", "standin", "--port", "0", "--token", TOKEN]
        args += ["--user", f"{ADMIN_ID}:Văn phòng"]
        for user_id in user_ids:
            args += ["--user", str(user_id)]
        self.process = subprocess.Popen(
            args, cwd=ROOT, stdout=subprocess.PIPE, stderr=log, env=_environment()
        )
        assert self.process.stdout is not None
        first = self.process.stdout.readline().decode()
        self.url = first.rsplit(" ", 1)[-1].strip()
        if not self.url.startswith("http"):
            raise RuntimeError(f"the stand-in did not start: {first!r}")
        self.client = httpx.Client(base_url=self.url, trust_env=False, timeout=30)
        self.seen = 0

    def inject(self, user_id: int, text: str) -> None:
        response = self.client.post("/_standin/messages", json={"user_id": user_id, "text": text})
        response.raise_for_status()

    def sent_count(self) -> int:
        return int(self.client.get("/_standin/state").json()["result"]["sent"])

    def wait_for(self, chat_id: int, method: str | None, timeout: float) -> float | None:
        """Poll until the bot sends ``method`` (any, if None) to ``chat_id``; when it was seen."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if self.sent_count() > self.seen:
                sent: list[dict[str, Any]] = self.client.get(
                    "/_standin/sent", params={"since": self.seen}
                ).json()["result"]
                self.seen += len(sent)
                if any(m["chat_id"] == chat_id and method in (None, m["method"]) for m in sent):
                    return time.perf_counter()
            time.sleep(POLL_S)
        return None

    def stop(self) -> None:
        self.client.close()
        self.process.terminate()
        self.process.wait(10)


def _environment(**values: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("TELEGRAM_", "BOT_", "DATABASE_URL", "ZALO_"))
    }
    env.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    env["PYTHONPATH"] = str(ROOT)
    env.update(values)
    return env


@dataclass
class Start:
    seconds: float | None  # None: no reply within the timeout
    rss_mb: float | None
    after_mb: float | None = None  # after /status and /export
    peak_mb: float | None = None
    office_seconds: float | None = None


def start_once(
    standin: Standin,
    database: Path,
    clock: datetime,
    user_id: int,
    work: Path,
    *,
    timeout: float,
    office: bool = False,
) -> Start:
    """Spawn the bot with ``/start`` waiting; time the reply; read its memory; stop it."""
    env = _environment(
        TELEGRAM_BOT_TOKEN=TOKEN,
        TELEGRAM_API_BASE_URL=f"{standin.url}/bot",
        DATABASE_URL=f"sqlite:///{database}",
        BOT_ADMIN_IDS=str(ADMIN_ID),
    )
    standin.seen = standin.sent_count()
    standin.inject(user_id, "/start")
    with (work / "bot.log").open("ab") as log:
        started = time.perf_counter()
        bot = subprocess.Popen(
            [sys.executable, "-m", "bench.botproc", clock.isoformat(), "run"],
            cwd=work,
            env=env,
            stdout=log,
            stderr=log,
        )
        try:
            replied = standin.wait_for(user_id, "sendMessage", timeout)
            if replied is None:
                return Start(None, rss_mb(bot.pid))
            result = Start(replied - started, rss_mb(bot.pid))
            if office:
                began = time.perf_counter()
                standin.inject(ADMIN_ID, f"/status six_month:{CAMPAIGN_NOW.year}")
                done = standin.wait_for(ADMIN_ID, "sendPhoto", timeout)
                standin.inject(ADMIN_ID, f"/export six_month:{CAMPAIGN_NOW.year}")
                done = done and standin.wait_for(ADMIN_ID, "sendDocument", timeout)
                if done:
                    result.office_seconds = done - began
                    result.after_mb = rss_mb(bot.pid)
                result.peak_mb = rss_mb(bot.pid, "VmHWM")
            return result
        finally:
            bot.terminate()
            try:
                bot.wait(15)
            except subprocess.TimeoutExpired:
                bot.kill()
                bot.wait()


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if len(known) == len(values) and known else None


def run(*, quick: bool = False) -> list[Figure]:
    units, answers = (300, 9_000) if quick else (10_000, 300_000)
    repeat = 1 if quick else 3
    label = f"{units:,} units, {answers:,} answers"
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        database = work / "startup.sqlite3"
        print(f"startup: {label}", flush=True)
        campaign = build_campaign(database, units, answers_total=answers)
        user_ids = [unit.user_id for unit in campaign.units]
        campaign.db.engine.dispose()
        size = sum(p.stat().st_size for p in work.glob("startup.sqlite3*")) / 1e6
        print(f"  data: {campaign.answers:,} answers, {size:.0f} MB on disk", flush=True)
        with (work / "standin.log").open("ab") as log:
            standin = Standin(user_ids, log)
            try:
                quiet = [
                    start_once(
                        standin,
                        database,
                        QUIET_NOW,
                        user_ids[0],
                        work,
                        timeout=60,
                        office=(n == repeat - 1),
                    )
                    for n in range(repeat)
                ]
                print(f"  quiet day: {[json.dumps(vars(s)) for s in quiet]}", flush=True)
                seconds = _median([s.seconds for s in quiet])
                rss = _median([s.rss_mb for s in quiet])
                last = quiet[-1]
                figures += [
                    Figure(
                        NAME,
                        f"cold start to first reply, {label}",
                        seconds,
                        "s",
                        "≤ 1.5 s",
                        seconds is not None and seconds <= GOAL_S,
                        f"median of {repeat}" if seconds is not None else "no reply",
                    ),
                    Figure(
                        NAME,
                        "RSS at first reply",
                        rss,
                        "MB",
                        "≤ 150 MB",
                        rss is not None and rss <= GOAL_MB,
                    ),
                    Figure(
                        NAME,
                        "RSS after /status and /export",
                        last.after_mb,
                        "MB",
                        "≤ 150 MB",
                        last.after_mb is not None and last.after_mb <= GOAL_MB,
                        f"peak (VmHWM) {last.peak_mb:.0f} MB; took {last.office_seconds:.1f} s"
                        if last.after_mb is not None and last.office_seconds is not None
                        else "no answer within 60 s",
                    ),
                ]
                due = start_once(standin, database, CAMPAIGN_NOW, user_ids[1], work, timeout=120)
                print(f"  reminder day: {json.dumps(vars(due))}", flush=True)
                figures.append(
                    Figure(
                        NAME,
                        "cold start, a reminder due at start (29/5/2023)",
                        due.seconds,
                        "s",
                        "≤ 1.5 s",
                        due.seconds is not None and due.seconds <= GOAL_S,
                        "the first tick composes 'before_7'"
                        if due.seconds is not None
                        else "no reply within 120 s",
                    )
                )
            finally:
                standin.stop()
            fresh: list[Start] = []
            standin = Standin([], log)
            try:
                for n in range(repeat):
                    fresh.append(
                        start_once(
                            standin,
                            work / f"fresh{n}.sqlite3",
                            QUIET_NOW,
                            ADMIN_ID,
                            work,
                            timeout=60,
                        )
                    )
            finally:
                standin.stop()
            seconds = _median([s.seconds for s in fresh])
            figures.append(
                Figure(
                    NAME,
                    "cold start, first start on an empty database",
                    seconds,
                    "s",
                    note="migrations + catalogue import; RSS "
                    f"{_median([s.rss_mb for s in fresh]) or 0:.0f} MB",
                )
            )
    return figures


if __name__ == "__main__":
    import argparse

    from bench.common import render_table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    print(render_table(run(quick=parser.parse_args().quick)))
