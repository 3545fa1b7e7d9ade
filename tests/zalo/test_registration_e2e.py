"""Registration on Zalo: the invite code is typed as a message (Zalo has no deep links)."""

from __future__ import annotations

from sqlmodel import select

from domain.i18n import translator_for
from storage.models import Account, FocalPoint
from tests.zalo.conftest import ZaloBot

VI = translator_for("vi")


async def test_register_by_typed_code_then_whoami(zalo_bot: ZaloBot) -> None:
    lan = zalo_bot.user("5001", "Lò Thị Lan")
    hello = await lan.send("Xin chào")
    assert hello == [
        VI(
            "I can only help registered focal points. Please type the invite code the standing "
            "office sent to your unit, or ask them for one."
        )
    ]
    issued = zalo_bot.services.registration.create_invite("huyen-muong-te", actor="test")
    welcome = await lan.send(f"  {issued.code} ")
    assert len(welcome) == 1
    assert "Anh/chị đã được đăng ký làm đầu mối của Huyện Mường Tè." in welcome[0]
    assert "<b>" not in welcome[0]
    who = (await lan.send("/whoami"))[0]
    assert "Lò Thị Lan" in who and "5001" in who
    assert "Huyện Mường Tè (huyen-muong-te)" in who
    again = await lan.send(f"/start {issued.code}")
    assert "đã là đầu mối của Huyện Mường Tè rồi" in again[0]
    with zalo_bot.db.transaction() as session:
        account = session.exec(select(Account).where(Account.external_id == "5001")).one()
        assert (account.channel, account.chat_id, account.display_name) == (
            "zalo",
            "5001",
            "Lò Thị Lan",
        )
        assert session.exec(select(FocalPoint)).one().account_id == account.id
    assert zalo_bot.zalo.bad_requests == []


async def test_wrong_code_and_pasted_invite_link(zalo_bot: ZaloBot) -> None:
    mai = zalo_bot.user("5002", "Mai")
    wrong = await mai.send("AAAAAAAAAAAAAAAAAAAAAAAA")
    assert "Mã mời này không đúng" in wrong[0]
    issued = zalo_bot.services.registration.create_invite("so-y-te", actor="test")
    pasted = await mai.send(f"Em nhận được link này: https://t.me/vstbpn_bot?start={issued.code}")
    assert "Sở Y tế" in pasted[0]
    # A focal point's typed text is never taken as a code for another unit.
    other = zalo_bot.services.registration.create_invite("huyen-sin-ho", actor="test")
    answer = await mai.send(other.code)
    assert "Sìn Hồ" not in answer[0]


async def test_commands_on_zalo(zalo_bot: ZaloBot) -> None:
    user = zalo_bot.user("5003", "Hoa")
    start = await user.send("/start")
    assert "mã mời" in start[0] or VI("Hello!")[:5] in start[0]
    refused = await user.send("/report")
    assert refused == [
        VI(
            "This is for registered focal points. Please type the invite code the standing "
            "office sent you."
        )
    ]
    zalo_bot.register(user, "huyen-muong-te")
    help_text = (await user.send("/help"))[0]
    assert "/report" in help_text and "/invite" not in help_text and "/status" not in help_text
    office_only = await user.send("/export")  # every command exists on Zalo; this is the office's
    assert office_only == [VI("Sorry, this command is only for the standing office.")]
    english = await user.send("/lang en")
    assert english == ["Done: I will speak English with you."]
    assert "Language: English" in (await user.send("/whoami"))[0]
    calendar = (await user.send("/calendar 2023"))[0]
    assert "5 Jun 2023" in calendar
