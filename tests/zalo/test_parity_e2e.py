"""Every command on both channels, for every role: the same facts in the reply, or the refusal.

The bot serves Telegram and Zalo in one process (over HTTP, against both stand-ins). A unit
has a focal point on each channel; office staff and an admin exist on each channel too. For
each command, each role types it on each channel; an allowed role must see the command's own
facts (not merely no refusal), and a role that may not use it sees the refusal meant for it.
Files (the chart, the export, the QR code) must arrive: as a photo or document on Telegram,
as a photo or a working single-use link on Zalo.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import aiohttp
import pytest

from commands.core import declared
from domain.commands import Audience
from domain.i18n import translator_for
from storage.models import Role
from tests.conftest import ADMIN_ID
from tests.forms_helpers import register
from tests.zalo.conftest import ZaloBot

VI = translator_for("vi")
ROLES = ("stranger", "focal", "office", "admin")
CHANNELS = ("telegram", "zalo")
UNIT = "huyen-muong-te"

ALLOWED = {
    Audience.EVERYONE: set(ROLES),
    Audience.REGISTERED: {"focal", "office", "admin"},
    Audience.OFFICE: {"office", "admin"},
    Audience.ADMIN: {"admin"},
}
REFUSAL = {
    "stranger": "dành cho đầu mối đã đăng ký",
    "focal": "chỉ dành cho cơ quan thường trực",
    "office": "chỉ dành cho quản trị viên",
}
# Arguments that make each command do its real work.
ARGS = {
    "lang": "vi",
    "calendar": "2023",
    "status": "six_month:2023",
    "remind": "six_month:2023",
    "answers": f"{UNIT} six_month:2023",
    "export": "six_month:2023",
    "invite": "so-y-te",
    "reopen": f"{UNIT} six_month:2023",
    "adhoc": "1/1/2030 Kiểm tra",
    "acks": "1",
    "remove": f"{UNIT} Không-Có-Ai",  # nobody by that name: the unit's focal points are listed
}


@dataclass
class Seen:
    """What one person saw after one command: the texts, and the files with their bytes."""

    texts: list[str] = field(default_factory=list)
    files: list[bytes] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.texts)


def facts(command: str, role: str) -> list[str]:
    """What an allowed role must read in the reply, whatever the channel."""
    expected: dict[str, list[str]] = {
        "start": [VI("Welcome back!")] if role != "stranger" else ["Xin chào"],
        "help": ["/help", "/lang"]
        + (["/report", "/calendar"] if role != "stranger" else [])
        + (["/status", "/export"] if role in {"office", "admin"} else [])
        + (["/invite"] if role == "admin" else []),
        "whoami": {
            "focal": ["Huyện Mường Tè", UNIT],
            "office": [VI("standing office staff")],
            "admin": [VI("administrator")],
        }.get(role, []),
        "lang": [VI("Done: I will speak English with you.")],
        "report": ["6 tháng đầu năm 2023"] if role == "focal" else [],
        "cancel": [VI("There is nothing to cancel.")],
        "calendar": ["05/6/2023", "05/12/2023"],
        "status": ["6 tháng đầu năm 2023", VI("All units"), "Huyện Mường Tè"],
        "units": ["Sở Y tế", "Huyện Mường Tè", "Đầu mối Telegram", "Đầu mối Zalo"],
        "audit": ["role.grant", "focal_point.register"],
        "broadcast": [VI("New announcement")],
        "broadcasts": [VI("No announcements yet. /broadcast sends one.")],
        "acks": [VI("There is no announcement #{id}.", id=1)],
        "periods": ["six_month:2023", "annual:2023"],
        "remind": ["6 tháng đầu năm 2023"],
        "answers": ["Huyện Mường Tè", VI("not started")],
        "export": ["6 tháng đầu năm 2023"],
        "invite": ["Sở Y tế"],
        "reopen": [UNIT],
        "adhoc": ["ad_hoc:"],
        "remove": ["Đầu mối Telegram", "Đầu mối Zalo"],
    }
    return expected[command]


FILES = {"status": 1, "export": 1}  # the chart, the workbook; /invite adds a QR on Telegram


async def _people(bot: ZaloBot) -> dict[tuple[str, str], object]:
    services = bot.services
    services.periods.ensure_year(2023)
    harness = bot.telegram
    people: dict[tuple[str, str], object] = {
        ("telegram", "stranger"): harness.user(3001, "Người lạ"),
        ("telegram", "focal"): harness.user(1001, "Đầu mối Telegram"),
        ("telegram", "office"): harness.user(2, "Văn phòng Telegram"),
        ("telegram", "admin"): harness.user(ADMIN_ID, "Quản trị Telegram"),
        ("zalo", "stranger"): bot.user("9001", "Người lạ Zalo"),
        ("zalo", "focal"): bot.user("9002", "Đầu mối Zalo"),
        ("zalo", "office"): bot.user("9003", "Văn phòng Zalo"),
        ("zalo", "admin"): bot.user("9004", "Quản trị Zalo"),
    }
    register(harness, people[("telegram", "focal")], UNIT)  # type: ignore[arg-type]
    bot.register(people[("zalo", "focal")], UNIT)  # type: ignore[arg-type]
    services.accounts.grant_role("telegram", "2", Role.OFFICE, actor="test")
    services.accounts.grant_role("zalo", "9003", Role.OFFICE, actor="test")
    services.accounts.grant_role("zalo", "9004", Role.ADMIN, actor="test")
    return people


async def _type(bot: ZaloBot, channel: str, person: object, text: str) -> Seen:
    seen = Seen()
    if channel == "telegram":
        for message in await person.send(text):  # type: ignore[attr-defined]
            seen.texts.append(message.plain_text or strip_caption(message))
            if message.method in {"sendPhoto", "sendDocument"}:
                seen.files.append(message.file_bytes or b"")
        return seen
    before = len(bot.zalo.sent)
    await person.send(text)  # type: ignore[attr-defined]
    for message in bot.zalo.sent[before:]:
        if message.chat_id != person.user_id:  # type: ignore[attr-defined]
            continue
        seen.texts.append(message.text or "")
        urls = [message.photo] if message.photo else _links(message.text or "")
        seen.files += [await download(url) for url in urls if url]
    return seen


def strip_caption(message: object) -> str:
    params = getattr(message, "params", {}) or {}
    return str(params.get("caption", ""))


def _links(text: str) -> list[str]:
    return [word for word in text.split() if word.startswith("http") and "/files/" in word]


async def download(url: str) -> bytes:
    """Fetch a file link from the bot's own server (in this event loop: never block it)."""
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200, (url, response.status)
        return await response.read()


@pytest.mark.parametrize("name", list(declared()), ids=str)
async def test_every_command_on_both_channels(zalo_bot: ZaloBot, name: str) -> None:
    spec = declared()[name]
    people = await _people(zalo_bot)
    text = f"/{name} {ARGS.get(name, '')}".strip()
    for channel in CHANNELS:
        for role in ROLES:
            seen = await _type(zalo_bot, channel, people[(channel, role)], text)
            where = f"/{name} as {role} on {channel}: {seen.text[:300]!r}"
            assert seen.texts, f"no reply to {where}"
            if role not in ALLOWED[spec.audience]:
                assert REFUSAL[role] in seen.text, where
                assert not seen.files, where
                continue
            for fact in facts(name, role):
                assert fact in seen.text, f"{fact!r} missing in {where}"
            assert not any(refusal in seen.text for refusal in REFUSAL.values()), where
            if name in FILES:
                assert len(seen.files) >= FILES[name], f"no file for {where}"
                assert all(len(body) > 100 for body in seen.files), where
