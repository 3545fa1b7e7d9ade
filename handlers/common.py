"""Helpers every handler module uses: identity from an update, access checks, replies."""

from __future__ import annotations

import functools
import html
from collections.abc import Awaitable, Callable
from typing import TypeVar

from telegram import Update

from bot.context import BotContext
from domain.commands import Audience, may_use
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


def requires(audience: Audience) -> Callable[[F], F]:
    """Re-check the role on every call: the command menu is only cosmetic."""

    def decorate(handler: F) -> F:
        @functools.wraps(handler)
        async def guarded(update: Update, context: BotContext) -> None:
            if not may_use(context.me, audience):
                t = context.t
                if audience is Audience.REGISTERED:
                    await reply(
                        update,
                        t(
                            "This is for registered focal points. Please open the invite link "
                            "the standing office sent you."
                        ),
                    )
                else:
                    await reply(update, t("Sorry, this command is only for the standing office."))
                return
            await handler(update, context)

        return guarded  # type: ignore[return-value]

    return decorate
