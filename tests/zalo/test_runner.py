"""``bot.zalo_runner.serve``: Telegram and Zalo in one process, started and stopped cleanly."""

from __future__ import annotations

import asyncio
from pathlib import Path

from standin.telegram import FakeTelegram
from standin.zalo import FakeZalo
from tests.zalo.conftest import serving_settings, start_serving


async def test_one_process_serves_both_channels(
    tmp_path: Path, telegram: FakeTelegram, zalo: FakeZalo
) -> None:
    stop, task = await start_serving(serving_settings(tmp_path, zalo, telegram))
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
