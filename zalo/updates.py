"""Read Zalo updates: ``{"event_name": ..., "message": {...}}``, with or without the
``{"ok": ..., "result": ...}`` wrapper that getUpdates (and some webhook bodies) put around it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

TEXT_EVENT = "message.text.received"


@dataclass(frozen=True)
class IncomingMessage:
    """One message a person sent to the bot. Ids are strings, as Zalo gives them."""

    event: str
    message_id: str
    user_id: str
    display_name: str
    chat_id: str
    private: bool
    text: str | None
    sent_at: datetime | None = None

    @property
    def is_text(self) -> bool:
        return self.event == TEXT_EVENT and self.text is not None

    def to_json(self) -> str:
        """For the inbox (a crash replays it from there)."""
        fields = {**asdict(self), "sent_at": self.sent_at.isoformat() if self.sent_at else None}
        return json.dumps(fields, ensure_ascii=False)

    @classmethod
    def from_json(cls, encoded: str) -> IncomingMessage:
        fields = json.loads(encoded)
        sent_at = fields.get("sent_at")
        fields["sent_at"] = datetime.fromisoformat(sent_at) if sent_at else None
        return cls(**fields)


def parse_updates(payload: object) -> list[IncomingMessage]:
    """The messages in a getUpdates answer or a webhook body; anything else gives []."""
    if isinstance(payload, dict) and "result" in payload and "event_name" not in payload:
        payload = payload["result"]
    items = payload if isinstance(payload, list) else [payload]
    messages = [_message(item) for item in items if isinstance(item, dict)]
    return [message for message in messages if message is not None]


def _message(update: dict[str, Any]) -> IncomingMessage | None:
    message = update.get("message")
    if not isinstance(message, dict):
        return None
    sender = message.get("from") if isinstance(message.get("from"), dict) else {}
    chat = message.get("chat") if isinstance(message.get("chat"), dict) else {}
    assert isinstance(sender, dict) and isinstance(chat, dict)
    user_id, message_id = sender.get("id"), message.get("message_id")
    chat_id = chat.get("id") or user_id
    if user_id in (None, "") or message_id in (None, "") or chat_id in (None, ""):
        return None
    text = message.get("text")
    return IncomingMessage(
        event=str(update.get("event_name") or ""),
        message_id=str(message_id),
        user_id=str(user_id),
        display_name=_name(sender),
        chat_id=str(chat_id),
        private=str(chat.get("chat_type") or "PRIVATE").upper() == "PRIVATE",
        text=text if isinstance(text, str) else None,
        sent_at=_when(message.get("date")),
    )


def _name(sender: dict[str, Any]) -> str:
    """The person's name: ``display_name`` in the events we see, ``first_name`` in the
    getUpdates sample of Zalo's documentation, ``name`` in some clients: the first given."""
    for key in ("display_name", "first_name", "name"):
        value = sender.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def _when(value: object) -> datetime | None:
    """Zalo dates are milliseconds since the epoch."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value / 1000, UTC)
    return None
