"""A thin async client of the Zalo Bot API on httpx.

Every method is ``POST {base}/bot{TOKEN}/{method}`` with a JSON body; answers are
``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code": ..., "description": ...}``.
Facts the code relies on (from the public documentation and open-source clients):

- ``getUpdates`` is a long poll that returns **one** update (no offset); an idle poll answers
  HTTP 408, which means "nothing new", not a failure.
- ``sendMessage`` takes 1-2,000 characters: longer texts are sent in parts split at line breaks.
- The token is part of the URL, so no error or log line of this module ever contains the URL.

What the documentation does not say, and the choices made here:

- No send rate is documented. Sends are paced per token by a token bucket
  (``ZALO_SEND_RATE``, default 5 a second, a second's worth saved up), and a 429 holds every
  send of the token for its ``Retry-After`` (header, or ``parameters.retry_after``).
- 429, 5xx and a connection that failed before any answer are tried again, with backoff, a
  few times (``RetryPolicy``); a time-out is not (the message may have arrived).
- A refused token (401 on any call, 403 or 404 on a call about no one chat, or a 403 on a
  send when getMe is refused too) is final: ``on_refused`` is called once, and every later
  call fails at once with ``ZaloTokenError``. A 403 on a send while getMe works is one
  person who blocked the bot.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Self

import httpx

from domain.delivery import TokenBucket
from domain.send_budget import SEND_PRIORITY, Priority
from zalo.text import MAX_MESSAGE_CHARS, split_text

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://bot-api.zaloplatforms.com"
DEFAULT_SEND_RATE = 5.0
IDLE_POLL = 408
JSON = dict[str, Any]
# Calls about one chat: a 403 there may be that person blocking the bot, not the token.
CHAT_METHODS = frozenset({"sendMessage", "sendPhoto", "sendSticker", "sendChatAction"})

Sleep = Callable[[float], Awaitable[None]]


class ZaloError(Exception):
    """An error answer (or no answer) of the Zalo Bot API; never carries the token."""

    def __init__(
        self, method: str, status: int, description: str, *, retry_after: float | None = None
    ) -> None:
        super().__init__(f"{method}: {status} {description}")
        self.method = method
        self.status = status  # the HTTP status, or 0 when the server could not be reached
        self.description = description
        self.retry_after = retry_after  # seconds Zalo asked us to wait (429), if it said

    @property
    def retryable(self) -> bool:
        """A passing fault: no answer, rate limited, or a server error."""
        return self.status in {0, 429} or self.status >= 500


class ZaloNetworkError(ZaloError):
    """The server could not be reached or did not answer in time."""

    def __init__(self, method: str, description: str, *, maybe_delivered: bool = False) -> None:
        super().__init__(method, 0, description)
        # A time-out after the request went out: Zalo may have carried it out.
        self.maybe_delivered = maybe_delivered


class ZaloTokenError(ZaloError):
    """Zalo refused the bot itself (a revoked or wrong token): nothing works until it is fixed."""


RefusedHook = Callable[[ZaloTokenError], Awaitable[object]]


@dataclass(frozen=True)
class RetryPolicy:
    """How often one send is tried when Zalo is busy or failing, and how long between tries."""

    attempts: int = 4  # tries of one send, the first included
    backoff: float = 0.5  # seconds before the second try; doubled before each next one
    max_wait: float = 60.0  # a longer Retry-After is not waited out here: the ledgers retry

    def delay(self, error: ZaloError, failures: int) -> float | None:
        """Seconds before trying again after ``failures`` failed tries; None: give up."""
        if failures >= self.attempts or not error.retryable:
            return None
        if isinstance(error, ZaloNetworkError) and error.maybe_delivered:
            return None  # sending again could deliver it twice
        if error.retry_after is not None:
            return error.retry_after if error.retry_after <= self.max_wait else None
        return min(self.max_wait, self.backoff * 2.0 ** (failures - 1))


class SendPacer:
    """One token's send budget: ``rate`` messages a second, a second's worth saved up.

    Every send of the token waits its turn here (replies, reminders and notices alike), and
    a 429 holds them all for its ``Retry-After``: the platform limits the token, not a chat.
    Replies go first: bulk sends (``domain.send_budget.bulk_sends``) queue behind a gate of
    their own, so at most one of them stands before a reply, and it steps back when one waits.
    """

    def __init__(
        self,
        rate: float = DEFAULT_SEND_RATE,
        *,
        burst: float | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("the send rate must be positive")
        self.rate = rate
        self._monotonic = monotonic
        self._sleep = sleep
        self._bucket = TokenBucket(
            rate, burst if burst is not None else max(1.0, rate), monotonic()
        )
        self._resume_at = 0.0
        self._lock = asyncio.Lock()
        self._bulk_gate = asyncio.Lock()
        self._replies_waiting = 0

    async def wait(self) -> None:
        """Return when one more message may go out: replies first, then in arrival order."""
        if SEND_PRIORITY.get() is Priority.BULK:
            async with self._bulk_gate:
                while True:
                    async with self._lock:
                        if not self._replies_waiting and await self._take():
                            return
                    await asyncio.sleep(0)  # a reply is waiting: let it have the lock
        self._replies_waiting += 1
        try:
            async with self._lock:
                while not await self._take():
                    pass
        finally:
            self._replies_waiting -= 1

    async def _take(self) -> bool:
        """Take a token if one is there; else wait for the next one and say False."""
        now = self._monotonic()
        delay = max(self._resume_at - now, self._bucket.delay(now))
        if delay <= 0:
            self._bucket.take(now)
            return True
        await self._sleep(delay)
        return False

    def hold(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (Zalo answered 429)."""
        self._resume_at = max(self._resume_at, self._monotonic() + seconds)


