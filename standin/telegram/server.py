"""A local stand-in of the Telegram Bot API server, for end-to-end tests, demos and benchmarks.

The real python-telegram-bot talks to it over HTTP exactly as it talks to api.telegram.org, so a
test exercises the whole stack (serialisation, error mapping, long polling, uploads) without a
network. It answers and fails like Telegram: the HTTP status carries the error class (PTB maps
the status, not the ``ok`` field), text lengths count UTF-16 units after entity parsing, HTML must
parse, ``callback_data`` is limited in bytes, an edit that changes nothing is refused. Those are the
mistakes that otherwise only show in production, so every 4xx it answers is also recorded in
:attr:`FakeTelegram.bad_requests` for tests to assert on.

Deliberate failures (a blocked user, rate limits, injected faults) are recorded in
:attr:`FakeTelegram.faults` instead, because the bot is expected to handle them.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from standin.telegram.api_spec import MethodSpec, check_required, decode
from standin.telegram.errors import JSON, ApiError, bad
from standin.telegram.methods import BotApiMethods
from standin.telegram.records import Upload
from standin.telegram.scenario import Scenario
from standin.telegram.validation import MAX_UPLOAD_BYTES

_LOGGER = logging.getLogger("standin.telegram")


def _dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=repr).encode()


class FakeTelegram(Scenario, BotApiMethods):
    """An in-memory Telegram Bot API server that the real python-telegram-bot can talk to.

    This class serves HTTP and dispatches each call; what a test does with it comes from
    :class:`Scenario` and :class:`UpdateQueue`, the methods from :class:`BotApiMethods`, the
    rate limits and faults from :class:`FaultInjection`, files from :class:`FileStore`.
    """

    @functools.cached_property
    def _handlers(self) -> dict[str, tuple[str, Callable[[JSON], Any]]]:
        """The methods carried out here, by lower-case name, with their proper spelling."""
        return {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "sendChatAction": self._send_chat_action,
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "deleteMessage": self._delete_message,
                "deleteMessages": self._delete_messages,
                "answerCallbackQuery": self._answer_callback_query,
                "sendPhoto": self._send_photo,
                "sendDocument": self._send_document,
                "copyMessage": self._copy_message,
                "forwardMessage": self._forward_message,
                "getFile": self._get_file,
            }.items()
        }

    # ------------------------------------------------------------------------- lifecycle

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host:port`` (0 picks a free port) and fill in the URLs."""
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        app.router.add_route("*", "/_standin/{action}", self._handle_control)
        # handler_cancellation: a long poll whose client went away (PTB stopping) must end at once,
        # or it would linger and answer a Conflict to nobody.
        runner = web.AppRunner(
            app, access_log=None, handler_cancellation=True, shutdown_timeout=1.0
        )
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        self._closing = False
        bound_host, bound_port = runner.addresses[0][:2]
        self.url = f"http://{bound_host}:{bound_port}"
        self.base_url = f"{self.url}/bot"
        self.base_file_url = f"{self.url}/file/bot"

    async def stop(self) -> None:
        """End any long poll and close the server."""
        self._closing = True
        if self._poll is not None:
            self._poll.event.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ------------------------------------------------------------------------- HTTP

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.match_info["token"] != self.token:
            return self._error(method, ApiError(401, "Unauthorized"))
        entry = self._handlers.get(method.lower())
        method_spec = self.spec.get(method.lower())
        if entry is not None:
            method = entry[0]
        elif method_spec is not None:
            method = method_spec.name
        self.calls[method] += 1
        random_kind: str | None = None
        # Wake waiters on arrival too: a long poll only finishes when its timeout runs out.
        self._activity.set()
        try:
            params = await self._read_params(request, method_spec)
            random_kind = self._random_fault(method)
            if random_kind == "drop":
                self.faults.append((method, 0, "connection dropped"))
                if request.transport is not None:
                    request.transport.abort()
                return web.Response(status=499)  # nobody reads it: the connection is gone
            fault = self._take_fault(method, params, random_kind)
            if fault is not None:
                raise ApiError(
                    fault.status, fault.description, retry_after=fault.retry_after, deliberate=True
                )
            if self.latency and method != "getUpdates":
                await asyncio.sleep(self.latency)
            if method == "getUpdates":
                result: Any = await self._get_updates(params, request)
            elif entry is not None:
                check_required(method_spec, params)
                result = entry[1](params)
            elif method_spec is not None and method_spec.returns == ("Boolean",):
                # Settings calls (setMyDescription, pinChatMessage...) change nothing we model.
                check_required(method_spec, params)
                if "chat_id" in params:
                    self._chat(params["chat_id"])
                result = True
            elif method_spec is not None:
                raise bad(f"method {method} is not supported by the Bot API stand-in")
            else:
                raise ApiError(404, "Not Found")
        except ApiError as error:
            return self._error(method, error)
        except Exception as error:
            # A bug in the stand-in or input it does not model: fail loudly, never silently.
            _LOGGER.exception("stand-in failed on %s", method)
            self.bad_requests.append((method, f"stand-in error: {error!r}"))
            return self._error(method, ApiError(500, f"Internal Server Error: {error!r}"))
        finally:
            self._activity.set()
        if random_kind == "timeout":
            # Done, but the answer is lost: the client times out (the handler is cancelled).
            self.late_answers.append((method, params.get("chat_id")))
            await asyncio.sleep(self._answer_delay)
        return web.Response(
            body=_dumps({"ok": True, "result": result}), content_type="application/json"
        )

    def _error(self, method: str, error: ApiError) -> web.Response:
        payload: JSON = {
            "ok": False,
            "error_code": error.status,
            "description": error.description,
        }
        if error.retry_after is not None:
            payload["parameters"] = {"retry_after": error.retry_after}
        if error.deliberate:
            self.faults.append((method, error.status, error.description))
        elif 400 <= error.status < 500:
            self.bad_requests.append((method, error.description))
            _LOGGER.warning("stand-in answered %s %s: %s", method, error.status, error.description)
        return web.Response(
            body=_dumps(payload), status=error.status, content_type="application/json"
        )

    async def _read_params(self, request: web.Request, spec: MethodSpec | None) -> JSON:
        """Merge query string and body (form, multipart or JSON) and decode values by type."""
        params: JSON = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise bad("can't parse JSON request body") from None
                if not isinstance(body, dict):
                    raise bad("JSON request body must be an object")
                params.update(body)
            elif request.content_type in (
                "application/x-www-form-urlencoded",
                "multipart/form-data",
            ):
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        params[key] = Upload(value.file.read(), value.filename, value.content_type)
                    else:
                        params[key] = value
        for key, value in params.items():
            if isinstance(value, str):
                params[key] = decode(key, value, spec)
        return params

    async def _handle_control(self, request: web.Request) -> web.Response:
        """A small JSON API so a demo or benchmark in another process can play the users."""
        action = request.match_info["action"]
        try:
            body: JSON = await request.json() if request.can_read_body else {}
            result = self._control(action, dict(body), request.query)
        except (KeyError, LookupError, ValueError, TypeError) as error:
            return web.json_response({"ok": False, "description": str(error)}, status=400)
        return web.Response(
            body=_dumps({"ok": True, "result": result}), content_type="application/json"
        )

    def _control(self, action: str, body: JSON, query: Any) -> Any:
        if action == "users":
            user_id = int(body.pop("user_id"))
            return self.add_user(user_id, **body)
        if action == "groups":
            return self.add_group(int(body.pop("chat_id")), **body)
        if action == "messages":
            return self.inject_message(int(body.pop("user_id")), body.pop("text", None), **body)
        if action == "callbacks":
            return self.inject_callback(
                int(body["user_id"]),
                int(body["message_id"]),
                body["data"],
                chat_id=body.get("chat_id"),
            )
        if action == "click":
            return self.click(int(body["user_id"]), body["text"], chat_id=body.get("chat_id"))
        if action == "updates":
            return self.inject_update(body)
        if action == "block":
            self.block_user(int(body["user_id"]))
            return True
        if action == "sent":
            since = int(query.get("since", 0))
            return [m.to_json() for m in self.sent[since:]]
        if action == "state":
            return {
                "sent": len(self.sent),
                "pending_updates": self.pending_update_count,
                "bad_requests": self.bad_requests,
                "faults": len(self.faults),
                "rate_limited": self.rate_limited,
                "calls": dict(self.calls),
            }
        raise LookupError(f"unknown control action {action!r}")
