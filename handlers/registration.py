"""/start with an invite code (deep link), or a code typed as a message."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, MessageHandler, filters

from bot.context import USER_KEY, BotContext
from domain.registration import RegistrationError, looks_like_code
from handlers.common import esc, identity_of, reply
from handlers.help import fallback, help_text


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


async def typed_code(update: Update, context: BotContext) -> None:
    """Someone not yet registered pasted a code instead of opening the link."""
    assert update.effective_message is not None and update.effective_message.text
    if context.me.is_focal_point:
        await fallback(update, context)
        return
    await _register(update, context, update.effective_message.text)


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


def _unregistered_code_filter() -> filters.BaseFilter:
    class _LooksLikeCode(filters.MessageFilter):
        def filter(self, message: object) -> bool:
            text = getattr(message, "text", None)
            return isinstance(text, str) and looks_like_code(text)

    return _LooksLikeCode()


HANDLERS: list[BaseHandler[Update, BotContext, None]] = [CommandHandler("start", start)]

# Registered after every other handler: a form answer must never be taken for a code.
FALLBACK_HANDLERS: list[BaseHandler[Update, BotContext, None]] = [
    MessageHandler(filters.TEXT & ~filters.COMMAND & _unregistered_code_filter(), typed_code),
]
