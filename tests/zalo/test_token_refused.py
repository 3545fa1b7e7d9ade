"""A Zalo token refused at start or mid-run: one log line without the token, the office told on
Telegram, Zalo shown as down, and a Zalo-only process exits non-zero — never a dead poller."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

import pytest

from bot.zalo_runner import serve
from domain.conversation import Reply
from domain.i18n import translator_for
from domain.reminders import DeliveryStatus, Recipient
from standin.telegram import FakeTelegram
from standin.zalo import FakeZalo
from tests.conftest import ADMIN_ID
from tests.zalo.conftest import ZALO_TOKEN, ZaloBot, serving_settings, start_serving
from zalo.client import ZaloClient, ZaloTokenError

VI = translator_for("vi")
ROOT = Path(__file__).resolve().parents[2]


def _down_notices(bot: ZaloBot) -> list[str]:
    title = VI("⚠️ Zalo is down")
    return [
        m.plain_text for m in bot.telegram.telegram.messages_to(ADMIN_ID) if title in m.plain_text
    ]


async def test_token_revoked_mid_run(zalo_bot: ZaloBot, caplog: pytest.LogCaptureFixture) -> None:
    bot, fake = zalo_bot, zalo_bot.zalo
    admin = bot.telegram.user(ADMIN_ID, "Văn phòng")
    await admin.send("/help")  # the office has written to the bot: it can be told
    lan = bot.user("7101", "Lan")
    bot.register(lan, "huyen-muong-te")
    assert bot.router.health.get("zalo") is not None and bot.router.health.is_down("zalo") is False

    caplog.set_level(logging.INFO)
    fake.revoke_token()  # reset in Zalo Bot Manager while the bot runs
    await bot.telegram.telegram.wait_until(lambda: bool(_down_notices(bot)), timeout=10)

    notice = _down_notices(bot)
    assert len(notice) == 1
    assert "401" in notice[0] and "ZALO_BOT_TOKEN" in notice[0]
    health = bot.router.health.get("zalo")
    assert health is not None and health.state == "down" and "401" in health.reason
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "Zalo refused the bot token" in errors[0].getMessage()
    ours = [r for r in caplog.records if r.name.startswith(("zalo", "bot", "domain"))]
    assert ours and all(ZALO_TOKEN not in r.getMessage() for r in ours)  # httpx is muted live

    # Nothing is tried on Zalo any more: a reminder waits (not failed), the poller is still.
    calls = len(fake.faults)
    recipient = Recipient(1, "zalo", "7101", "vi")
    delivery = await bot.router.send(recipient, Reply("Nhắc báo cáo"))
    assert delivery.status is DeliveryStatus.RETRY
    await asyncio.sleep(1.5)  # longer than a poll
    assert len(fake.faults) == calls
    assert len(_down_notices(bot)) == 1

    status = "\n".join(m.plain_text for m in await admin.send("/status"))
    down = VI("Zalo is down since {since} ({reason}): Zalo refused the bot token.")
    assert down.split("{since}")[0] in status and "(HTTP 401 on getUpdates)" in status


async def test_a_refused_send_is_the_token_and_a_blocked_person_is_not(
    zalo_bot: ZaloBot,
) -> None:
    bot, fake = zalo_bot, zalo_bot.zalo
    admin = bot.telegram.user(ADMIN_ID, "Văn phòng")
    await admin.send("/help")
    bot.user("7201", "Mai")
    fake.block_user("7201")
    blocked = await bot.router.send(Recipient(1, "zalo", "7201", "vi"), Reply("x"))
    assert blocked.status is DeliveryStatus.BLOCKED  # getMe still works: one person's choice
    assert not bot.router.health.is_down("zalo")
    assert _down_notices(bot) == []

    bot.user("7202", "Hoa")
    assert bot.channel is not None
    fake.revoke_token()
    sent = await bot.router.send(Recipient(2, "zalo", "7202", "vi"), Reply("x"))
    assert sent.status is DeliveryStatus.RETRY  # kept for when Zalo is back
    await bot.telegram.telegram.wait_until(lambda: bool(_down_notices(bot)), timeout=10)
    assert len(_down_notices(bot)) == 1
    with pytest.raises(ZaloTokenError):  # every later call fails at once
        await bot.channel.client.get_me()


async def test_refused_at_start_zalo_alone_stops_and_with_telegram_carries_on(
    tmp_path: Path, telegram: FakeTelegram, zalo: FakeZalo
) -> None:
    zalo.revoke_token()
    alone = serving_settings(tmp_path, zalo)
    with pytest.raises(ZaloTokenError):
        await asyncio.wait_for(serve(alone, asyncio.Event(), telegram=False, poll_timeout=1), 15)

    stop, task = await start_serving(serving_settings(tmp_path, zalo, telegram))
    telegram.add_user(501, "Lan")
    telegram.inject_message(501, "/help")
    await telegram.wait_until(lambda: bool(telegram.messages_to(501)), timeout=10)
    assert not task.done()  # Telegram still serves
    stop.set()
    await asyncio.wait_for(task, 15)


async def test_python_m_bot_zalo_exits_non_zero_when_the_token_is_revoked(
    tmp_path: Path, zalo: FakeZalo
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "ZALO_", "BOT_"))},
        "ZALO_BOT_TOKEN": ZALO_TOKEN,
        "ZALO_API_BASE_URL": zalo.url,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.sqlite3'}",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "zalo",
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        await zalo.wait_until(lambda: zalo.calls["deleteWebhook"] > 0, timeout=30)  # polling
        zalo.revoke_token()
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    output = stderr.decode()
    assert process.returncode == 2
    assert ZALO_TOKEN not in output and ZALO_TOKEN.partition(":")[2] not in output
    assert output.count("Zalo refused the bot token") == 1  # the one log line
    assert "configuration error: Zalo refused the bot" in output.splitlines()[-1]


async def test_client_refusal_hook_runs_once(zalo: FakeZalo) -> None:
    seen: list[ZaloTokenError] = []

    async def hook(error: ZaloTokenError) -> None:
        seen.append(error)

    async with ZaloClient(ZALO_TOKEN, base_url=zalo.url, on_refused=hook) as client:
        zalo.revoke_token()
        results = await asyncio.gather(
            client.get_me(), client.get_updates(timeout=1), return_exceptions=True
        )
        assert all(isinstance(result, ZaloTokenError) for result in results)
        waited = await asyncio.wait_for(client.wait_refused(), 1)
        assert waited.status == 401
    assert len(seen) == 1 and seen[0].status == 401
