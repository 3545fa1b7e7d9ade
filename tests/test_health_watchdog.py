"""A loop that never dies silently: the watchdog restarts a stopped update loop or the process
exits non-zero, and ``python -m bot health`` (and ``/healthz``) say what is running.

The bot runs as ``python -m bot run`` runs it (``bot.zalo_runner.serve``), against the
Telegram stand-in; a 401 on ``getUpdates`` ends python-telegram-bot's polling task for good,
the way a revoked token or any unexpected error does.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

import bot.watchdog
from bot.cli import main
from bot.settings import Settings
from bot.supervision import UpdateLoopError, polling_task
from bot.zalo_runner import serve
from standin.telegram import FakeTelegram
from storage.db import head_revision
from tests.db_faults import WriteFaults
from tests.harness import TOKEN, BotHarness, make_settings
from tests.test_webhook import SECRET, _update

ROOT = Path(__file__).resolve().parent.parent
USER = 1001
HANG_GUARD = 60.0
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


@pytest.fixture(autouse=True)
def _no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    """Restart at once (the pause between restarts is for production)."""
    monkeypatch.setattr(bot.watchdog, "FIRST_PAUSE", 0.0)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def serving(settings: Settings, **options: Any) -> AsyncIterator[asyncio.Task[None]]:
    """Run ``serve`` until it is ready; stop it on the way out (its task is yielded)."""
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve(settings, stop, poll_timeout=1, on_ready=ready.set, **options))
    waiting = asyncio.ensure_future(ready.wait())
    await asyncio.wait({task, waiting}, return_when=asyncio.FIRST_COMPLETED, timeout=HANG_GUARD)
    waiting.cancel()
    if task.done():
        task.result()  # it could not start: say why
    try:
        yield task
    finally:
        stop.set()
        if not task.done():
            await asyncio.wait_for(task, HANG_GUARD)


def _health(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], settings: Settings
) -> tuple[int, dict[str, Any]]:
    """``python -m bot health --json`` in this process: exit status and report."""
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    capsys.readouterr()
    code = main(["health", "--json"])
    return code, json.loads(capsys.readouterr().out)


async def _answered(telegram: FakeTelegram, text: str) -> str:
    """Send ``text`` as the user; the bot's reply (the update loop must be alive for it)."""
    before = len(telegram.messages_to(USER))
    telegram.inject_message(USER, text)
    await telegram.wait_until(lambda: len(telegram.messages_to(USER)) > before, HANG_GUARD)
    return telegram.messages_to(USER)[before].plain_text


async def test_health_without_a_running_bot_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = make_settings(tmp_path)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    assert main(["units", "list"]) == 0  # a database, but no bot
    code, report = _health(monkeypatch, capsys, settings)
    assert code == 1
    assert report["healthy"] is False
    assert report["problems"] == ["no bot process is running on this database"]
    assert report["database"]["ok"] is True


