"""A local stand-in of the Zalo Bot API, for end-to-end tests and the demo.

The bot's own httpx client talks to it over HTTP as it would to bot-api.zaloplatforms.com:
``POST /bot{TOKEN}/{method}`` with a JSON body, answers ``{"ok": true, "result": ...}`` or
``{"ok": false, "error_code": N, "description": "..."}`` with the same HTTP status. As the
platform does: getUpdates is a long poll that returns one update and answers HTTP 408 when
idle; sendMessage takes 1-2,000 characters; setWebhook takes a secret that comes back in the
``X-Bot-Api-Secret-Token`` header of every delivery. Error descriptions are our own wording
(the platform's exact texts are not documented). Every 4xx the bot did not provoke on purpose
is kept in :attr:`FakeZalo.bad_requests` for tests to assert on.

Scenarios a test can switch on: :meth:`FakeZalo.revoke_token` (every call answers 401, as when
the token is reset in Zalo Bot Manager) and :meth:`FakeZalo.inject_fault` (the next calls of a
method fail, e.g. 429 with ``Retry-After``). The platform documents neither a rate limit nor a
monthly count in the API, so the stand-in enforces none and reports none.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

__all__ = ["FakeZalo", "ZaloSent"]

JSON = dict[str, Any]
MAX_TEXT = 2000
MAX_POLL_SECONDS = 50.0
SECRET_HEADER = "X-Bot-Api-Secret-Token"

_LOGGER = logging.getLogger(__name__)


class _ApiError(Exception):
    def __init__(
        self,
        status: int,
        description: str,
        *,
        deliberate: bool = False,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.deliberate = deliberate
        self.retry_after = retry_after


@dataclass
class _Fault:
    """``remaining`` more calls of ``method`` ("*": any but getUpdates) fail with ``status``."""

    method: str
    status: int
    retry_after: int | None
    remaining: int


@dataclass
class ZaloSent:
    """One message the bot sent: its text (or a photo's caption) as the person reads it."""

    method: str
    chat_id: str
    message_id: str
    text: str
    photo: str | None = None


def _length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class FakeZalo:
    """An in-memory Zalo Bot API server that the bot's ``ZaloClient`` can talk to."""

    def __init__(
        self, token: str = "1122334455667788990:ZALO-test-token", *, bot_name: str = "Bot VSTBPN"
    ) -> None:
        self.token = token
        self.bot_id = token.partition(":")[0] or "1122334455667788990"
        self.bot_name = bot_name
        self.url = ""
        #: Every message the bot sent, in order.
        self.sent: list[ZaloSent] = []
        #: (method, description) of every 4xx answered that the scenario did not ask for.
        self.bad_requests: list[tuple[str, str]] = []
        #: (method, status, description) of every deliberate refusal (a blocked user).
        self.faults: list[tuple[str, int, str]] = []
        #: Calls per method, after the token check.
        self.calls: Counter[str] = Counter()
        #: HTTP status of every webhook delivery, in order.
        self.deliveries: list[int] = []
        #: Called with every ZaloSent as it is recorded (a benchmark times replies with it).
        self.listeners: list[Callable[[ZaloSent], None]] = []
        self.webhook: JSON = {}
        self._users: dict[str, str] = {}
        self._blocked: set[str] = set()
        self._revoked = False
        self._faults: list[_Fault] = []
        self._updates: deque[JSON] = deque()
        self._arrived = asyncio.Event()
        self._activity = asyncio.Event()
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._tasks: set[asyncio.Task[int]] = set()
        self._closing = False
        self._handlers: dict[str, Callable[[JSON], Any]] = {
            "getme": self._get_me,
            "sendmessage": self._send_message,
            "sendphoto": self._send_photo,
            "sendsticker": self._send_sticker,
            "sendchataction": self._send_chat_action,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
        }

    # ------------------------------------------------------------------ lifecycle
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host:port`` (0 picks a free port); ``url`` is the API base URL."""
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        # A long poll whose client went away must end at once (handler_cancellation).
        runner = web.AppRunner(app, access_log=None, handler_cancellation=True, shutdown_timeout=1)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        self._closing = False
        bound_host, bound_port = runner.addresses[0][:2]
        self.url = f"http://{bound_host}:{bound_port}"

    async def stop(self) -> None:
        self._closing = True
        self._arrived.set()
        for task in list(self._tasks):
            task.cancel()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ------------------------------------------------------------------ scenarios
    def revoke_token(self) -> None:
        """The token is reset in Zalo Bot Manager: every call answers 401 from now on, and a
        long poll in progress ends with 401 at once."""
        self._revoked = True
        self._arrived.set()

    def inject_fault(
        self, method: str, *, status: int = 500, retry_after: int | None = None, times: int = 1
    ) -> None:
        """Fail the next ``times`` calls of ``method`` ("*": any but getUpdates) with ``status``;
        a 429 carries a ``Retry-After`` header (``retry_after`` seconds, default 1)."""
        if status == 429 and retry_after is None:
            retry_after = 1
        self._faults.append(_Fault(method, status, retry_after, times))

    def _fault_for(self, method: str) -> _ApiError | None:
        for fault in self._faults:
            wanted = fault.method == method or (fault.method == "*" and method != "getUpdates")
            if wanted and fault.remaining > 0:
                fault.remaining -= 1
                description = "Too Many Requests" if fault.status == 429 else "injected fault"
                return _ApiError(
                    fault.status, description, deliberate=True, retry_after=fault.retry_after
                )
        return None

    # ------------------------------------------------------------------ the people
    def add_user(self, user_id: str, display_name: str = "Người dùng") -> None:
        self._users[str(user_id)] = display_name

    def block_user(self, user_id: str) -> None:
        """The person blocks the bot: sending to them is refused with HTTP 403."""
        self._blocked.add(str(user_id))

    def update_for(
        self,
        user_id: str,
        text: str | None,
        *,
        event: str = "message.text.received",
        chat_type: str = "PRIVATE",
        message_id: str | None = None,
    ) -> JSON:
        """An update as Zalo sends it (ids are strings, ``date`` in milliseconds)."""
        user_id = str(user_id)
        self._users.setdefault(user_id, f"Người dùng {user_id}")
        message: JSON = {
            "from": {"id": user_id, "display_name": self._users[user_id], "is_bot": False},
            "chat": {"id": user_id, "chat_type": chat_type},
            "message_id": message_id or f"{next(self._ids):032x}",
            "date": int(time.time() * 1000),
        }
        if text is not None:
            message["text"] = text
        return {"event_name": event, "message": message}

    def inject_text(self, user_id: str, text: str, **extra: Any) -> str:
        """The person types ``text``: queued for getUpdates, or delivered to the webhook."""
        update = self.update_for(user_id, text, **extra)
        self.inject_update(update)
        return str(update["message"]["message_id"])

    def inject_update(self, update: JSON) -> None:
        self._activity.set()
        if self.webhook.get("url"):
            task = asyncio.get_running_loop().create_task(self.deliver(update))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return
        self._updates.append(update)
        self._arrived.set()

    async def deliver(self, update: JSON, *, secret: str | None = None, wrap: bool = False) -> int:
        """POST ``update`` to the webhook with the secret header (``secret`` forges another)."""
        url = self.webhook.get("url")
        if not url:
            raise RuntimeError("no webhook is set")
        body = {"ok": True, "result": update} if wrap else update
        token = self.webhook.get("secret_token", "") if secret is None else secret
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, json=body, headers={SECRET_HEADER: token}) as response,
        ):
            await response.read()
            self.deliveries.append(response.status)
            self._activity.set()
            return response.status

    # ------------------------------------------------------------------ what the bot sent
    def messages_to(self, chat_id: str) -> list[ZaloSent]:
        return [message for message in self.sent if message.chat_id == str(chat_id)]

    def texts_to(self, chat_id: str) -> list[str]:
        return [message.text for message in self.messages_to(chat_id)]

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait, without polling, until ``predicate()`` holds; re-checked after every call."""
        async with asyncio.timeout(timeout):
            while not predicate():
                self._activity.clear()
                await self._activity.wait()

    # ------------------------------------------------------------------ the API
    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if self._revoked:
            return self._error(method, _ApiError(401, "Unauthorized", deliberate=True))
        if request.match_info["token"] != self.token:
            return self._error(method, _ApiError(401, "Unauthorized"))
        self.calls[method] += 1
        fault = self._fault_for(method)
        if fault is not None:
            self._activity.set()
            return self._error(method, fault)
        try:
            return await self._answer(method, request)
        finally:
            self._activity.set()

    async def _answer(self, method: str, request: web.Request) -> web.Response:
        try:
            params = await self._params(request)
            if method.lower() == "getupdates":
                result: Any = await self._get_updates(params)
            elif method.lower() in self._handlers:
                result = self._handlers[method.lower()](params)
            else:
                raise _ApiError(404, "Not Found")
        except _ApiError as error:
            return self._error(method, error)
        return web.json_response({"ok": True, "result": result})

    def _error(self, method: str, error: _ApiError) -> web.Response:
        if error.deliberate:
            self.faults.append((method, error.status, error.description))
        elif 400 <= error.status < 500 and error.status != 408:
            self.bad_requests.append((method, error.description))
            _LOGGER.warning(
                "Zalo stand-in answered %s %s: %s", method, error.status, error.description
            )
        headers = {"Retry-After": str(error.retry_after)} if error.retry_after else None
        return web.json_response(
            {"ok": False, "error_code": error.status, "description": error.description},
            status=error.status,
            headers=headers,
        )

    @staticmethod
    async def _params(request: web.Request) -> JSON:
        params: JSON = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise _ApiError(400, "Bad Request: the body is not valid JSON") from None
                if not isinstance(body, dict):
                    raise _ApiError(400, "Bad Request: the body must be a JSON object")
                params.update(body)
            else:
                params.update(dict(await request.post()))
        return params

    def _chat(self, params: JSON) -> str:
        chat_id = params.get("chat_id")
        if not isinstance(chat_id, str | int) or str(chat_id) not in self._users:
            raise _ApiError(400, "Bad Request: chat_id is missing or unknown")
        if str(chat_id) in self._blocked:
            raise _ApiError(403, "Forbidden: the user has blocked the bot", deliberate=True)
        return str(chat_id)

    def _record(self, method: str, chat_id: str, text: str, photo: str | None = None) -> JSON:
        message_id = f"{next(self._ids):032x}"
        sent = ZaloSent(method, chat_id, message_id, text, photo)
        self.sent.append(sent)
        for listener in self.listeners:
            listener(sent)
        return {"message_id": message_id, "date": int(time.time() * 1000)}

    def _get_me(self, params: JSON) -> JSON:
        return {
            "id": self.bot_id,
            "account_name": "bot.vstbpn",
            "account_type": "BASIC",
            "can_join_groups": False,
            "display_name": self.bot_name,
        }

    async def _get_updates(self, params: JSON) -> JSON:
        if self.webhook.get("url"):
            raise _ApiError(400, "Bad Request: a webhook is set; delete it to use getUpdates")
        try:
            timeout = min(max(float(params.get("timeout") or 0), 0.0), MAX_POLL_SECONDS)
        except (TypeError, ValueError):
            raise _ApiError(400, "Bad Request: timeout must be a number of seconds") from None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self._updates and not self._closing:
            if self._revoked:
                raise _ApiError(401, "Unauthorized", deliberate=True)
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._arrived.wait()
        if not self._updates:
            raise _ApiError(408, "Request timeout")
        return self._updates.popleft()  # one update per call

    def _send_message(self, params: JSON) -> JSON:
        chat_id = self._chat(params)
        text = params.get("text")
        if not isinstance(text, str) or not 1 <= _length(text) <= MAX_TEXT:
            size = _length(text) if isinstance(text, str) else 0
            raise _ApiError(
                400, f"Bad Request: text must be 1 to {MAX_TEXT} characters, got {size}"
            )
        return self._record("sendMessage", chat_id, text)

    def _send_photo(self, params: JSON) -> JSON:
        chat_id = self._chat(params)
        photo = params.get("photo")
        if not isinstance(photo, str) or not photo.startswith(("http://", "https://")):
            raise _ApiError(400, "Bad Request: photo must be the URL of an image")
        caption = params.get("caption")
        if caption is not None and (not isinstance(caption, str) or _length(caption) > MAX_TEXT):
            raise _ApiError(400, f"Bad Request: caption must be at most {MAX_TEXT} characters")
        return self._record("sendPhoto", chat_id, caption or "", photo)

    def _send_sticker(self, params: JSON) -> JSON:
        chat_id = self._chat(params)
        sticker = params.get("sticker")
        if not isinstance(sticker, str) or not sticker:
            raise _ApiError(400, "Bad Request: sticker is required")
        return self._record("sendSticker", chat_id, "", sticker)

    def _send_chat_action(self, params: JSON) -> bool:
        self._chat(params)
        if params.get("action") not in {"typing", "upload_photo"}:
            raise _ApiError(400, "Bad Request: action must be typing or upload_photo")
        return True

    def _set_webhook(self, params: JSON) -> JSON:
        url, secret = params.get("url"), params.get("secret_token")
        if not isinstance(url, str) or not url.startswith(("https://", "http://127.0.0.1")):
            raise _ApiError(400, "Bad Request: url must be an https URL")
        if not isinstance(secret, str) or not 8 <= len(secret) <= 256:
            raise _ApiError(400, "Bad Request: secret_token must have 8 to 256 characters")
        self.webhook = {"url": url, "secret_token": secret, "updated_at": int(time.time() * 1000)}
        return {"url": url, "updated_at": self.webhook["updated_at"]}

    def _delete_webhook(self, params: JSON) -> JSON:
        self.webhook = {}
        return {"url": "", "updated_at": int(time.time() * 1000)}

    def _get_webhook_info(self, params: JSON) -> JSON:
        return {"url": self.webhook.get("url", ""), "updated_at": self.webhook.get("updated_at")}
