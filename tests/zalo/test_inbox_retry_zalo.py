"""Zalo gives an update once: one the database cannot store now (disk full, locked) is handled
again until it is stored when polling, and answered 503 (Zalo delivers it again) by the
webhook once waiting does not help, never dropped."""

from __future__ import annotations

import pytest

import zalo.webhook
from tests.db_faults import WriteFaults
from tests.zalo.conftest import ZaloBot

HANG_GUARD = 60.0


async def test_polling_retries_an_update_the_disk_could_not_take(zalo_bot: ZaloBot) -> None:
    lan = zalo_bot.user("7401", "Lan")
    faults = WriteFaults(zalo_bot.db.engine)
    faults.fail(times=3)
    try:
        zalo_bot.zalo.inject_text(lan.user_id, "/help")
        # Without the retry the message is dropped after the first refusal: no answer ever.
        await zalo_bot.zalo.wait_until(lambda: bool(lan.inbox()), HANG_GUARD)
    finally:
        faults.remove()
    assert faults.refused == 3
    assert "/start" in lan.inbox()[0]
    assert await lan.send("/whoami")  # the poller lives on (and is through with the first)
    assert zalo_bot.db.writes.ok


async def test_the_webhook_answers_503_while_the_database_refuses_then_applies_it(
    zalo_webhook: ZaloBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    bot, fake = zalo_webhook, zalo_webhook.zalo
    assert bot.runner is not None and bot.runner.webhook_url is not None
    fake.webhook["url"] = bot.runner.webhook_url  # the reverse proxy in front of the bot
    monkeypatch.setattr(zalo.webhook, "WEBHOOK_WRITE_ATTEMPTS", 2)  # give up waiting at once
    update = fake.update_for("7402", "/help")
    faults = WriteFaults(bot.db.engine)
    faults.fail(times=None, message="database is locked")
    try:
        assert await fake.deliver(update) == 503  # "not now": Zalo tries again
    finally:
        faults.clear()
        faults.remove()
    assert fake.texts_to("7402") == []
    assert await fake.deliver(update) == 200  # the redelivery goes through, once
    await fake.wait_until(lambda: bool(fake.texts_to("7402")), HANG_GUARD)
    assert "/start" in fake.texts_to("7402")[0]