async def test_health_of_a_polling_bot_then_its_loop_killed_and_restarted(
    tmp_path: Path,
    telegram: FakeTelegram,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    telegram.add_user(USER, "Mai")
    settings = make_settings(tmp_path, TELEGRAM_API_BASE_URL=telegram.base_url)
    async with serving(settings):
        code, report = _health(monkeypatch, capsys, settings)
        assert code == 0, report
        channel = report["channels"]["telegram"]
        assert (channel["mode"], channel["up"], channel["last_update_at"]) == (
            "polling",
            True,
            None,
        )
        assert report["process"]["pid"] == os.getpid()
        # The running bot holds its database: a backup is taken, a restore refused.
        backup = tmp_path / "backup.sqlite3"
        assert main(["db", "backup", str(backup)]) == 0
        assert main(["db", "restore", str(backup)]) == 1
        assert "a bot is running on" in capsys.readouterr().err

        assert await _answered(telegram, "/whoami")
        # Telegram refuses one poll: PTB's polling task ends for good on InvalidToken.
        telegram.inject_fault("getUpdates", status=401, times=1)
        await telegram.wait_until(lambda: ("getUpdates", 401, "Unauthorized") in telegram.faults)
        # Without the watchdog nothing would poll again and this would never be answered.
        reply = await _answered(telegram, "/help")
        assert "/start" in reply
        code, report = _health(monkeypatch, capsys, settings)
        assert code == 0, report
        channel = report["channels"]["telegram"]
        assert channel["up"] is True and channel["restarts"] == 1
        assert channel["last_update_at"] is not None
        capsys.readouterr()
        assert main(["health"]) == 0
        text = capsys.readouterr().out
        assert text.startswith("healthy")
        assert "telegram: polling, last update" in text and "restarted 1 times" in text
    # Stopped on purpose: no process, no heartbeat left behind.
    code, report = _health(monkeypatch, capsys, settings)
    assert code == 1 and report["problems"] == ["no bot process is running on this database"]


async def test_a_loop_that_keeps_stopping_ends_the_process_with_a_status(
    tmp_path: Path, telegram: FakeTelegram
) -> None:
    telegram.add_user(USER, "Mai")
    settings = make_settings(tmp_path, TELEGRAM_API_BASE_URL=telegram.base_url)
    async with serving(settings) as task:
        telegram.inject_fault("getUpdates", status=401, times=None)  # the token was revoked
        with pytest.raises(UpdateLoopError) as gave_up:
            await asyncio.wait_for(task, HANG_GUARD)
    assert gave_up.value.gave_up.loop == "telegram"
    assert gave_up.value.gave_up.status == 2  # the token: a configuration problem
    assert telegram.calls["getUpdates"] >= 4  # the first run and three restarts


async def test_the_process_exits_non_zero_when_polling_cannot_be_restarted(
    tmp_path: Path, telegram: FakeTelegram
) -> None:
    """``python -m bot run`` as a process: a supervisor sees the exit status, not an idler."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT),
        "NO_PROXY": "127.0.0.1",
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": telegram.base_url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.sqlite3'}",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await telegram.wait_until(lambda: telegram.calls["getUpdates"] > 0, HANG_GUARD)
        telegram.inject_fault("getUpdates", status=401, times=None)
        _out, err = await asyncio.wait_for(process.communicate(), HANG_GUARD)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 2
    last = err.decode().strip().splitlines()[-1]
    assert last.startswith("error: telegram kept stopping (InvalidToken")
    assert TOKEN.split(":")[1] not in err.decode()


async def test_healthz_in_telegram_webhook_mode_and_writes_that_fail(
    tmp_path: Path, telegram: FakeTelegram
) -> None:
    health_port, webhook_port = free_port(), free_port()
    webhook = f"http://127.0.0.1:{webhook_port}/telegram"
    settings = make_settings(
        tmp_path,
        TELEGRAM_API_BASE_URL=telegram.base_url,
        TELEGRAM_WEBHOOK_URL=webhook,
        TELEGRAM_WEBHOOK_SECRET=SECRET,
        TELEGRAM_WEBHOOK_LISTEN=f"127.0.0.1:{webhook_port}",
        BOT_FILES_LISTEN=f"127.0.0.1:{health_port}",
    )
    telegram.add_user(USER, "Mai")
    healthz = f"http://127.0.0.1:{health_port}/healthz"
    async with (
        serving(settings, telegram_webhook=True),
        httpx.AsyncClient(trust_env=False, timeout=HANG_GUARD) as http,
    ):
        answer = await http.get(healthz)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["healthy"] is True
        assert body["channels"]["telegram"]["mode"] == "webhook"
        assert body["channels"]["telegram"]["up"] is True
        assert body["database"] == {
            "ok": True,
            "revision": head_revision(),
            "expected": head_revision(),
            "detail": "",
            "writes": {"ok": True, "failing_since": None, "error": ""},
        }

        # The disk is full: the update is held (Telegram is not told it arrived) and retried.
        faults = WriteFaults(settings.database_url)
        faults.fail(times=None)
        posted = asyncio.ensure_future(
            http.post(webhook, json=_update(7, "/help"), headers={SECRET_HEADER: SECRET})
        )
        await faults.first_refusal.wait()
        sick = await http.get(healthz)
        assert sick.status_code == 503
        problems = sick.json()["problems"]
        assert problems == ["database writes are failing: database or disk is full"]
        faults.clear()  # space freed: the held update goes through and is answered
        assert (await posted).status_code == 200
        await telegram.wait_until(lambda: bool(telegram.messages_to(USER)), HANG_GUARD)
        assert (await http.get(healthz)).status_code == 200
        faults.remove()


async def test_polling_task_is_found_in_ptb(harness: BotHarness) -> None:
    """The watchdog reads PTB's private polling task: a PTB upgrade that renames it fails here."""
    assert harness.application is not None and harness.application.updater is not None
    task = polling_task(harness.application.updater)
    assert task is not None and not task.done()
