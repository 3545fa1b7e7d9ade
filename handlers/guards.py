"""Run before every other handler (group -1): keep to private chats and load the writer."""

from __future__ import annotations

from telegram import Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.ext import ApplicationHandlerStop, BaseHandler, TypeHandler

from bot.context import RUNTIME_KEY, USER_KEY, BotContext
from commands.core import Runtime
from handlers.common import CHANNEL, identity_of
from handlers.notifier import TelegramNotifier


async def load_user(update: Update, context: BotContext) -> None:
    """Ignore groups and channels; put the writer's UserContext on the context."""
    chat = update.effective_chat
    if chat is None or chat.type != ChatType.PRIVATE or update.effective_user is None:
        # The bot serves people one to one; a group or channel gets no answer and no data.
        raise ApplicationHandlerStop
    if update.effective_user.is_bot:
        raise ApplicationHandlerStop
    if update.my_chat_member is not None:
        await _note_reachability(update, context)
        raise ApplicationHandlerStop
    identity = identity_of(update)
    assert identity is not None and context.user_data is not None
    user = context.services.accounts.load(identity)
    context.user_data[USER_KEY] = user
    runtime = context.bot_data.get(RUNTIME_KEY)
    if isinstance(runtime, Runtime) and runtime.fairness is not None:
        # Now the token bucket knows a stranger from someone the bot serves (bot.fair_queue).
        runtime.fairness.learn(
            (CHANNEL, identity.external_id), registered=user.is_registered, language=user.language
        )


async def _note_reachability(update: Update, context: BotContext) -> None:
    """A private chat member update says the person blocked (kicked) the bot: tell the office."""
    assert update.my_chat_member is not None
    status = update.my_chat_member.new_chat_member.status
    if status == ChatMemberStatus.BANNED:
        await context.services.reminders.report_unreachable(
            CHANNEL, str(update.my_chat_member.chat.id), TelegramNotifier(context.bot)
        )


HANDLERS: list[BaseHandler[Update, BotContext, None]] = [TypeHandler(Update, load_user)]
