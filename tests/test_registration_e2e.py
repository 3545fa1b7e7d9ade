"""Invite → register → refusals → lockout → roles → language, over HTTP against the stand-in."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlmodel import select

from domain.clock import FixedClock
from storage.models import AuditEntry, FocalPoint, Invite
from tests.conftest import ADMIN_ID
from tests.harness import BotHarness

LINK = re.compile(r"https://t\.me/(\w+)\?start=([A-Za-z0-9_-]+)")


async def _invite(harness: BotHarness, unit_code: str = "huyen-muong-te") -> str:
    admin = harness.user(ADMIN_ID, "Admin")
    replies = await admin.send(f"/invite {unit_code}")
    text = replies[0].plain_text
    match = LINK.search(text)
    assert match, text
    assert match.group(1) == "vstbpn_test_bot"
    assert replies[1].method == "sendPhoto"
    assert replies[1].file_bytes is not None
    assert replies[1].file_bytes.startswith(b"\x89PNG")
    return match.group(2)


async def test_invite_register_then_code_refused_a_second_time(harness: BotHarness) -> None:
    code = await _invite(harness)
    assert 32 <= len(code) <= 64

    focal = harness.user(1001, "Lò Thị Mai")
    replies = await focal.send(f"/start {code}")
    assert "Huyện Mường Tè" in replies[0].plain_text
    assert "đầu mối" in replies[0].plain_text

    whoami = await focal.send("/whoami")
    assert "Đầu mối của: Huyện Mường Tè (huyen-muong-te)" in whoami[0].plain_text

    other = harness.user(1002, "Người khác")
    refused = await other.send(f"/start {code}")
    assert "đã được sử dụng" in refused[0].plain_text
    again = await focal.send(f"/start {code}")
    assert "đã là đầu mối" in again[0].plain_text

    with harness.db.transaction() as session:
        points = session.exec(select(FocalPoint)).all()
        assert [(p.unit_id is not None, p.active) for p in points] == [(True, True)]
        invite = session.exec(select(Invite)).one()
        assert invite.used_at is not None
        assert invite.code_hash != code  # only the hash is stored
        actions = [entry.action for entry in session.exec(select(AuditEntry)).all()]
        assert "invite.create" in actions
        assert "focal_point.register" in actions
    assert harness.telegram.bad_requests == []


async def test_expired_code_is_refused(harness: BotHarness, clock: FixedClock) -> None:
    code = await _invite(harness)
    clock.advance(timedelta(days=14, seconds=1))
    focal = harness.user(1001, "Mai")
    replies = await focal.send(f"/start {code}")
    assert "hết hạn" in replies[0].plain_text
    whoami = await focal.send("/whoami")
    assert "dành cho đầu mối đã đăng ký" in whoami[0].plain_text


async def test_five_wrong_codes_lock_out_for_an_hour(
    harness: BotHarness, clock: FixedClock
) -> None:
    code = await _invite(harness)
    guesser = harness.user(2001, "Guesser")
    for attempt in range(5):
        replies = await guesser.send(f"/start wrong-code-number-{attempt:02d}xxxxxxxx")
        assert "không đúng" in replies[0].plain_text
    locked = await guesser.send(f"/start {code}")
    assert "quá nhiều lần" in locked[0].plain_text
    clock.advance(timedelta(minutes=59))
    assert "quá nhiều lần" in (await guesser.send(f"/start {code}"))[0].plain_text
    clock.advance(timedelta(minutes=2))
    replies = await guesser.send(f"/start {code}")
    assert "Huyện Mường Tè" in replies[0].plain_text


async def test_non_admin_cannot_invite(harness: BotHarness) -> None:
    code = await _invite(harness)
    focal = harness.user(1001, "Mai")
    await focal.send(f"/start {code}")
    refused = await focal.send("/invite so-y-te")
    assert "chỉ dành cho cơ quan thường trực" in refused[0].plain_text
    stranger = harness.user(3001, "Stranger")
    # A stranger is told how to register, not that the command is the office's.
    assert "mở link mời" in (await stranger.send("/invite so-y-te"))[0].plain_text
    with harness.db.transaction() as session:
        assert len(session.exec(select(Invite)).all()) == 1


async def test_start_without_code_reveals_nothing(harness: BotHarness) -> None:
    stranger = harness.user(3001, "Stranger")
    text = (await stranger.send("/start"))[0].plain_text
    assert "link mời" in text
    assert "Mường Tè" not in text
    assert "huyen-" not in text
    assert "/invite" not in (await stranger.send("/help"))[0].plain_text


async def test_lang_switches_language_and_is_stored(harness: BotHarness) -> None:
    code = await _invite(harness)
    focal = harness.user(1001, "Mai")
    await focal.send(f"/start {code}")
    switched = await focal.send("/lang en")
    assert switched[0].plain_text == "Done: I will speak English with you."
    whoami = await focal.send("/whoami")
    assert "Focal point of: Muong Te District (huyen-muong-te)" in whoami[0].plain_text
    await harness.restart()
    assert "What you can do" in (await focal.send("/help"))[0].plain_text
    back = await focal.send("/lang vi")
    assert "tiếng Việt" in back[0].plain_text


async def test_unit_code_typed_as_a_message_registers(harness: BotHarness) -> None:
    code = await _invite(harness, "so-y-te")
    focal = harness.user(1001, "Mai")
    replies = await focal.send(code)
    assert "Sở Y tế" in replies[0].plain_text


async def test_admin_menu_is_chat_scoped_and_default_menu_has_no_admin_commands(
    harness: BotHarness,
) -> None:
    admin = harness.user(ADMIN_ID, "Admin")
    await admin.send("/lang vi")
    menus = harness.telegram.commands
    default = next(
        cmds
        for (scope, lang), cmds in menus.items()
        if '"all_private_chats"' in scope and lang == ""
    )
    assert "invite" not in [c["command"] for c in default]
    chat_menu = next(
        cmds for (scope, _), cmds in menus.items() if f'"chat_id": {ADMIN_ID}' in scope
    )
    assert "invite" in [c["command"] for c in chat_menu]
