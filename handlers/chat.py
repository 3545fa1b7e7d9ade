"""The Telegram adapter's handlers: each update becomes a neutral request to the command layer.

One ``CommandHandler`` per declared command, one for typed text and files, one for presses.
A reply to one of our announcements is passed on to the office (``handlers.broadcast``).
"""

from __future__ import annotations

from telegram import Message, Update
from telegram.ext import (
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.context import RUNTIME_KEY, BotContext
from commands import dispatch
from commands.core import TELEGRAM, Request, Runtime, declared
from commands.texts import STALE_CHOICE
from domain.broadcasts import Attachment, AttachmentKind
from domain.conversation import Outcome
from handlers.broadcast import pass_reply_on
from handlers.menus import refresh_chat_menu
from handlers.render import parse_callback, send_outcome


def request(update: Update, context: BotContext) -> Request:
    runtime = context.bot_data[RUNTIME_KEY]
    assert isinstance(runtime, Runtime)
    message = update.effective_message
    seq = message.message_id if message is not None and update.callback_query is None else None
    return Request(
        context.services,
        runtime,
        context.me,
        TELEGRAM,
        args=list(context.args or []),
        message_seq=seq,
    )


async def _deliver(update: Update, context: BotContext, req: Request, outcome: Outcome) -> None:
    shown: int | None = None
    try:
        shown = await send_outcome(update, context, outcome)
    finally:
        # What the outcome changed is stored: act on it even if showing it failed.
        await dispatch.finish(req, outcome, shown_message=shown)
    if outcome.menu_changed:
        await refresh_chat_menu(context.bot, req.me)


async def on_command(update: Update, context: BotContext) -> None:
    message = update.effective_message
    assert message is not None and message.text is not None
    req = request(update, context)
    word = message.text.split()[0][1:]
    await _deliver(update, context, req, await dispatch.run_command(req, word))


async def on_message(update: Update, context: BotContext) -> None:
    """Typed text, or a file (the office's announcement attachment), or anything else."""
    message = update.effective_message
    assert message is not None
    if message.reply_to_message is not None and await pass_reply_on(update, context, message):
        raise ApplicationHandlerStop
    req = request(update, context)
    text = message.text if message.text is not None else (message.caption or "")
    attachment = _attachment(message)
    if message.text is None and attachment is None:
        outcome = dispatch.fallback(req)
    else:
        outcome = await dispatch.on_text(req, text, attachment)
    await _deliver(update, context, req, outcome)


async def on_press(update: Update, context: BotContext) -> None:
    query = update.callback_query
    assert query is not None
    req = request(update, context)
    parsed = parse_callback(query.data or "")
    if parsed is None:
        outcome = Outcome(alert=req.t(STALE_CHOICE))
    else:
        scope, step, code = parsed
        message_id = query.message.message_id if isinstance(query.message, Message) else None
        outcome = dispatch.on_press(req, scope, step, code, message_id=message_id)
    await _deliver(update, context, req, outcome)


def _attachment(message: Message) -> Attachment | None:
    if message.photo:
        return Attachment(AttachmentKind.PHOTO, message.photo[-1].file_id)
    if message.document is not None:
        return Attachment(
            AttachmentKind.DOCUMENT, message.document.file_id, message.document.file_name
        )
    return None


def handlers() -> list[BaseHandler[Update, BotContext, None]]:
    """Every declared command (by name and alias), then text and files, then presses."""
    names = [name for spec in declared().values() for name in (spec.name, *spec.aliases)]
    return [
        CommandHandler(names, on_command),
        CallbackQueryHandler(on_press),
        MessageHandler(filters.ALL & ~filters.UpdateType.EDITED, on_message),
    ]
