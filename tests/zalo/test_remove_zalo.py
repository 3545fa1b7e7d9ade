"""/remove is declared once: an admin on Zalo removes focal points of either channel, and the
removed person, on Zalo, is refused the unit's report from then on."""

from __future__ import annotations

from sqlmodel import select

from storage.inbox import InboundUpdate
from storage.models import Role
from storage.zalo_models import ZaloChatState
from tests.forms_helpers import register
from tests.zalo.conftest import ZaloBot

UNIT = "huyen-muong-te"


async def test_an_admin_on_zalo_removes_focal_points_of_both_channels(zalo_bot: ZaloBot) -> None:
    bot = zalo_bot
    bot.services.accounts.grant_role("zalo", "7001", Role.ADMIN, actor="test")
    admin = bot.user("7001", "Văn phòng")
    lan = bot.user("7102", "Lò Thị Lan")
    bot.register(lan, UNIT)
    mai = bot.telegram.user(1001, "Lò Thị Mai")
    register(bot.telegram, mai, UNIT)

    assert "/remove <unit-code> <person>" in "\n".join(await admin.send("/help"))
    removed = await admin.send(f"/remove {UNIT} 7102")
    assert removed == [
        "Lò Thị Lan (Zalo 7102) không còn là đầu mối của huyen-muong-te. Các câu trả lời người "
        "này đã nhập vẫn được giữ trong báo cáo của đơn vị."
    ]
    assert "dành cho đầu mối đã đăng ký" in (await lan.send("/report"))[0]
    by_name = await admin.send(f"/remove {UNIT} mai")
    assert by_name[0].startswith("Lò Thị Mai (Telegram 1001) không còn là đầu mối")
    assert "dành cho đầu mối đã đăng ký" in (await mai.send("/report"))[0].plain_text
    assert bot.services.lifecycle.focal_points(UNIT) == []


async def test_forgetting_a_zalo_person_erases_their_messages_and_menu(zalo_bot: ZaloBot) -> None:
    bot = zalo_bot
    lan = bot.user("7103", "Lò Thị Lan")
    bot.register(lan, UNIT)
    assert await lan.send("/help")
    assert await lan.send("hẹn gặp chị Hoa thứ Năm")
    account = bot.services.lifecycle.find_person("zalo:7103")
    assert account.id is not None
    done = bot.services.lifecycle.forget(account.id, actor="cli")
    assert done.updates >= 2 and done.units == 1
    with bot.db.transaction() as session:
        payloads = [row.payload_json for row in session.exec(select(InboundUpdate)).all()]
        menus = session.exec(select(ZaloChatState).where(ZaloChatState.chat_id == "7103")).all()
    assert not any("7103" in p or "Lò Thị Lan" in p or "chị Hoa" in p for p in payloads)
    assert menus == []
    assert bot.services.lifecycle.focal_points(UNIT) == []
