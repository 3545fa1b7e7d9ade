"""A thin async client of the Zalo Bot API on httpx.

Every method is ``POST {base}/bot{TOKEN}/{method}`` with a JSON body; answers are
``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": ..., "description": ...}``.
Facts the code relies on (from the public documentation and open-source clients):

- ``getUpdates`` is a long poll that returns **one** update (no offset); an idle poll answers
  HTTP 408, which means "nothing new", not a failure.
- ``sendMessage`` takes 1-2,000 characters: longer texts are sent in parts split at line breaks.
- The token is part of the URL, so no error or log line of this module ever contains the URL.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any, Self

import httpx

from zalo.text import MAX_MESSAGE_CHARS, split_text

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://bot-api.zaloplatforms.com"
IDLE_POLL = 408
JSON = dict[str, Any]


class ZaloError(Exception):
    """An error answer (or no answer) of the Zalo Bot API; never carries the token."""

    def __init__(self, method: str, status: int, description: str) -> None:
        super().__init__(f"{method}: {status} {description}")
        self.method = method
        self.status = status  # the HTTP status, or 0 when the server could not be reached
        self.description = description

    @property
    def retryable(self) -> bool:
        """A passing fault: no answer, rate limited, or a server error."""
        return self.status in {0, 429} or self.status >= 500


class ZaloNetworkError(ZaloError):
    """The server could not be reached or did not answer in time."""

    def __init__(self, method: str, description: str) -> None:
        super().__init__(method, 0, description)


class ZaloClient:
    """The Zalo Bot API methods this bot uses. Close it with ``aclose`` (or ``async with``)."""

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if not token:
            raise ValueError("a Zalo bot token is needed")
        self._token = token
        self._base = base_url.rstrip("/")
        self._timeout = timeout
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    def redact(self, text: str) -> str:
        """``text`` with the token replaced (for messages that may quote a URL)."""
        return text.replace(self._token, "[REDACTED]")

    async def call(
        self, method: str, params: JSON | None = None, *, timeout: float | None = None
    ) -> Any:
        """Call ``method``; the result, or ZaloError with the HTTP status and description."""
        url = f"{self._base}/bot{self._token}/{method}"
        try:
            response = await self._http.post(
                url, json=params or {}, timeout=timeout if timeout is not None else self._timeout
            )
        except httpx.HTTPError as error:
            # httpx errors may quote the request URL: keep only the kind and a redacted text.
            description = self.redact(f"{type(error).__name__}: {error}")
            raise ZaloNetworkError(method, description) from None
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            payload = {"ok": False, "description": response.reason_phrase or "no JSON answer"}
        if response.is_success and payload.get("ok", True):
            return payload.get("result")
        description = self.redact(str(payload.get("description") or response.reason_phrase))
        status = response.status_code if not response.is_success else _code(payload)
        raise ZaloError(method, status, description)

    # ------------------------------------------------------------------ methods
    async def get_me(self) -> JSON:
        result = await self.call("getMe")
        return result if isinstance(result, dict) else {}

    async def get_updates(self, timeout: int = 30) -> list[JSON]:
        """Wait up to ``timeout`` seconds for the next update; [] when none came (HTTP 408)."""
        try:
            result = await self.call(
                "getUpdates", {"timeout": str(timeout)}, timeout=timeout + self._timeout
            )
        except ZaloError as error:
            if error.status == IDLE_POLL:
                return []
            raise
        if isinstance(result, list):
            return [update for update in result if isinstance(update, dict)]
        return [result] if isinstance(result, dict) and result else []

    async def send_message(self, chat_id: str, text: str) -> list[str]:
        """Send ``text``, in several messages if it is over 2,000 characters; their ids."""
        if not text.strip():
            raise ValueError("Zalo refuses an empty message")
        ids = []
        for part in split_text(text, MAX_MESSAGE_CHARS):
            result = await self.call("sendMessage", {"chat_id": chat_id, "text": part})
            ids.append(_message_id(result))
        return ids

    async def send_photo(self, chat_id: str, photo_url: str, caption: str | None = None) -> str:
        """Send the image at ``photo_url`` (Zalo fetches it), with an optional caption."""
        params: JSON = {"chat_id": chat_id, "photo": photo_url}
        if caption:
            params["caption"] = caption[:MAX_MESSAGE_CHARS]
        return _message_id(await self.call("sendPhoto", params))

    async def send_chat_action(self, chat_id: str, action: str = "typing") -> None:
        await self.call("sendChatAction", {"chat_id": chat_id, "action": action})

    async def set_webhook(self, url: str, secret_token: str) -> None:
        await self.call("setWebhook", {"url": url, "secret_token": secret_token})

    async def delete_webhook(self) -> None:
        await self.call("deleteWebhook")

    async def get_webhook_info(self) -> JSON:
        result = await self.call("getWebhookInfo")
        return result if isinstance(result, dict) else {}


def _code(payload: JSON) -> int:
    code = payload.get("error_code")
    return code if isinstance(code, int) else 400


def _message_id(result: Any) -> str:
    if isinstance(result, dict) and result.get("message_id") is not None:
        return str(result["message_id"])
    return ""
