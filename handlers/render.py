"""Render neutral replies as Telegram messages: escaped HTML, inline keyboards, edits, files."""

from __future__ import annotations

import html

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message, Update
from telegram.error import BadRequest

from bot.context import BotContext
from domain.conversation import Outcome, Reply
from domain.rich import Mark, Rich, Span, as_rich
from domain.text import split_text, utf16_len
from handlers.common import esc

# Telegram's limit is 4096 characters after entity parsing; keep a margin for the title.
MAX_MESSAGE_CHARS = 3800
MAX_CAPTION_CHARS = 1024
FORM_SEPARATOR = "|"
SCOPE_PREFIX = {"bc": "bc:"}  # the forms' data starts with a digit ("<step>|<code>")
_TAGS = {Mark.BOLD: "b", Mark.ITALIC: "i", Mark.CODE: "code"}


def callback_data(reply: Reply, code: str) -> str:
    prefix = SCOPE_PREFIX.get(reply.scope)
    data = prefix + code if prefix else f"{reply.step or 0}{FORM_SEPARATOR}{code}"
    if len(data.encode("utf-8")) > 64:  # Bot API limit, in bytes
        raise ValueError(f"callback data too long: {data!r}")
    return data


def parse_callback(data: str) -> tuple[str, int, str] | None:
    """(scope, step, code) of a press; None for data no reply of ours carries."""
    for scope, prefix in SCOPE_PREFIX.items():
        if data.startswith(prefix):
            return scope, 0, data[len(prefix) :]
    step, sep, code = data.partition(FORM_SEPARATOR)
    if not sep or not step.removeprefix("-").isdigit() or len(step) > 10:
        return None  # forms number their steps; -1 is a submitted report's "amend"
    return "form", int(step), code


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.actions:
        return None
    return InlineKeyboardMarkup(
        [
            [InlineKeyboardButton(a.label, callback_data=callback_data(reply, a.code)) for a in row]
            for row in reply.actions
        ]
    )


def span_html(span: Span) -> str:
    text = esc(span.text)
    if span.mark is Mark.LINK and span.url:
        return f'<a href="{html.escape(span.url, quote=True)}">{text}</a>'
    tag = _TAGS.get(span.mark) if span.mark else None
    return f"<{tag}>{text}</{tag}>" if tag else text


def to_html(text: Rich | str) -> str:
    return "".join(span_html(span) for span in as_rich(text).spans)


def rich_chunks(text: Rich, limit: int) -> list[Rich]:
    """Split at line breaks into chunks whose visible text fits ``limit``, marks kept."""
    chunks: list[Rich] = []
    current: Rich | None = None
    for line in text.lines():
        if utf16_len(line.plain) > limit:  # one enormous line: cut it as plain text
            if current is not None:
                chunks.append(current)
                current = None
            chunks += [as_rich(part) for part in split_text(line.plain, limit)]
            continue
        candidate = line if current is None else current + "\n" + line
        if current is not None and utf16_len(candidate.plain) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current is not None or not chunks:
        chunks.append(current if current is not None else Rich())
    return chunks


def html_chunks(reply: Reply) -> list[str]:
    """The reply's title and body as HTML messages within Telegram's limit."""
    body = as_rich(reply.body)
    if reply.title:
        title = Rich(tuple(Span(s.text, Mark.BOLD) for s in as_rich(reply.title).spans))
        body = title + "\n" + body if body else title
    return [to_html(chunk) for chunk in rich_chunks(body, MAX_MESSAGE_CHARS)]


async def send_outcome(update: Update, context: BotContext, outcome: Outcome) -> int | None:
    """Answer the press, send (or edit) every reply; the id of the last message shown."""
    query = update.callback_query
    if query is not None:
        await query.answer(
            outcome.alert[:200] if outcome.alert else None, show_alert=bool(outcome.alert)
        )
        if outcome.clear_choices and isinstance(query.message, Message):
            await _clear_keyboard(query.message)
    elif outcome.alert:
        await _send(update, context, esc(outcome.alert))
    chat = update.effective_chat
    assert chat is not None
    shown: int | None = None
    for reply in outcome.replies:
        shown = await _show(update, context, reply) or shown
    return shown


async def _show(update: Update, context: BotContext, reply: Reply) -> int | None:
    query = update.callback_query
    markup = keyboard(reply)
    shown: int | None = None
    if reply.body or reply.title:
        chunks = html_chunks(reply)
        target = query.message if query is not None else None
        if reply.replace and isinstance(target, Message) and len(chunks) == 1:
            try:
                await target.edit_text(chunks[0], reply_markup=markup)
            except BadRequest as error:
                if "not modified" not in str(error).lower():
                    raise
            return target.message_id
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            sent = await _send(update, context, chunk, markup if last else None)
            shown = sent.message_id
    if reply.file is not None:
        caption = to_html(rich_chunks(as_rich(reply.file.caption), MAX_CAPTION_CHARS)[0])
        document = InputFile(reply.file.content, filename=reply.file.name)
        chat_id = _chat_id(update)
        if reply.file.picture:
            sent = await context.bot.send_photo(chat_id, document, caption=caption or None)
        else:
            sent = await context.bot.send_document(chat_id, document, caption=caption or None)
        shown = sent.message_id
    return shown


def _chat_id(update: Update) -> int:
    assert update.effective_chat is not None
    return update.effective_chat.id


async def _send(
    update: Update, context: BotContext, text: str, markup: InlineKeyboardMarkup | None = None
) -> Message:
    return await context.bot.send_message(_chat_id(update), text, reply_markup=markup)


async def _clear_keyboard(message: Message) -> None:
    if message.reply_markup is None or not message.reply_markup.inline_keyboard:
        return
    try:
        await message.edit_reply_markup(reply_markup=None)
    except BadRequest as error:  # pressed twice in a row: the first press removed it
        if "not modified" not in str(error).lower():
            raise
