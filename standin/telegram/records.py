"""What the stand-in keeps of the bot's traffic: each message sent or edited, each file."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from standin.html_check import EntityParseError, UnsupportedParseModeError, parse_text, strip_html
from standin.telegram.errors import JSON
from standin.telegram.validation import BUTTON_ACTIONS


@dataclass(slots=True)
class Upload:
    """A file part of a multipart request (kept in :attr:`SentMessage.params` for uploads)."""

    content: bytes
    filename: str | None
    content_type: str | None

    def __repr__(self) -> str:
        return f"Upload({self.filename!r}, {len(self.content)} bytes)"


@dataclass
class SentMessage:
    """One thing the bot sent or edited, as the stand-in received it."""

    method: str
    chat_id: int
    message_id: int
    text: str | None
    parse_mode: str | None
    reply_markup: JSON | None
    file_bytes: bytes | None = None
    file_name: str | None = None
    file_id: str | None = None
    params: JSON = field(default_factory=dict)

    @property
    def plain_text(self) -> str:
        """Text as the user sees it: markup removed, character references decoded."""
        if self.text is None:
            return ""
        if self.parse_mode and self.parse_mode.lower() == "html":
            return strip_html(self.text)
        try:
            return parse_text(self.text, self.parse_mode).text
        except (EntityParseError, UnsupportedParseModeError):
            return self.text

    @property
    def buttons(self) -> list[list[tuple[str, str]]]:
        """Rows of (text, callback_data or url) of the keyboard; reply keyboards give (text, "")."""
        markup = self.reply_markup or {}
        rows: list[list[tuple[str, str]]] = []
        for row in markup.get("inline_keyboard") or []:
            rows.append([(b.get("text", ""), _button_value(b)) for b in row])
        for row in markup.get("keyboard") or []:
            rows.append([(b, "") if isinstance(b, str) else (b.get("text", ""), "") for b in row])
        return rows

    def to_json(self) -> JSON:
        """Describe the message as JSON (file content replaced by its size), for the control API."""
        return {
            "method": self.method,
            "chat_id": self.chat_id,
            "message_id": self.message_id,
            "text": self.text,
            "plain_text": self.plain_text,
            "parse_mode": self.parse_mode,
            "reply_markup": self.reply_markup,
            "buttons": self.buttons,
            "file_name": self.file_name,
            "file_id": self.file_id,
            "file_size": None if self.file_bytes is None else len(self.file_bytes),
        }


def _button_value(button: JSON) -> str:
    for key in ("callback_data", "url"):
        if key in button:
            return str(button[key])
    for key in BUTTON_ACTIONS:
        if key in button:
            value = button[key]
            return value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return ""
