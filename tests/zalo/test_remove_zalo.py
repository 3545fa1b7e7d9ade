"""/remove is declared once: an admin on Zalo removes focal points of either channel, and the
removed person, on Zalo, is refused the unit's report from then on."""

from __future__ import annotations

from storage.models import Role
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
