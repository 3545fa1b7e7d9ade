"""/start with an invite code (deep link), or a code typed as a message."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.context import USER_KEY, BotContext
from domain.registration import RegistrationError, looks_like_code
from handlers.common import esc, identity_of, reply
from handlers.help import help_text


async def start(update: Update, context: BotContext) -> None:
    """Register with the code in the deep link, or greet."""
    if context.args:
        await _register(update, context, context.args[0])
        return
    me, t = context.me, context.t
    if me.is_registered:
        await reply(update, t("Welcome back!") + "\n\n" + help_text(me, t))
        return
    await reply(
        update,
        t(
            "Hello! I help the focal points of the Committees for the Advancement of Women "
            "send their reports and receive reminders.\n\n"
            "To start, please open the invite link (or scan the QR code) that the standing "
            "office sent to your unit. If you have no link, please ask the standing office."
        ),
    )


async def register_typed_code(update: Update, context: BotContext) -> bool:
    """Someone not yet a focal point pasted a code instead of opening the link."""
    message = update.effective_message
    if context.me.is_focal_point or message is None or not message.text:
        return False
    if not looks_like_code(message.text):
        return False
    await _register(update, context, message.text)
    return True


async def _register(update: Update, context: BotContext, code: str) -> None:
    identity = identity_of(update)
    assert identity is not None
    t = context.t
    try:
        registration = context.services.registration.register(identity, code)
    except RegistrationError as error:
        await reply(update, error.text.render(t))
        return
    # Reload so the rest of this update (and /whoami) sees the new unit.
    assert context.user_data is not None
    context.user_data[USER_KEY] = context.services.accounts.load(identity)
    unit_name = esc(registration.unit.name(context.me.language))
    if registration.already_registered:
        await reply(update, t("You are already registered for <b>{unit}</b>.", unit=unit_name))
        return
    lines = [
        t("Welcome! You are now the focal point of <b>{unit}</b>.", unit=unit_name),
        "",
        t(
            "What happens next: I will remind you before each report is due (the 6-month "
            "report before 5 June, the annual report before 5 December) and during the action "
            "months. You fill in the reports here, step by step; what you type is saved at "
            "once, so you can stop and continue later."
        ),
    ]
    if registration.other_focal_points:
        lines += [
            "",
            t(
                "Your unit has other focal points too; you share the same reports.",
            ),
        ]
    lines += ["", t("Type /help to see what you can do.")]
    await reply(update, "\n".join(lines))


HANDLERS: list[BaseHandler[Update, BotContext, None]] = [CommandHandler("start", start)]
