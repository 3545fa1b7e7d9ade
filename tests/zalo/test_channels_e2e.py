"""One unit, two focal points: one on Telegram, one on Zalo. Reminders and announcements
reach each on the channel where they registered; the office may be on either."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import select

from domain.clock import FixedClock
from domain.conversation import Reply
from domain.i18n import translator_for
from domain.reminders import DeliveryStatus, Recipient
from storage.models import Account, ReminderDelivery, Role
from tests.conftest import ADMIN_ID, VN
from tests.forms_helpers import register
from tests.zalo.conftest import ZaloBot

VI = translator_for("vi")
BY_NUMBER = VI("reply with the number")


async def test_reminder_reaches_both_channels_and_opens_the_report_on_zalo(
    zalo_bot: ZaloBot, clock: FixedClock
) -> None:
    clock.set(datetime(2023, 5, 10, 9, 0, tzinfo=VN))
    on_telegram = zalo_bot.telegram.user(1001, "Đầu mối Telegram")
    register(zalo_bot.telegram, on_telegram, "huyen-muong-te")
    on_zalo = zalo_bot.user("8001", "Đầu mối Zalo")
    zalo_bot.register(on_zalo, "huyen-muong-te")

    clock.set(datetime(2023, 5, 15, 8, 0, tzinfo=VN))
    summary = await zalo_bot.run_reminders()
    assert summary.failed == 0
    telegram_text = zalo_bot.telegram.telegram.messages_to(1001)[-1]
    assert "Đã mở kỳ báo cáo 6 tháng đầu năm 2023" in telegram_text.plain_text
    assert telegram_text.buttons[0][0][0] == "Mở báo cáo"
    zalo_text = on_zalo.inbox()
    assert len(zalo_text) == 1
    assert "Đã mở kỳ báo cáo 6 tháng đầu năm 2023" in zalo_text[0]
    assert zalo_text[0].endswith(f"1. Mở báo cáo — {BY_NUMBER}")
    with zalo_bot.db.transaction() as session:
        rows = session.exec(select(ReminderDelivery)).all()
        assert sorted(r.status for r in rows) == ["sent", "sent"]

    await zalo_bot.restart()  # the menu of the reminder is in the database
    opened = await on_zalo.send("1")
    assert "Báo cáo 6 tháng đầu năm 2023" in opened[0]
    assert zalo_bot.current_question(on_zalo) == "doc_plans_issued"
    again = await zalo_bot.run_reminders()
    assert again.sent == 0  # once per step, whatever the channel


async def test_announcement_reaches_both_channels(zalo_bot: ZaloBot, clock: FixedClock) -> None:
    """The broadcast feature is wired by the lead; here the router is used directly."""
    on_telegram = zalo_bot.telegram.user(1002, "Telegram")
    register(zalo_bot.telegram, on_telegram, "so-y-te")
    on_zalo = zalo_bot.user("8002", "Zalo")
    zalo_bot.register(on_zalo, "so-y-te")
    with zalo_bot.db.transaction() as session:
        accounts = session.exec(select(Account)).all()
        recipients = [
            Recipient(a.id or 0, a.channel, a.chat_id, a.language or "vi") for a in accounts
        ]
    announcement = Reply(
        "Đề nghị các đơn vị gửi báo cáo nhanh về Tháng hành động trước ngày 20/6.",
        title="📣 Thông báo của cơ quan thường trực",
        expects_text=False,
    )
    deliveries = [await zalo_bot.router.send(r, announcement) for r in recipients]
    assert [d.status for d in deliveries] == [DeliveryStatus.SENT, DeliveryStatus.SENT]
    telegram_text = zalo_bot.telegram.telegram.messages_to(1002)[-1].plain_text
    assert "Đề nghị các đơn vị gửi báo cáo nhanh" in telegram_text
    assert on_zalo.inbox() == [
        "📣 Thông báo của cơ quan thường trực\n"
        "Đề nghị các đơn vị gửi báo cáo nhanh về Tháng hành động trước ngày 20/6."
    ]


async def test_blocked_zalo_focal_point_is_reported_to_the_office(
    zalo_bot: ZaloBot, clock: FixedClock
) -> None:
    clock.set(datetime(2023, 5, 10, 9, 0, tzinfo=VN))
    admin = zalo_bot.telegram.user(ADMIN_ID, "Văn phòng")
    await admin.send("/help")
    on_zalo = zalo_bot.user("8003", "Zalo")
    zalo_bot.register(on_zalo, "hoi-lhpn-tinh")
    zalo_bot.zalo.block_user("8003")
    clock.set(datetime(2023, 5, 15, 8, 0, tzinfo=VN))
    summary = await zalo_bot.run_reminders()
    assert summary.blocked_units == ["hoi-lhpn-tinh"]
    office = zalo_bot.telegram.telegram.messages_to(ADMIN_ID)[-1].plain_text
    assert "Hội Liên hiệp Phụ nữ tỉnh" in office and "không liên lạc được" in office


async def test_office_on_zalo_sees_status_and_gets_submissions(
    zalo_bot: ZaloBot, clock: FixedClock
) -> None:
    clock.set(datetime(2023, 5, 16, 9, 0, tzinfo=VN))
    zalo_bot.services.periods.ensure_year(2023)
    office = zalo_bot.user("8100", "Cán bộ Văn phòng")
    zalo_bot.services.accounts.grant_role("zalo", "8100", Role.OFFICE, actor="test")
    refused = await zalo_bot.user("8101", "Ai đó").send("/status")
    assert refused  # not registered: refused, politely
    status = "\n".join(await office.send("/status six_month:2023"))
    assert "6 tháng đầu năm 2023" in status
    assert "Tất cả đơn vị" in status and "Còn thiếu (" in status
    assert VI("Zalo messages sent this month: {sent} of {limit}.", sent=1, limit=3000) in status
    # A digest for the office reaches the office member on Zalo, through the router.
    clock.set(datetime(2023, 6, 5, 8, 0, tzinfo=VN))
    await zalo_bot.run_reminders()
    assert any("chưa nộp" in text for text in office.inbox())
