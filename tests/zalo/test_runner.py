"""``bot.zalo_runner.serve``: Telegram and Zalo in one process, started and stopped cleanly."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.zalo_runner import serve
from standin.telegram import FakeTelegram
from standin.zalo import FakeZalo
from tests.harness import make_settings
from tests.zalo.conftest import ZALO_TOKEN


async def test_one_process_serves_both_channels(
    tmp_path: Path, telegram: FakeTelegram, zalo: FakeZalo
) -> None:
    settings = make_settings(
        tmp_path,
        TELEGRAM_API_BASE_URL=telegram.base_url,
        ZALO_BOT_TOKEN=ZALO_TOKEN,
        ZALO_API_BASE_URL=zalo.url,
    )
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve(settings, stop, poll_timeout=1, on_ready=ready.set))
    await asyncio.wait_for(ready.wait(), 10)
    assert zalo.calls["deleteWebhook"] == 1  # polling mode
    telegram.add_user(501, "Lan")
    telegram.inject_message(501, "/help")
    zalo.inject_text("601", "/help")
    await telegram.wait_until(lambda: bool(telegram.messages_to(501)), timeout=10)
    await zalo.wait_until(lambda: bool(zalo.messages_to("601")), timeout=10)
    assert "/report" not in zalo.messages_to("601")[0].text  # not registered yet
    stop.set()
    await asyncio.wait_for(task, 15)
    assert zalo.bad_requests == [] and telegram.bad_requests == []