class ZaloClient:
    """The Zalo Bot API methods this bot uses. Close it with ``aclose`` (or ``async with``)."""

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
        pacer: SendPacer | None = None,
        retry: RetryPolicy = RetryPolicy(),
        sleep: Sleep = asyncio.sleep,
        on_refused: RefusedHook | None = None,
    ) -> None:
        if not token:
            raise ValueError("a Zalo bot token is needed")
        self._token = token
        self._base = base_url.rstrip("/")
        self._timeout = timeout
        self._http = httpx.AsyncClient(timeout=timeout, transport=transport)
        # One client per token in a process, so its pacer is the token's whole send budget.
        self.pacer = pacer if pacer is not None else SendPacer()
        self.retry = retry
        self._sleep = sleep
        # Called once when Zalo refuses the token (set after the office can be reached).
        self.on_refused = on_refused
        self.refused: ZaloTokenError | None = None
        self._refused_event = asyncio.Event()

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
        """Call ``method``; the result, or ZaloError with the HTTP status and description.

        A send waits for the token's pacer and is tried again on a passing fault; a refused
        token raises ZaloTokenError (and, the first time, calls ``on_refused``).
        """
        sending = method in CHAT_METHODS
        failures = 0
        while True:
            if self.refused is not None:
                raise self._refusal()
            if sending:
                await self.pacer.wait()
            try:
                return await self._request(method, params, timeout)
            except ZaloError as error:
                if await self._token_refused(method, error):
                    raise self._refusal() from None
                failures += 1
                wait = self.retry.delay(error, failures) if sending else None
                if wait is None:
                    raise
                log.info("Zalo %s: %s; try %d in %.1f s", method, error.status, failures + 1, wait)
                if error.status == 429:
                    self.pacer.hold(wait)  # the whole token waits, not only this chat
                else:
                    await self._sleep(wait)

    async def _request(self, method: str, params: JSON | None, timeout: float | None) -> Any:
        """One HTTP call: the result, or ZaloError."""
        url = f"{self._base}/bot{self._token}/{method}"
        try:
            response = await self._http.post(
                url, json=params or {}, timeout=timeout if timeout is not None else self._timeout
            )
        except httpx.HTTPError as error:
            # httpx errors may quote the request URL: keep only the kind and a redacted text.
            description = self.redact(f"{type(error).__name__}: {error}")
            late = isinstance(error, httpx.ReadTimeout | httpx.WriteTimeout)
            raise ZaloNetworkError(method, description, maybe_delivered=late) from None
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
        raise ZaloError(method, status, description, retry_after=_retry_after(response, payload))

    # ------------------------------------------------------------------ a refused token
    async def _token_refused(self, method: str, error: ZaloError) -> bool:
        """Whether ``error`` means the token itself is refused (then the hook has run)."""
        # 404 on getMe or getUpdates: no bot at this address with this token.
        refused = error.status == 401 or (error.status in {403, 404} and method not in CHAT_METHODS)
        if not refused and error.status == 403:
            # Blocked by one person, or the token is gone? getMe tells them apart.
            try:
                await self._request("getMe", None, None)
            except ZaloError as probe:
                if probe.status not in {401, 403}:
                    return False
                method, error, refused = "getMe", probe, True
        if not refused:
            return False
        if self.refused is None:
            self.refused = ZaloTokenError(method, error.status, error.description)
            self._refused_event.set()
            if self.on_refused is not None:
                try:
                    await self.on_refused(self.refused)
                except Exception:
                    log.exception("could not handle the refused Zalo token")
        return True

    def _refusal(self) -> ZaloTokenError:
        """A fresh copy of the refusal (re-raising one object would pile up tracebacks)."""
        assert self.refused is not None
        refused = self.refused
        return ZaloTokenError(refused.method, refused.status, refused.description)

    async def wait_refused(self) -> ZaloTokenError:
        """Return once Zalo has refused the token (for a process that has only this channel)."""
        await self._refused_event.wait()
        return self._refusal()

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


def _retry_after(response: httpx.Response, payload: JSON) -> float | None:
    """Seconds to wait from a ``Retry-After`` header, or Telegram-style ``retry_after``."""
    parameters = payload.get("parameters")
    candidates = (
        response.headers.get("Retry-After"),
        parameters.get("retry_after") if isinstance(parameters, dict) else None,
    )
    for value in candidates:
        try:
            seconds = float(value) if value is not None else None
        except (TypeError, ValueError):
            continue  # an HTTP date: rare enough to fall back on our own backoff
        if seconds is not None and seconds >= 0:
            return seconds
    return None


def _message_id(result: Any) -> str:
    if isinstance(result, dict) and result.get("message_id") is not None:
        return str(result["message_id"])
    return ""
