"""Webhook mode: Telegram's secret header is required; a request without it changes nothing."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx

from bot.app import build_application, stop_polling
from domain.clock import FixedClock
from standin.telegram import FakeTelegram
from tests.harness import BotHarness, make_settings

ROOT = Path(__file__).resolve().parent.parent
SECRET = "s3cret-header-value-0123456789"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _update(update_id: int, text: str) -> dict[str, object]:
    user = {"id": 1001, "is_bot": False, "first_name": "Mai"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 0,
            "text": text,
            "from": user,
            "chat": {"id": 1001, "type": "private", "first_name": "Mai"},
            "entities": [{"type": "bot_command", "offset": 0, "length": len(text)}],
        },
    }


async def test_webhook_requires_the_secret_token(
    tmp_path: Path, clock: FixedClock, telegram: FakeTelegram
) -> None:
    port = _free_port()
    url = f"http://127.0.0.1:{port}/telegram"
    settings = make_settings(
        tmp_path,
        TELEGRAM_API_BASE_URL=telegram.base_url,
        TELEGRAM_WEBHOOK_URL=url,
        TELEGRAM_WEBHOOK_SECRET=SECRET,
    )
    harness = BotHarness(settings, clock, telegram)
    telegram.add_user(1001, "Mai")
    application = build_application(settings, harness.services, run_scheduler=False)
    await application.initialize()
    assert application.post_init is not None
    await application.post_init(application)
    await application.start()
    assert application.updater is not None
    await application.updater.start_webhook(
        listen="127.0.0.1",
        port=port,
        url_path="telegram",
        webhook_url=url,
        secret_token=settings.telegram_webhook_secret.get_secret_value(),  # type: ignore[union-attr]
    )
    try:
        async with httpx.AsyncClient(trust_env=False) as client:
            bare = await client.post(url, json=_update(1, "/help"))
            forged = await client.post(
                url, json=_update(2, "/help"), headers={"X-Telegram-Bot-Api-Secret-Token": "guess"}
            )
            assert bare.status_code == 403
            assert forged.status_code == 403
            sent_before = len(telegram.messages_to(1001))
            ok = await client.post(
                url, json=_update(3, "/help"), headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
            )
            assert ok.status_code == 200
        await telegram.wait_until(lambda: len(telegram.messages_to(1001)) > sent_before)
        assert sent_before == 0  # the refused requests produced nothing
        assert "Anh/chị có thể dùng các lệnh sau" in telegram.messages_to(1001)[-1].plain_text
    finally:
        await stop_polling(application)
        harness.db.engine.dispose()


def test_webhook_mode_refuses_to_start_without_a_secret(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "TELEGRAM_BOT_TOKEN": "123:SECRETTOKEN",
        "TELEGRAM_WEBHOOK_URL": "https://bot.example.org/telegram",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'w.sqlite3'}",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--webhook"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "TELEGRAM_WEBHOOK_SECRET" in result.stderr
    assert "SECRETTOKEN" not in result.stderr + result.stdout
    env["TELEGRAM_WEBHOOK_SECRET"] = "short"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run", "--webhook"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("configuration error: TELEGRAM_WEBHOOK_SECRET")
