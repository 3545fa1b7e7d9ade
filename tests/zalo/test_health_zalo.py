"""Health on the Zalo side: ``/healthz`` on the Zalo webhook server, the Zalo poller
restarted when it ends, and a token Zalo refused shown as "not receiving" (not restarted)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

import bot.watchdog
from bot.supervision import Supervisor
from standin.telegram import FakeTelegram
from standin.zalo import FakeZalo
from tests.harness import make_settings
from tests.test_health_watchdog import HANG_GUARD, free_port, serving
from tests.zalo.conftest import ZALO_TOKEN, ZaloBot


@pytest.fixture(autouse=True)
def _no_pause(monkeypatch: pytest.MonkeyPatch) -> None:
    """Restart at once (the pause between restarts is for production)."""
    monkeypatch.setattr(bot.watchdog, "FIRST_PAUSE", 0.0)


async def test_zalo_webhook_serves_healthz_too(
    tmp_path: Path, telegram: FakeTelegram, zalo: FakeZalo
) -> None:
    port = free_port()
    settings = make_settings(
        tmp_path,
        TELEGRAM_API_BASE_URL=telegram.base_url,
        ZALO_BOT_TOKEN=ZALO_TOKEN,
        ZALO_API_BASE_URL=zalo.url,
        ZALO_WEBHOOK_URL="https://vstbpn.example.vn/zalo/webhook",
        ZALO_WEBHOOK_SECRET="s3cret-Webhook_token",
        ZALO_WEBHOOK_LISTEN=f"127.0.0.1:{port}",
        BOT_FILES_LISTEN="127.0.0.1:0",
    )
    async with serving(settings), httpx.AsyncClient(trust_env=False) as http:
        answer = await http.get(f"http://127.0.0.1:{port}/healthz")
        assert answer.status_code == 200, answer.text
        channels = answer.json()["channels"]
        assert channels["zalo"] == {
            "mode": "webhook",
            "up": True,
            "detail": "",
            "last_update_at": None,
            "restarts": 0,
        }
        assert channels["telegram"]["mode"] == "polling" and channels["telegram"]["up"] is True


async def test_zalo_polling_restarted_and_a_refused_token_shown(zalo_bot: ZaloBot) -> None:
    """The Zalo poller: one that ended is restarted; one Zalo refused stays down, and says so."""
    bot = zalo_bot
    assert bot.runner is not None
    supervisor = Supervisor(bot.telegram.settings, bot.services, None)
    supervisor.zalo(bot.runner)
    await supervisor.start()
    try:
        assert supervisor.report().healthy, supervisor.report().problems
        watchdog = supervisor.watchdog
        assert watchdog is not None
        first = bot.runner.polling_task
        assert first is not None
        first.cancel()  # the loop ends (a bug, a stray cancellation)
        await asyncio.wait_for(watchdog.restarted.wait(), HANG_GUARD)
        assert bot.runner.polling_task is not first
        lan = bot.user("7101", "Lan")
        assert await lan.send("/help")  # answered: someone polls again
        state = supervisor.report().to_json()["channels"]["zalo"]
        assert state["up"] is True and state["restarts"] == 1
        assert state["last_update_at"] is not None

        bot.zalo.revoke_token()  # reset in Zalo Bot Manager
        polling = bot.runner.polling_task
        assert polling is not None
        await asyncio.wait_for(asyncio.wait({polling}), HANG_GUARD)
        report = supervisor.report()
        assert not report.healthy
        assert report.problems == ["zalo is not receiving updates (Zalo refused the bot token)"]
        assert bot.runner.polling_task is polling  # not restarted: it cannot help
    finally:
        await supervisor.stop()
