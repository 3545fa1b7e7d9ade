"""The Zalo person's display name becomes the account's name: the office sees names, not ids."""

from __future__ import annotations

from domain.units import roster
from tests.zalo.conftest import ZaloBot
from zalo.updates import parse_updates


async def test_the_office_sees_the_zalo_name_and_its_changes(zalo_bot: ZaloBot) -> None:
    lan = zalo_bot.user("5101", "Lò Thị Lan")
    issued = zalo_bot.services.registration.create_invite("huyen-muong-te", actor="test")
    await lan.send(issued.code)  # registered by the typed code, as on a real phone

    def names() -> list[str]:
        units = roster(zalo_bot.db)
        return [
            fp.name for unit in units if unit.code == "huyen-muong-te" for fp in unit.focal_points
        ]

    assert names() == ["Lò Thị Lan"]
    zalo_bot.zalo.add_user("5101", "Lò Thị Lan (Mường Tè)")  # she renames herself on Zalo
    await lan.send("/help")
    assert names() == ["Lò Thị Lan (Mường Tè)"]


def test_the_name_is_read_from_each_known_field() -> None:
    def sender_name(sender: dict[str, str]) -> str:
        update = {
            "event_name": "message.text.received",
            "message": {"from": {"id": "7", **sender}, "chat": {"id": "7"}, "message_id": "m1"},
        }
        return parse_updates(update)[0].display_name

    assert sender_name({"display_name": "Lan", "name": "x"}) == "Lan"
    assert sender_name({"name": "Lan"}) == "Lan"
    assert sender_name({"first_name": "Lan"}) == "Lan"  # the form in Zalo's getUpdates sample
    assert sender_name({}) == ""
