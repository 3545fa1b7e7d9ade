"""Helpers of the Telegram adapter: the writer's identity from an update, replies."""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from typing import TypeVar

from telegram import Update

from bot.context import BotContext
from domain.identity import ChannelIdentity

CHANNEL = "telegram"

HandlerFunc = Callable[[Update, BotContext], Awaitable[None]]
F = TypeVar("F", bound=HandlerFunc)


def esc(text: object) -> str:
    """Escape anything a user or admin typed before it goes into an HTML message."""
    return html.escape(str(text), quote=False)


def identity_of(update: Update) -> ChannelIdentity | None:
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return None
    return ChannelIdentity(
        channel=CHANNEL,
        external_id=str(user.id),
        chat_id=str(chat.id),
        display_name=user.full_name,
        language_hint=user.language_code,
    )


async def reply(update: Update, text: str) -> None:
    """Answer in the chat the update came from."""
    message = update.effective_message
    if message is not None:
        await message.reply_text(text)
