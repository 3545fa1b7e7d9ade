"""/invite: a one-time invite that fits the channels this deployment serves.

Telegram opens a deep link (and its QR code, to print in the invitation letter); Zalo has no
deep links, so its focal point types the code, after opening the bot's Zalo page when known.
The CLI's ``invite`` verb prints the same text.
"""

from __future__ import annotations

import io

import segno

from commands.core import Request, Runtime, command
from commands.people import say
from domain.commands import Audience
from domain.conversation import FileOut, Outcome, Reply
from domain.errors import DomainError
from domain.i18n import N_, Translator
from domain.registration import IssuedInvite
from domain.rich import Rich, bold, code, join


def deep_link(bot_username: str, invite_code: str) -> str:
    return f"https://t.me/{bot_username}?start={invite_code}"


def qr_png(text: str) -> bytes:
    """A QR code big enough to scan from a printed letter."""
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=8, border=4)
    return buffer.getvalue()


def invite_text(
    issued: IssuedInvite,
    t: Translator,
    *,
    telegram_username: str | None,
    zalo: bool,
    zalo_bot_url: str | None,
) -> Rich:
    """How to use the invite on each channel served: the link, the code to type, the expiry."""
    unit = bold(issued.unit.name(t.language))
    lines: list[str | Rich] = [
        t.rich(
            "Invite for {unit}. It works once and expires on {expires}.",
            unit=unit,
            expires=t.date(issued.expires_at),
        )
    ]
    if telegram_username:
        lines += ["", t("On Telegram, open:"), deep_link(telegram_username, issued.code)]
    if zalo:
        lines += ["", t("On Zalo, send this code to the bot:"), code(issued.code)]
        if zalo_bot_url:
            lines.append(t("The bot on Zalo: {url}", url=zalo_bot_url))
    return join("\n", lines)


def invite_outcome(issued: IssuedInvite, t: Translator, runtime: Runtime) -> Outcome:
    text = invite_text(
        issued,
        t,
        telegram_username=runtime.telegram_username,
        zalo=runtime.zalo_enabled,
        zalo_bot_url=runtime.zalo_bot_url,
    )
    replies = [Reply(text, expects_text=False)]
    if runtime.telegram_username:
        link = deep_link(runtime.telegram_username, issued.code)
        caption = t(
            "QR code for {unit}: print it in the invitation letter.",
            unit=issued.unit.name(t.language),
        )
        picture = FileOut(f"invite-{issued.unit.code}.png", qr_png(link), True, caption)
        replies.append(Reply("", expects_text=False, file=picture))
    return Outcome(replies)


@command("invite", N_("Invite link for a unit's focal point"), Audience.ADMIN, usage="<unit-code>")
async def invite(req: Request) -> Outcome:
    """A one-time invite for a unit, on every channel served."""
    t = req.t
    if not req.args:
        return say(t("Usage: /invite <unit-code>. /units lists the codes."))
    try:
        issued = req.services.registration.create_invite(req.args[0], actor=req.actor)
    except DomainError as error:
        return say(error.text.render(t))
    return invite_outcome(issued, t, req.runtime)
