"""The monthly message quota, and webhook mode: a forged delivery refused, a repeated one
applied once (even after a restart)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import select

from domain.clock import FixedClock
from domain.i18n import translator_for
from storage.inbox import InboundUpdate
from storage.models import Account, FocalPoint
from storage.zalo_models import ZaloUsage
from tests.conftest import ADMIN_ID, VN
from tests.zalo.conftest import ZaloBot

VI = translator_for("vi")


async def test_quota_is_counted_and_the_office_warned_once_per_threshold(
    zalo_small_quota: ZaloBot, clock: FixedClock
) -> None:
    bot = zalo_small_quota  # ZALO_MONTHLY_MESSAGE_LIMIT=10
    admin = bot.telegram.user(ADMIN_ID, "Văn phòng")
    await admin.send("/help")
    user = bot.user("9001", "Lan")
    bot.register(user, "huyen-muong-te")
    warnings: list[str] = []
    for _ in range(7):
        await user.send("/help")
    assert [m for m in bot.telegram.telegram.messages_to(ADMIN_ID) if "Zalo" in m.plain_text] == []
    await user.send("/help")  # the 8th message: 80 %
    for _ in range(5):
        await user.send("/whoami")
    warnings = [
        m.plain_text for m in bot.telegram.telegram.messages_to(ADMIN_ID) if "Zalo" in m.plain_text
    ]
    assert len(warnings) == 2
    assert VI("⚠️ Zalo message quota") in warnings[0]
    assert (
        VI(
            "The Zalo bot has sent {sent} of its {limit} messages this month ({percent}%). "
            "When the quota runs out, focal points on Zalo stop receiving reminders and "
            "answers until next month.",
            sent=8,
            limit=10,
            percent=80,
        )
        in warnings[0]
    )
    assert "10" in warnings[1] and warnings[1] != warnings[0]
    with bot.db.transaction() as session:
        usage = session.exec(select(ZaloUsage)).one()
        assert (usage.month, usage.sent, usage.warned_percent) == ("2023-05", 13, 100)
    assert len(bot.zalo.sent) == 13  # the count is what really went out
    clock.set(datetime(2023, 6, 1, 0, 30, tzinfo=VN))  # a new month, in Vietnam's time
    await user.send("/help")
    assert bot.channel is not None
    usage_now = bot.channel.quota.usage()
    assert (usage_now.month, usage_now.sent) == ("2023-06", 1)


async def test_forged_webhook_is_refused_and_repeats_are_applied_once(
    zalo_webhook: ZaloBot,
) -> None:
    bot, fake = zalo_webhook, zalo_webhook.zalo
    assert fake.webhook["url"] == "https://vstbpn.example.vn/zalo/webhook"
    assert fake.webhook["secret_token"] == "s3cret-Webhook_token"
    assert bot.runner is not None and bot.runner.webhook_url is not None
    fake.webhook["url"] = bot.runner.webhook_url  # the reverse proxy in front of the bot
    issued = bot.services.registration.create_invite("huyen-muong-te", actor="test")
    update = fake.update_for("9100", issued.code)

    assert await fake.deliver(update, secret="not-the-secret") == 403
    assert await fake.deliver(update, secret="") == 403
    assert fake.sent == []
    with bot.db.transaction() as session:
        assert session.exec(select(Account)).all() == []
        assert session.exec(select(InboundUpdate)).all() == []

    assert await fake.deliver(update) == 200
    assert await fake.deliver(update, wrap=True) == 200  # the same message, delivered again
    assert len(fake.messages_to("9100")) == 1
    assert "Huyện Mường Tè" in fake.messages_to("9100")[0].text

    await bot.stop()  # a restart does not forget which messages were applied
    await bot.start()
    assert bot.runner is not None and bot.runner.webhook_url is not None
    fake.webhook["url"] = bot.runner.webhook_url
    assert await fake.deliver(update) == 200
    assert len(fake.messages_to("9100")) == 1
    with bot.db.transaction() as session:
        assert len(session.exec(select(FocalPoint)).all()) == 1

    help_update = fake.update_for("9100", "/help")
    assert await fake.deliver(help_update, wrap=True) == 200  # {"ok": true, "result": {...}}
    assert "/report" in fake.messages_to("9100")[-1].text
    assert fake.bad_requests == []


async def test_webhook_ignores_groups_and_answers_other_events(zalo_webhook: ZaloBot) -> None:
    bot, fake = zalo_webhook, zalo_webhook.zalo
    assert bot.runner is not None and bot.runner.webhook_url is not None
    fake.webhook["url"] = bot.runner.webhook_url
    group = fake.update_for("9200", "/help", chat_type="GROUP")
    assert await fake.deliver(group) == 200
    assert fake.sent == []
    sticker = fake.update_for("9201", None, event="message.sticker.received")
    assert await fake.deliver(sticker) == 200
    assert fake.texts_to("9201") == [VI("I can only read text messages. Please type your answer.")]
    assert await fake.deliver({"event_name": "message.text.received"}) == 200  # no message
