"""Render domain replies as Telegram messages: escaped HTML, inline keyboards, split texts."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest

from bot.context import BotContext
from domain.conversation import Outcome, Reply
from domain.text import split_text as split_lines
from handlers.common import esc

# Telegram's limit is 4096 characters after entity parsing; keep a margin for the title.
MAX_MESSAGE_CHARS = 3800
SEPARATOR = "|"


def callback_data(step: int | None, code: str) -> str:
    data = f"{step or 0}{SEPARATOR}{code}"
    if len(data.encode("utf-8")) > 64:  # Bot API limit, in bytes
        raise ValueError(f"callback data too long: {data!r}")
    return data


def parse_callback(data: str) -> tuple[int, str] | None:
    step, sep, code = data.partition(SEPARATOR)
    if not sep:
        return None
    try:
        return int(step), code
    except ValueError:
        return None


def split_text(text: str, limit: int = MAX_MESSAGE_CHARS) -> list[str]:
    """Split a text into Telegram-sized chunks at line breaks."""
    return split_lines(text, limit)


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.actions:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    action.label, callback_data=callback_data(reply.step, action.code)
                )
                for action in row
            ]
            for row in reply.actions
        ]
    )


def html_chunks(reply: Reply) -> list[str]:
    chunks = split_text(reply.body)
    if reply.title:
        chunks[0] = (
            f"<b>{esc(reply.title)}</b>\n{esc(chunks[0])}"
            if chunks[0]
            else f"<b>{esc(reply.title)}</b>"
        )
        return [chunks[0], *(esc(c) for c in chunks[1:])]
    return [esc(c) for c in chunks]


async def send_outcome(update: Update, context: BotContext, outcome: Outcome) -> None:
    """Send every reply of ``outcome``; answer the button press (with the alert, if any)."""
    query = update.callback_query
    if query is not None:
        await query.answer(
            outcome.alert[:200] if outcome.alert else None, show_alert=bool(outcome.alert)
        )
    chat = update.effective_chat
    assert chat is not None
    for reply in outcome.replies:
        chunks = html_chunks(reply)
        markup = keyboard(reply)
        if (
            reply.replace
            and query is not None
            and isinstance(query.message, Message)
            and len(chunks) == 1
        ):
            try:
                await query.message.edit_text(chunks[0], reply_markup=markup)
                continue
            except BadRequest as error:
                if "not modified" in str(error).lower():
                    continue
                raise
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            await context.bot.send_message(chat.id, chunk, reply_markup=markup if last else None)
