"""What Telegram refuses in what a bot sends: text and caption lengths, markup, keyboards.

Lengths count UTF-16 units after entity parsing, HTML must parse, ``callback_data`` is limited
in bytes: the mistakes that otherwise only show in production.
"""

from __future__ import annotations

import re
from typing import Any

from standin.html_check import (
    EntityParseError,
    ParsedText,
    UnsupportedParseModeError,
    parse_text,
    utf16_len,
)
from standin.telegram.errors import JSON, bad

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_CALLBACK_ANSWER = 200
MAX_BUTTONS = 100
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024

#: The fields of an inline button, exactly one of which says what it does.
BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_URL = re.compile(r"^(?:(?:https?|tg)://\S+|[A-Za-z0-9.-]+\.[A-Za-z]{2,}(?:/\S*)?)$")


def parse(text: str, parse_mode: Any, entities: Any) -> ParsedText:
    if parse_mode and not isinstance(parse_mode, str):
        raise bad("unsupported parse_mode")
    try:
        parsed = parse_text(text, parse_mode or None)
    except EntityParseError as error:
        raise bad(f"can't parse entities: {error}") from None
    except UnsupportedParseModeError:
        raise bad("unsupported parse_mode") from None
    if not parse_mode and isinstance(entities, list):
        parsed.entities = entities
    return parsed


def check_text(params: JSON) -> ParsedText:
    text = params.get("text")
    if not isinstance(text, str) or not text.strip():
        raise bad("message text is empty")
    parsed = parse(text, params.get("parse_mode"), params.get("entities"))
    if not parsed.text.strip():
        raise bad("message text is empty")
    if utf16_len(parsed.text) > MAX_TEXT:
        raise bad("message is too long")
    return parsed


def check_caption(params: JSON) -> ParsedText | None:
    caption = params.get("caption")
    if caption is None or caption == "":
        return None
    if not isinstance(caption, str):
        raise bad("caption must be a String")
    parsed = parse(caption, params.get("parse_mode"), params.get("caption_entities"))
    if utf16_len(parsed.text) > MAX_CAPTION:
        raise bad("message caption is too long")
    return parsed


def check_markup(markup: Any, *, inline_only: bool = False) -> JSON | None:
    """Validate reply_markup like Telegram; return it (parsed) or None."""
    if markup is None or markup == "":
        return None
    if not isinstance(markup, dict):
        raise bad("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        check_inline_keyboard(markup["inline_keyboard"])
        return markup
    if inline_only:
        raise bad("inline keyboard expected")
    if "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise bad('field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays')
        for row in rows:
            for button in row:
                text = button if isinstance(button, str) else (button or {}).get("text")
                if not isinstance(text, str) or not text:
                    raise bad("can't parse keyboard button: Text must be non-empty")
        return markup
    if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
        return markup
    raise bad("can't parse reply keyboard markup JSON object")


def check_inline_keyboard(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    count = 0
    for row in rows:
        for button in row:
            count += 1
            if not isinstance(button, dict):
                raise bad(
                    "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
                )
            text = button.get("text")
            if not isinstance(text, str) or not text:
                raise bad("can't parse inline keyboard button: Text must be non-empty")
            actions = [key for key in BUTTON_ACTIONS if key in button]
            if not actions:
                raise bad(
                    "can't parse inline keyboard button: Text buttons are unallowed in the "
                    "inline keyboard"
                )
            if len(actions) > 1:
                raise bad(
                    "can't parse inline keyboard button: exactly one of the optional fields "
                    f"must be used, got {actions}"
                )
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                    raise bad("BUTTON_DATA_INVALID")
            if "url" in button:
                url = button["url"]
                if not isinstance(url, str) or not _URL.match(url):
                    raise bad("BUTTON_URL_INVALID")
    if count > MAX_BUTTONS:
        raise bad("reply markup is too long")
