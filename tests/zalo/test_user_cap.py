"""ZALO_MAX_USERS: past the cap a new Zalo focal point gets a clear reply and the office is
warned (once a day per person); the invite stays good for when a place frees."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlmodel import select

from domain.clock import FixedClock
from domain.i18n import translator_for
from domain.identity import ChannelIdentity
from domain.registration import RegistrationError
from storage.models import Account, AuditEntry, FocalPoint
from tests.conftest import ADMIN_ID, open_services
from tests.zalo.conftest import ZaloBot

VI = translator_for("vi")
REFUSED = (
    "Sorry, I cannot register you: this bot already serves its maximum of {limit} "
    "people on {channel}. The standing office has been told and will contact you."
)


def _cap_notices(bot: ZaloBot) -> list[str]:
    title = VI("⚠️ Zalo user limit reached")
    return [
        m.plain_text for m in bot.telegram.telegram.messages_to(ADMIN_ID) if title in m.plain_text
    ]


async def test_past_the_cap_the_person_is_told_and_the_office_warned(
    zalo_two_users: ZaloBot,
) -> None:
    bot = zalo_two_users  # ZALO_MAX_USERS=2
    admin = bot.telegram.user(ADMIN_ID, "Văn phòng")
    await admin.send("/help")

    def code(unit: str) -> str:
        return bot.services.registration.create_invite(unit, actor="test").code

    lan, mai, hoa = bot.user("8001", "Lan"), bot.user("8002", "Mai"), bot.user("8003", "Hoa")
    assert "Huyện Mường Tè" in (await lan.send(code("huyen-muong-te")))[0]
    assert "Sở Y tế" in (await mai.send(code("so-y-te")))[0]
    third = code("huyen-sin-ho")
    refused = await hoa.send(third)
    assert refused == [VI(REFUSED, limit=2, channel="Zalo")]
    await bot.telegram.telegram.wait_until(lambda: bool(_cap_notices(bot)), timeout=10)
    notice = _cap_notices(bot)
    assert len(notice) == 1
    assert "Hoa" in notice[0] and "8003" in notice[0] and "Huyện Sìn Hồ" in notice[0]

    assert await hoa.send(third) == refused  # tries again: the same answer...
    await asyncio.sleep(0.3)
    assert len(_cap_notices(bot)) == 1  # ...and the office is not told twice the same day

    # Someone already served takes a second unit: not one more person.
    second = await lan.send(f"/start {code('huyen-phong-tho')}")
    assert "Huyện Phong Thổ" in second[0]

    with bot.db.transaction() as session:  # Mai leaves: her place is free
        account = session.exec(select(Account).where(Account.external_id == "8002")).one()
        for point in session.exec(
            select(FocalPoint).where(FocalPoint.account_id == account.id)
        ).all():
            point.active = False
    welcome = await hoa.send(third)  # the same invite, never used up by the refusal
    assert "Huyện Sìn Hồ" in welcome[0]
    assert bot.zalo.bad_requests == []


def test_the_cap_is_per_channel_and_zero_is_none(tmp_path: Path, clock: FixedClock) -> None:
    capped = open_services(tmp_path / "capped.sqlite3", clock, max_users_per_channel={"zalo": 1})
    refusals: list[str] = []
    capped.registration.on_user_cap = lambda reached: refusals.append(reached.identity.external_id)

    def register(channel: str, person: str) -> str:
        code = capped.registration.create_invite("so-y-te", actor="test").code
        identity = ChannelIdentity(channel, person, person, person)
        try:
            capped.registration.register(identity, code)
        except RegistrationError as error:
            return error.reason
        return "ok"

    assert register("zalo", "z1") == "ok"
    assert register("zalo", "z2") == "user_cap"
    assert register("telegram", "t1") == "ok"  # Telegram has no cap
    assert register("telegram", "t2") == "ok"
    assert refusals == ["z2"]
    with capped.db.transaction() as session:
        audit = session.exec(
            select(AuditEntry).where(AuditEntry.action == "focal_point.user_cap")
        ).all()
        assert [entry.target for entry in audit] == ["zalo:z2"]

    free = open_services(tmp_path / "free.sqlite3", clock, max_users_per_channel={"zalo": 0})
    for person in ("a", "b", "c"):
        code = free.registration.create_invite("so-y-te", actor="test").code
        free.registration.register(ChannelIdentity("zalo", person, person, person), code)
