"""The Bot API's answers when it refuses: an HTTP status, Telegram's description, retry_after.

PTB maps the HTTP status (not the ``ok`` field) to its exceptions, so every refusal carries the
status Telegram answers with.
"""

from __future__ import annotations

from typing import Any

#: A Bot API object or parameter set, as decoded JSON.
JSON = dict[str, Any]

CONFLICT_OTHER_POLL = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
CONFLICT_WEBHOOK = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


class ApiError(Exception):
    """An error answer: HTTP status, Telegram's description, optional retry_after."""

    def __init__(
        self,
        status: int,
        description: str,
        *,
        retry_after: int | None = None,
        deliberate: bool = False,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after
        self.deliberate = deliberate


def bad(description: str) -> ApiError:
    """A 400 Bad Request with Telegram's description."""
    return ApiError(400, f"Bad Request: {description}")
