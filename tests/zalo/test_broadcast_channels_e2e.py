"""One audience: announcements reach each focal point on the channel where they registered.

One unit (Sở Y tế) has a focal point on Telegram and one on Zalo. The admin composes on
Telegram (buttons), an office member on Zalo (typed numbers); both announcements reach both
focal points through one delivery ledger, each confirms its own way ("✅ Đã nhận" pressed,
"đã nhận" or "1" typed), and /acks and /broadcasts show every recipient's channel. Everything
runs over HTTP against the two stand-ins; the assertions are on what each person sees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlmodel import select

from domain.clock import FixedClock
from domain.i18n import translator_for
from standin.telegram import SentMessage
from storage.models import Role, Unit
from tests.conftest import ADMIN_ID
from tests.forms_helpers import register
from tests.harness import ChatUser
from tests.zalo.conftest import ZaloBot, ZaloUser

VI = translator_for("vi")
UNIT = "so-y-te"
FROM_TELEGRAM = "Họp giao ban quý II lúc 8h00 ngày 05/6 tại Hội trường A"
FROM_ZALO = "Đề nghị gửi danh sách cán bộ dự tập huấn trước ngày 10/6"
THANKS = VI("Thank you! The standing office sees that you received it.")
REPLY_FOOTER = VI("To answer the standing office, reply to this message.")


def number_of(text: str, label: str) -> str:
    """The number a Zalo menu gives ``label`` ("3. Tất cả đầu mối" → "3")."""
    found = re.search(rf"(\d+)\. {re.escape(label)}", text)
    assert found is not None, f"no choice {label!r} in {text!r}"
    return found.group(1)


def report_line(broadcast_id: int, sent: int, total: int) -> str:
    return VI(
        "Announcement #{id}: delivered to {sent} of {total} focal points.",
        id=broadcast_id,
        sent=sent,
        total=total,
    )


def announcement_on_telegram(bot: ZaloBot, user_id: int, text: str) -> SentMessage:
    fake = bot.telegram.telegram
    return next(m for m in fake.messages_to(user_id) if text in m.plain_text)


def texts_with(user: ZaloUser, text: str) -> list[str]:
    return [message for message in user.inbox() if text in message]


@dataclass
class TwoChannelUnit:
    """The admin on Telegram, an office member on Zalo, a focal point on each channel."""

    admin: ChatUser
    on_telegram: ChatUser
    on_zalo: ZaloUser
    office: ZaloUser
    unit_name: str


def one_unit_two_channels(
    bot: ZaloBot, telegram_id: int, zalo_id: str, office_id: str
) -> TwoChannelUnit:
    admin = bot.telegram.user(ADMIN_ID, "Văn phòng thường trực")
    on_telegram = bot.telegram.user(telegram_id, "Đầu mối Telegram")
    register(bot.telegram, on_telegram, UNIT)
    on_zalo = bot.user(zalo_id, "Đầu mối Zalo")
    bot.register(on_zalo, UNIT)
    office = bot.user(office_id, "Cán bộ Văn phòng")
    bot.services.accounts.grant_role("zalo", office_id, Role.OFFICE, actor="test")
    with bot.db.transaction() as session:
        unit = session.exec(select(Unit).where(Unit.code == UNIT)).one()
    return TwoChannelUnit(admin, on_telegram, on_zalo, office, unit.name_vi)


async def announce_on_telegram(bot: ZaloBot, admin: ChatUser, text: str) -> str:
    """The admin composes with buttons to all focal points (two, announcement #1), and waits
    for the final report; the preview the admin saw."""
    telegram = bot.telegram.telegram
    await admin.send("/broadcast")
    screen = await admin.send(text)
    preview = await admin.press(VI("All focal points"), screen[-1])
    await admin.press("✅ " + VI("Send to {people}", people=2), preview[-1])
    await telegram.wait_until(
        lambda: any(report_line(1, 2, 2) in m.plain_text for m in telegram.messages_to(ADMIN_ID)),
        20,
    )
    return preview[-1].plain_text


async def test_an_announcement_from_either_channel_reaches_both_and_both_confirm(
    zalo_bot: ZaloBot, clock: FixedClock
) -> None:
    telegram = zalo_bot.telegram.telegram
    zalo = zalo_bot.zalo
    scene = one_unit_two_channels(zalo_bot, 1002, "8002", "8100")
    admin, on_telegram, on_zalo, office = (
        scene.admin,
        scene.on_telegram,
        scene.on_zalo,
        scene.office,
    )

    # 1. The admin composes on Telegram, with buttons.
    recipients = VI.ngettext(
        "Recipients: {people} focal point in {units} units.",
        "Recipients: {people} focal points in {units} units.",
        2,
    ).format(people=2, units=1)
    assert recipients in await announce_on_telegram(zalo_bot, admin, FROM_TELEGRAM)

    # The Zalo focal point reads it, with "1. Đã nhận" and no promise of a passed-on reply.
    (seen_on_zalo,) = texts_with(on_zalo, FROM_TELEGRAM)
    assert seen_on_zalo.startswith("📢 " + VI("Announcement from the standing office"))
    assert seen_on_zalo.endswith(f"1. {VI('Received')} — {VI('reply with the number')}")
    assert REPLY_FOOTER not in seen_on_zalo
    # The Telegram focal point reads it with the button, and may reply to it.
    seen_on_telegram = announcement_on_telegram(zalo_bot, 1002, FROM_TELEGRAM)
    assert REPLY_FOOTER in seen_on_telegram.plain_text
    assert seen_on_telegram.buttons[0][0] == ("✅ " + VI("Received"), "bc:ack")

    # Each confirms: typed on Zalo (with or without accents), pressed on Telegram.
    assert await on_zalo.send("đã nhận") == [THANKS]
    assert await on_zalo.send("1") == [VI("You have already confirmed. Thank you!")]
    await on_telegram.press("✅ " + VI("Received"), seen_on_telegram)
    assert telegram.last_message(1002).buttons == []

    # 2. The office member composes on Zalo: /broadcast, the text, numbers for the choices.
    await office.send("/broadcast")
    (audience,) = await office.send(FROM_ZALO)
    assert VI("Who should receive it?") in audience
    (preview_text,) = await office.send(number_of(audience, VI("All focal points")))
    assert recipients in preview_text
    mark = len(zalo.sent)
    confirmed = await office.send(number_of(preview_text, "✅ " + VI("Send to {people}", people=2)))
    # The start message; Zalo cannot edit it, so the next one is the final report.
    assert confirmed == [
        "📤 " + VI("Announcement #{id}: sent {sent}/{total}…", id=2, sent=0, total=2)
    ]
    await zalo.wait_until(lambda: any(report_line(2, 2, 2) in t for t in office.inbox(mark)), 20)
    after_start = [t for t in office.inbox(mark) if t not in confirmed]
    assert len(after_start) == 1 and after_start[0].startswith(report_line(2, 2, 2))
    assert VI("Who confirmed: /acks {id}", id=2) in after_start[0]

    # It reached the Telegram focal point of the same unit, and the Zalo one.
    from_zalo = announcement_on_telegram(zalo_bot, 1002, FROM_ZALO)
    assert from_zalo.buttons[0][0][0] == "✅ " + VI("Received")
    assert len(texts_with(on_zalo, FROM_ZALO)) == 1
    # Each confirms; on Zalo "1" now means this announcement.
    await on_telegram.press("✅ " + VI("Received"), from_zalo)
    assert await on_zalo.send("1") == [THANKS]

    # A Telegram focal point's reply reaches the office member on Zalo, as text.
    mark = len(zalo.sent)
    answered = await on_telegram.send(
        "Sở Y tế sẽ gửi trước ngày 8/6",
        reply_to_message=telegram.message(1002, from_zalo.message_id),
    )
    assert [m.plain_text for m in answered] == [VI("Your reply was sent to the standing office.")]
    header = VI(
        "Reply to announcement #{id} from {unit} ({person}):",
        id=2,
        unit=scene.unit_name,
        person="Đầu mối Telegram",
    )
    assert office.inbox(mark) == [f"↩️ {header}\nSở Y tế sẽ gửi trước ngày 8/6"]

    # 3. /acks shows both focal points, each with the channel they are on.
    people = [
        f"• {scene.unit_name} — Đầu mối Telegram (Telegram)",
        f"• {scene.unit_name} — Đầu mối Zalo (Zalo)",
    ]
    on_telegram_acks = (await admin.send("/acks 1"))[-1].plain_text
    (on_zalo_acks,) = await office.send("/acks 2")
    for acks in (on_telegram_acks, on_zalo_acks):
        assert VI("Confirmed: {acked} of {total}.", acked=2, total=2) in acks
        confirmed_part = acks.split(VI("Confirmed:"), 1)[1]
        assert all(person in confirmed_part for person in people)
        assert VI("Not confirmed yet:") not in acks
    # /broadcasts counts each announcement's deliveries per channel.
    listing = "\n".join(await office.send("/broadcasts"))
    by_channel = VI("by channel: {counts}", counts="Telegram 1/1, Zalo 1/1")
    assert listing.count(by_channel) == 2
    assert VI("confirmed: {acked}", acked=2) in listing


async def test_a_file_announced_on_telegram_is_named_on_zalo(
    zalo_bot: ZaloBot, clock: FixedClock
) -> None:
    """Zalo cannot fetch a Telegram file id: the text goes, saying where the file is."""
    telegram = zalo_bot.telegram.telegram
    admin = ChatUser(zalo_bot.telegram, ADMIN_ID, "Văn phòng")
    telegram.add_user(ADMIN_ID, "Văn phòng")
    on_zalo = zalo_bot.user("8003", "Đầu mối Zalo")
    zalo_bot.register(on_zalo, UNIT)
    await admin.send("/broadcast")
    file_id = telegram.add_file(b"%PDF-1.4 ke hoach", "ke-hoach-thang-6.pdf")
    update_id = telegram.inject_message(
        ADMIN_ID, None, document=telegram.file_object(file_id), caption="Kế hoạch Tháng hành động"
    )
    screen = await zalo_bot.telegram.replies_to(ADMIN_ID, update_id)
    preview = await admin.press(VI("All focal points"), screen[-1])
    await admin.press("✅ " + VI("Send to {people}", people=1), preview[-1])
    await zalo_bot.zalo.wait_until(lambda: bool(texts_with(on_zalo, "Kế hoạch Tháng")), 20)

    (seen,) = texts_with(on_zalo, "Kế hoạch Tháng hành động")
    note = VI(
        "A file is attached to this announcement on Telegram: {name}. "
        "Ask the standing office if you need it.",
        name="ke-hoach-thang-6.pdf",
    )
    assert note in seen
    assert [m for m in zalo_bot.zalo.sent if m.photo] == []


async def test_a_reminder_round_from_zalo_reaches_those_who_have_not_confirmed(
    zalo_bot: ZaloBot, clock: FixedClock
) -> None:
    """/acks on Zalo: the reminder choice, typed, starts a round on both channels."""
    telegram = zalo_bot.telegram.telegram
    scene = one_unit_two_channels(zalo_bot, 1004, "8004", "8101")
    on_zalo, office = scene.on_zalo, scene.office
    await announce_on_telegram(zalo_bot, scene.admin, FROM_TELEGRAM)

    (acks,) = await office.send("/acks 1")
    assert VI("Confirmed: {acked} of {total}.", acked=0, total=2) in acks
    remind = "🔔 " + VI("Remind the {count} who have not confirmed", count=2)
    mark = len(zalo_bot.zalo.sent)
    started = await office.send(number_of(acks, remind))
    assert started == [
        "📤 " + VI("Announcement #{id}: sent {sent}/{total}…", id=2, sent=0, total=2)
    ]
    await zalo_bot.zalo.wait_until(
        lambda: any(report_line(2, 2, 2) in t for t in office.inbox(mark)), 20
    )

    reminder_header = "🔔 " + VI("Reminder from the standing office")
    on_telegram_texts = [m.plain_text for m in telegram.messages_to(1004)]
    assert sum(t.startswith(reminder_header) for t in on_telegram_texts) == 1
    (reminded,) = [t for t in on_zalo.inbox() if t.startswith(reminder_header)]
    assert FROM_TELEGRAM in reminded
    assert await on_zalo.send("1") == [THANKS]  # confirms the announcement through its reminder
    (acks,) = await office.send("/acks 1")
    assert VI("Confirmed: {acked} of {total}.", acked=1, total=2) in acks
    confirmed_part = acks.split(VI("Confirmed:"), 1)[1].split(VI("Not confirmed yet:"))[0]
    assert "Đầu mối Zalo (Zalo)" in confirmed_part
    assert "Đầu mối Telegram (Telegram)" in acks.split(VI("Not confirmed yet:"))[1]


async def test_received_typed_in_the_middle_of_a_report_confirms_and_keeps_the_question(
    zalo_bot: ZaloBot, clock: FixedClock
) -> None:
    """A Zalo focal point answering a form types "đã nhận": the announcement is confirmed and
    the open question is neither answered nor lost."""
    zalo_bot.services.periods.ensure_year(2023)
    scene = one_unit_two_channels(zalo_bot, 1003, "8003", "8101")
    on_zalo = scene.on_zalo
    await on_zalo.send("/report")
    before = zalo_bot.current_question(on_zalo)
    assert before is not None and not before.startswith("<")
    await announce_on_telegram(zalo_bot, scene.admin, FROM_TELEGRAM)
    assert await on_zalo.send("da nhan") == [THANKS]
    assert zalo_bot.current_question(on_zalo) == before
    with zalo_bot.db.transaction() as session:
        from storage.broadcast_models import BroadcastDelivery

        rows = session.exec(select(BroadcastDelivery)).all()
        confirmed = [row for row in rows if row.acknowledged_at is not None]
        assert [row.channel for row in confirmed] == ["zalo"]
