"""Admin commands: /invite."""

from __future__ import annotations

import io

import segno
from telegram import InputFile, Update
from telegram.ext import BaseHandler, CommandHandler

from bot.context import BotContext
from domain.commands import Audience
from domain.errors import DomainError
from handlers.common import esc, reply, requires


def deep_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={code}"


def qr_png(text: str) -> bytes:
    """A QR code big enough to scan from a printed letter."""
    buffer = io.BytesIO()
    segno.make(text, error="m").save(buffer, kind="png", scale=8, border=4)
    return buffer.getvalue()


@requires(Audience.ADMIN)
async def invite(update: Update, context: BotContext) -> None:
    """/invite <unit-code>: a one-time deep link and its QR code for that unit."""
    t = context.t
    if not context.args:
        await reply(update, t("Usage: /invite &lt;unit-code&gt;. /units lists the codes."))
        return
    try:
        issued = context.services.registration.create_invite(
            context.args[0], actor=context.me.identity.actor
        )
    except DomainError as error:
        await reply(update, error.text.render(t))
        return
    link = deep_link(context.bot.username, issued.code)
    unit_name = esc(issued.unit.name(context.me.language))
    caption = t(
        "Invite for <b>{unit}</b>. It works once and expires on {expires}.\n{link}",
        unit=unit_name,
        expires=t.date(issued.expires_at),
        link=esc(link),
    )
    message = update.effective_message
    assert message is not None
    await reply(update, caption)
    await message.reply_photo(
        InputFile(qr_png(link), filename=f"invite-{issued.unit.code}.png"),
        caption=t("QR code for {unit}: print it in the invitation letter.", unit=unit_name),
    )


HANDLERS: list[BaseHandler[Update, BotContext, None]] = [CommandHandler("invite", invite)]
