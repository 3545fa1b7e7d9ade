"""The monthly message quota (warnings once each across restarts, reminders held to next month
past it), and webhook mode: a forged delivery refused, a repeated one applied once (even after
a restart)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import select

from domain.clock import FixedClock
from domain.i18n import translator_for
from storage.inbox import InboundUpdate
from storage.models import Account, FocalPoint, ReminderDelivery
from storage.zalo_models import ZaloUsage
from tests.conftest import ADMIN_ID, VN
from tests.zalo.conftest import ZaloBot

VI = translator_for("vi")


def _quota_warnings(bot: ZaloBot) -> list[str]:
    title = VI("⚠️ Zalo message quota")
    return [
        m.plain_text for m in bot.telegram.telegram.messages_to(ADMIN_ID) if title in m.plain_text
    ]


async def test_quota_warnings_go_out_once_each_across_restarts(
    zalo_small_quota: ZaloBot, clock: FixedClock
) -> None:
    bot = zalo_small_quota  # ZALO_MONTHLY_MESSAGE_LIMIT=10
    admin = bot.telegram.user(ADMIN_ID, "Văn phòng")
    await admin.send("/help")
    user = bot.user("9001", "Lan")
    bot.register(user, "huyen-muong-te")
    for _ in range(7):
        await user.send("/help")
    assert _quota_warnings(bot) == []
    await user.send("/help")  # the 8th message: 80 %
    assert _quota_warnings(bot) == [
        VI("⚠️ Zalo message quota")
        + "\n"
        + VI(
            "The Zalo bot has sent {sent} of its {limit} messages this month ({percent}%). "
            "When the quota runs out, focal points on Zalo stop receiving reminders and "
            "answers until next month.",
            sent=8,
            limit=10,
            percent=80,
        )
    ]
    await bot.restart()  # the 80 % warning is in the ledger: not given again
    await user.send("/whoami")
    assert len(_quota_warnings(bot)) == 1
    await user.send("/whoami")  # the 10th message: 100 %
    warnings = _quota_warnings(bot)
    assert len(warnings) == 2
    assert (
        VI(
            "The Zalo bot has sent {sent} messages this month, its whole quota of {limit}. "
            "Zalo may refuse further messages until next month: reminders to focal points on "
            "Zalo wait until the first working day of next month, and answers may not reach "
            "them. Please call them, or upgrade the Zalo plan.",
            sent=10,
            limit=10,
        )
        in warnings[1]
    )
    await bot.restart()
    for _ in range(3):
        await user.send("/help")  # past 100 %: people who write still get answers
    assert len(_quota_warnings(bot)) == 2  # each warning exactly once
    with bot.db.transaction() as session:
        usage = session.exec(select(ZaloUsage)).one()
        assert (usage.month, usage.sent) == ("2023-05", 13)
        ledger = session.exec(
            select(ReminderDelivery).where(ReminderDelivery.period_key == "zalo_quota:2023-05")
        ).all()
        assert sorted((row.step, row.status) for row in ledger) == [("100", "sent"), ("80", "sent")]
    assert len(bot.zalo.sent) == 13  # the count is what really went out
    clock.set(datetime(2023, 6, 1, 0, 30, tzinfo=VN))  # a new month, in Vietnam's time
    await user.send("/help")
    assert bot.channel is not None
    usage_now = bot.channel.quota.usage()
    assert (usage_now.month, usage_now.sent) == ("2023-06", 1)


async def test_a_warning_the_office_could_not_get_is_given_later_not_lost(
    zalo_small_quota: ZaloBot, clock: FixedClock
) -> None:
    bot = zalo_small_quota
    admin = bot.telegram.user(ADMIN_ID, "Văn phòng")
    await admin.send("/help")
    user = bot.user("9002", "Mai")
    bot.register(user, "huyen-muong-te")
    assert bot.channel is not None
    bot.channel.quota.record(9)  # messages sent earlier this month
    bot.telegram.telegram.inject_fault("sendMessage", status=502, times=10)  # Telegram falters
    await user.send("/help")  # the 10th message: 100 %, but the office cannot be told now
    assert _quota_warnings(bot) == []
    bot.telegram.telegram.clear_faults()
    await user.send("/help")
    assert _quota_warnings(bot) == []  # not tried again at every message...
    clock.advance(timedelta(minutes=2))
    await user.send("/help")  # ...but a minute later
    assert len(_quota_warnings(bot)) == 1
    await bot.restart()
    await user.send("/help")
    assert len(_quota_warnings(bot)) == 1


async def test_past_the_quota_reminders_wait_for_next_months_first_working_day(
    zalo_small_quota: ZaloBot, clock: FixedClock
) -> None:
    bot = zalo_small_quota
    await _spend_the_quota_before_a_reminder(bot, clock)
    assert bot.channel is not None
    calls = bot.zalo.calls["sendMessage"]
    for _ in range(5):  # the reminder job ticks every minute: nothing is tried again
        clock.advance(timedelta(minutes=1))
        later = await bot.run_reminders()
        assert (later.sent, later.failed, later.deferred) == (0, 0, 0)
    clock.set(datetime(2023, 5, 31, 16, 0, tzinfo=VN))
    await bot.run_reminders()
    assert bot.zalo.calls["sendMessage"] == calls and bot.zalo.texts_to("9003") == []

    resumes = datetime(2023, 6, 1, 8, 0, tzinfo=VN)  # Thursday: June's first working day
    status = bot.channel.quota.status()
    assert status.exhausted and status.resumes_at == resumes
    assert (status.usage.sent, status.usage.limit) == (10, 10)
    held = bot.services.reminders.deferred_reminders()
    assert held.count == 1 and held.until == resumes
    admin = bot.telegram.user(ADMIN_ID, "Văn phòng")
    shown = "\n".join(m.plain_text for m in await admin.send("/status"))
    vi = translator_for("vi", VN)
    spent = "The quota is spent: {count} reminders to Zalo wait until {when}."
    assert vi(spent, count=1, when=vi.datetime(resumes)) in shown

    clock.set(resumes)
    june = await bot.run_reminders()
    texts = bot.zalo.texts_to("9003")
    assert june.sent == 2 and len(texts) == 2
    assert any(VI("⏰ Reminder") in text for text in texts)  # the deferred report reminder
    assert any(VI("📣 Action month") in text for text in texts)  # today's own step
    assert bot.services.reminders.deferred_reminders().count == 0
    assert not bot.channel.quota.status().exhausted
    clock.advance(timedelta(minutes=1))
    assert (await bot.run_reminders()).sent == 0  # sent once


async def test_a_deferred_reminder_a_later_one_replaced_is_dropped(
    zalo_small_quota: ZaloBot, clock: FixedClock
) -> None:
    bot = zalo_small_quota
    await _spend_the_quota_before_a_reminder(bot, clock)
    clock.set(datetime(2023, 6, 2, 8, 30, tzinfo=VN))  # the bot was off on 1 June
    resumed = await bot.run_reminders()
    assert "six_month:2023/last_day" in resumed.steps  # "last day" replaces "7 days left"
    texts = bot.zalo.texts_to("9003")
    assert len([text for text in texts if VI("⏰ Reminder") in text]) == 1
    with bot.db.transaction() as session:
        old = session.exec(
            select(ReminderDelivery).where(ReminderDelivery.step == "before_7")
        ).one()
        assert (old.status, old.error) == ("failed", "superseded by a later reminder")
    assert bot.services.reminders.deferred_reminders().count == 0


async def _spend_the_quota_before_a_reminder(bot: ZaloBot, clock: FixedClock) -> None:
    """A Zalo focal point; this month's quota spent; "7 days left" falls due: it is deferred."""
    user = bot.user("9003", "Hoa")
    bot.register(user, "huyen-muong-te")
    assert bot.channel is not None
    bot.channel.quota.record(10)
    clock.set(datetime(2023, 5, 29, 8, 30, tzinfo=VN))
    first = await bot.run_reminders()
    assert (first.steps, first.deferred, first.sent) == (["six_month:2023/before_7"], 1, 0)
    assert bot.zalo.texts_to("9003") == []


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
