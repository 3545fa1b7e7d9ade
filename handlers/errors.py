"""The one error handler: log with the traceback, tell the user something useful."""

from __future__ import annotations

import contextlib
import logging

from telegram import Update
from telegram.error import Forbidden

from bot.context import BotContext
from commands.texts import SORRY
from domain.i18n import translator_for
from handlers.common import CHANNEL

log = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    error = context.error
    if isinstance(error, Forbidden) and isinstance(update, Update) and update.effective_chat:
        # The person blocked the bot or deleted their account: stop writing to them.
        context.services.accounts.mark_unreachable(CHANNEL, str(update.effective_chat.id))
        return
    log.error("error while handling an update", exc_info=error)
    if not isinstance(update, Update) or update.effective_message is None:
        return
    language = update.effective_user.language_code if update.effective_user else None
    with contextlib.suppress(LookupError):
        language = context.me.language
    t = translator_for(language)
    try:
        await update.effective_message.reply_text(t(SORRY))
    except Exception:
        log.warning("could not tell the user about the error")
