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
import contextlib
import copy
import functools
import json
import logging
import math
import mimetypes
import random
import re
import struct
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from standin.html_check import (
    EntityParseError,
    ParsedText,
    UnsupportedParseModeError,
    parse_text,
    strip_html,
    utf16_len,
)

__all__ = ["DEFAULT_SPEC_PATH", "FakeTelegram", "SentMessage", "SpecError", "Upload"]

JSON = dict[str, Any]

_LOGGER = logging.getLogger(__name__)

SPEC_NAME = "telegram-bot-api.json"
#: The Bot API methods and parameters every request is checked against: vendored (see
#: ``standin/spec/README.md``), so every clone checks the same way.
DEFAULT_SPEC_PATH = Path(__file__).resolve().parent / "spec" / SPEC_NAME
REFRESH_COMMAND = "python -m standin.spec_refresh /path/to/shared/spec"

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_CALLBACK_ANSWER = 200
MAX_BUTTONS = 100
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024

#: What ``set_fault_rate`` can draw: error answers, a dropped connection, a late answer.
RANDOM_FAULT_KINDS = ("429", "500", "502", "drop", "timeout")
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

#: Methods that count against the overall broadcast limit (about 30 messages a second).
SENDING_METHODS = frozenset(
    {"sendMessage", "sendPhoto", "sendDocument", "copyMessage", "forwardMessage"}
)
#: Edits count against the per-chat limit only.
EDITING_METHODS = frozenset({"editMessageText", "editMessageCaption", "editMessageReplyMarkup"})

_BUTTON_ACTIONS = (
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
_UPDATES_OFF_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_COPIED_CONTENT = (
    "text",
    "entities",
    "caption",
    "caption_entities",
    "photo",
    "document",
    "sticker",
    "voice",
    "audio",
    "video",
    "video_note",
    "animation",
    "location",
    "contact",
    "venue",
    "poll",
    "dice",
)
_URL = re.compile(r"^(?:(?:https?|tg)://\S+|[A-Za-z0-9.-]+\.[A-Za-z]{2,}(?:/\S*)?)$")
_COMMAND = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,64})?")
_BOT_COMMAND_NAME = re.compile(r"^[a-z0-9_]{1,32}$")


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


def _bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


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
    for key in _BUTTON_ACTIONS:
        if key in button:
            value = button[key]
            return value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return ""


@dataclass(slots=True)
class _StoredFile:
    file_id: str
    file_unique_id: str
    kind: str  # "photo" or "document"
    content: bytes | None
    file_name: str | None
    mime_type: str | None
    file_path: str
    width: int = 0
    height: int = 0

    def file_json(self) -> JSON:
        result: JSON = {"file_id": self.file_id, "file_unique_id": self.file_unique_id}
        if self.content is not None:
            result["file_size"] = len(self.content)
        result["file_path"] = self.file_path
        return result

    def document_json(self) -> JSON:
        result: JSON = {"file_id": self.file_id, "file_unique_id": self.file_unique_id}
        if self.file_name:
            result["file_name"] = self.file_name
        if self.mime_type:
            result["mime_type"] = self.mime_type
        if self.content is not None:
            result["file_size"] = len(self.content)
        return result

    def photo_json(self) -> list[JSON]:
        size: JSON = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "width": self.width,
            "height": self.height,
        }
        if self.content is not None:
            size["file_size"] = len(self.content)
        return [size]


@dataclass(slots=True)
class _TokenBucket:
    """Classic token bucket: ``rate`` tokens a second, at most ``capacity`` saved up."""

    rate: float
    capacity: float
    tokens: float
    stamp: float

    def wait(self, now: float) -> float:
        """Refill, then return how long until one token is available (0 if now)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


@dataclass(slots=True)
class _RateLimits:
    global_per_second: float
    per_chat_per_second: float
    per_group_per_second: float
    burst: int
    overall: _TokenBucket
    chats: dict[int, _TokenBucket] = field(default_factory=dict)


@dataclass(slots=True)
class _Fault:
    method: str
    status: int
    description: str
    retry_after: int | None
    remaining: int | None
    chat_id: int | None


@dataclass(slots=True)
class _Poll:
    """One getUpdates request in progress; a newer one terminates it, as on Telegram."""

    event: asyncio.Event = field(default_factory=asyncio.Event)
    terminated: bool = False


@dataclass(frozen=True, slots=True)
class _MethodSpec:
    name: str
    required: frozenset[str]
    types: dict[str, tuple[str, ...]]
    returns: tuple[str, ...]


def source_name(path: Path) -> str:
    """Name a spec file by its last three parts ("shared/spec/telegram-bot-api.json").

    Enough to recognise it in a header or an error, and nothing of this machine's layout.
    """
    return "/".join(path.resolve().parts[-3:])


class SpecError(RuntimeError):
    """The Bot API spec cannot be read: the stand-in refuses to run with its checks off."""


@functools.cache
def _load_spec(path: Path) -> dict[str, _MethodSpec]:
    """Read the Bot API once per process; raise :class:`SpecError` rather than check nothing."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        methods: dict[str, _MethodSpec] = {}
        for name, method in data["methods"].items():
            fields = method.get("fields") or []
            methods[name.lower()] = _MethodSpec(
                name=name,
                required=frozenset(f["name"] for f in fields if f.get("required")),
                types={f["name"]: tuple(f.get("types") or ()) for f in fields},
                returns=tuple(method.get("returns") or ()),
            )
    except (OSError, ValueError, LookupError, TypeError, AttributeError) as error:
        # strerror, not str(error): the message names the file without this machine's layout.
        reason = error.strerror if isinstance(error, OSError) else repr(error)
        raise SpecError(
            f"cannot load the Bot API spec {source_name(path)}: {reason}; "
            f"refresh it with `{REFRESH_COMMAND}`"
        ) from error
    if not methods:
        raise SpecError(f"the Bot API spec {source_name(path)} lists no methods")
    return methods


def _image_size(content: bytes) -> tuple[int, int]:
    """Read width and height of a PNG, GIF or JPEG, so photos carry plausible sizes."""
    if content.startswith(b"\x89PNG\r\n\x1a\n") and len(content) >= 24:
        width, height = struct.unpack(">II", content[16:24])
        return int(width), int(height)
    if content[:6] in (b"GIF87a", b"GIF89a") and len(content) >= 10:
        width, height = struct.unpack("<HH", content[6:10])
        return int(width), int(height)
    if content.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(content) and content[i] == 0xFF:
            marker = content[i + 1]
            (length,) = struct.unpack(">H", content[i + 2 : i + 4])
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", content[i + 5 : i + 9])
                return int(width), int(height)
            i += 2 + int(length)
    return 512, 512


async def _client_gone(request: web.Request) -> bool:
    """Tell whether the client closed the connection (given a moment for its FIN to arrive)."""
    await asyncio.sleep(0.02)
    transport = request.transport
    return transport is None or transport.is_closing()


def _dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=repr).encode()


def _scope_key(scope: JSON | None) -> str:
    return json.dumps(scope or {"type": "default"}, sort_keys=True)


def _update_type(update: JSON) -> str:
    return next((key for key in update if key != "update_id"), "")


class FakeTelegram:
    """An in-memory Telegram Bot API server that the real python-telegram-bot can talk to."""

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        bot_id: int | None = None,
        bot_username: str = "vstbpn_test_bot",
        bot_first_name: str = "VSTBPN Bot",
        spec_path: Path | None = None,
        first_update_id: int = 1,
    ) -> None:
        self.token = token
        if bot_id is None:
            # A bot's id is the number before the colon of its token.
            prefix = token.partition(":")[0]
            bot_id = int(prefix) if prefix.isdigit() else 123456
        self.bot_user: JSON = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
        }
        #: The Bot API methods by lower-case name; a missing or broken spec raises here.
        self.spec: dict[str, _MethodSpec] = _load_spec(spec_path or DEFAULT_SPEC_PATH)

        self.url = ""
        self.base_url = ""
        self.base_file_url = ""
        #: Every successful send or edit, in order.
        self.sent: list[SentMessage] = []
        #: (method, description) of every 4xx answered that the scenario did not ask for.
        self.bad_requests: list[tuple[str, str]] = []
        #: (method, status, description) of every deliberate failure: blocked users, 429, faults.
        self.faults: list[tuple[str, int, str]] = []
        #: setMyCommands by (canonical scope JSON, language code or "").
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        #: Parameters of every answerCallbackQuery.
        self.answered_callbacks: list[JSON] = []
        #: Number of calls per method (after the token check).
        self.calls: Counter[str] = Counter()
        #: How many sends the rate limiter refused.
        self.rate_limited = 0
        #: Seconds to wait before answering each call (except getUpdates), to model a slow network.
        self.latency = 0.0
        #: Random faults (``set_fault_rate``): probability, the statuses drawn, and the dice.
        self._fault_rate = 0.0
        self._fault_methods: frozenset[str] = frozenset()
        self._fault_random = random.Random(0)
        self._fault_kinds: tuple[str, ...] = ()
        self._answer_delay = 6.0
        #: How many random faults were answered, per kind ("429", "502", "timeout", "drop"…).
        self.random_faults: Counter[str] = Counter()
        #: (method, chat_id) of every call carried out whose answer came too late ("timeout").
        self.late_answers: list[tuple[str, object]] = []
        #: Called with every SentMessage as it is recorded (the console prints with it).
        self.listeners: list[Callable[[SentMessage], None]] = []

        self._users: dict[int, JSON] = {}
        self._chats: dict[int, JSON] = {}
        self._blocked: set[int] = set()
        self._members: dict[tuple[int, int], str] = {}
        self._messages: dict[int, dict[int, JSON]] = {}
        self._next_message_id: dict[int, int] = {}
        self._bot_messages: dict[int, dict[int, SentMessage]] = {}
        self._files: dict[str, _StoredFile] = {}
        self._files_by_path: dict[str, _StoredFile] = {}
        self._callbacks: dict[str, JSON] = {}
        self._callback_counter = 0
        self._updates: deque[JSON] = deque()
        self._next_update_id = first_update_id
        self._allowed_updates: frozenset[str] | None = None
        self._poll: _Poll | None = None
        self._webhook: JSON = {}
        self._limits: _RateLimits | None = None
        self._faults: list[_Fault] = []
        self._activity = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._handlers: dict[str, tuple[str, Callable[[JSON], Any]]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "logOut": self._true,
                "close": self._true,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "sendChatAction": self._send_chat_action,
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "editMessageCaption": self._edit_message_caption,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "deleteMessage": self._delete_message,
                "deleteMessages": self._delete_messages,
                "answerCallbackQuery": self._answer_callback_query,
                "sendPhoto": self._send_photo,
                "sendDocument": self._send_document,
                "copyMessage": self._copy_message,
                "forwardMessage": self._forward_message,
                "getFile": self._get_file,
                "getChat": self._get_chat,
                "getChatMember": self._get_chat_member,
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

    # ------------------------------------------------------------------------- the world

    def add_user(
        self,
        user_id: int,
        first_name: str = "Test",
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "vi",
    ) -> JSON:
        """Register a user and their private chat with the bot (chat id == user id)."""
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        chat: JSON = {"id": user_id, "type": "private", "first_name": first_name}
        if last_name:
            user["last_name"] = chat["last_name"] = last_name
        if username:
            user["username"] = chat["username"] = username
        if language_code:
            user["language_code"] = language_code
        self._users[user_id] = user
        self._chats[user_id] = chat
        return dict(user)

    def add_group(
        self, chat_id: int, title: str, type: str = "group", *, username: str | None = None
    ) -> JSON:
        """Register a group, supergroup or channel the bot is a member of."""
        chat: JSON = {"id": chat_id, "type": type, "title": title}
        if username:
            chat["username"] = username
        self._chats[chat_id] = chat
        return dict(chat)

    def set_member_status(self, chat_id: int, user_id: int, status: str) -> None:
        """Set what getChatMember answers: creator, administrator, member, left or kicked."""
        self._members[(chat_id, user_id)] = status

    def block_user(self, user_id: int, *, notify: bool = True) -> None:
        """The user blocked the bot: sends to them answer 403, and a my_chat_member update comes."""
        self._blocked.add(user_id)
        if notify and user_id in self._users:
            self.inject_update(
                {"my_chat_member": self._membership_change(user_id, "member", "kicked")}
            )

    def unblock_user(self, user_id: int, *, notify: bool = True) -> None:
        """The user restarted the bot."""
        self._blocked.discard(user_id)
        if notify and user_id in self._users:
            self.inject_update(
                {"my_chat_member": self._membership_change(user_id, "kicked", "member")}
            )

    def _membership_change(self, user_id: int, old: str, new: str) -> JSON:
        def member(status: str) -> JSON:
            data: JSON = {"status": status, "user": dict(self.bot_user)}
            if status == "kicked":
                data["until_date"] = 0
            return data

        return {
            "chat": dict(self._chats[user_id]),
            "from": dict(self._users[user_id]),
            "date": int(time.time()),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }

    def add_file(
        self, content: bytes, file_name: str = "file.bin", *, mime_type: str | None = None
    ) -> str:
        """Store a file as if a user had sent it; return its file_id (see :meth:`file_object`)."""
        return self._store_file("document", content, file_name, mime_type).file_id

    def file_object(self, file_id: str) -> JSON:
        """Return the Document JSON of a stored file, to put in an injected message."""
        return self._files[file_id].document_json()

    # ------------------------------------------------------------------------- updates in

    def inject_update(self, update: JSON) -> int:
        """Queue a raw update (update_id assigned if missing) and wake the long poll."""
        update = dict(update)
        if "update_id" in update:
            self._next_update_id = max(self._next_update_id, int(update["update_id"]) + 1)
        else:
            update["update_id"] = self._next_update_id
            self._next_update_id += 1
        for key in ("message", "channel_post"):
            message = update.get(key)
            if isinstance(message, dict) and "chat" in message and "message_id" in message:
                # Stored apart from the queued copy, so later changes never rewrite the update.
                chat_id = int(message["chat"]["id"])
                stored = copy.deepcopy(message)
                self._messages.setdefault(chat_id, {})[int(message["message_id"])] = stored
                self._next_message_id[chat_id] = max(
                    self._next_message_id.get(chat_id, 1), int(message["message_id"]) + 1
                )
        self._updates.append(update)
        if self._poll is not None:
            self._poll.event.set()
        self._activity.set()
        return int(update["update_id"])

    def inject_message(
        self, user_id: int, text: str | None = None, *, chat_id: int | None = None, **extra: Any
    ) -> int:
        """Queue a user's message (bot_command entities as Telegram adds them); return update_id."""
        user = self._user(user_id)
        chat = self._known_chat(user_id if chat_id is None else chat_id)
        if text is None and not extra:
            raise ValueError("a message needs text or content in extra (photo=..., document=...)")
        message = self._new_message(chat, user)
        if text is not None:
            message["text"] = text
            entities = [
                {
                    "type": "bot_command",
                    "offset": utf16_len(text[: match.start()]),
                    "length": utf16_len(match.group(0)),
                }
                for match in _COMMAND.finditer(text)
            ]
            if entities:
                message["entities"] = entities
        message.update(extra)
        return self._queue("message", message)

    def inject_callback(
        self,
        user_id: int,
        message_id: int,
        data: str,
        *,
        chat_id: int | None = None,
        strict: bool = True,
    ) -> int:
        """Queue a button press on a bot message (``strict``: it must exist); return update_id."""
        user = self._user(user_id)
        target = user_id if chat_id is None else chat_id
        message = self._messages.get(target, {}).get(message_id)
        if message is None:
            raise LookupError(f"no message {message_id} in chat {target}")
        if strict:
            keyboard = (message.get("reply_markup") or {}).get("inline_keyboard") or []
            datas = [b.get("callback_data") for row in keyboard for b in row]
            if data not in datas:
                raise LookupError(
                    f"message {message_id} in chat {target} has no button with callback_data "
                    f"{data!r} (buttons: {datas}); pass strict=False to send it anyway"
                )
        self._callback_counter += 1
        query_id = f"{4_000_000_000_000 + self._callback_counter}"
        query: JSON = {
            "id": query_id,
            "from": dict(user),
            "message": copy.deepcopy(message),
            "chat_instance": f"{-abs(target) * 7 + 13}",
            "data": data,
        }
        self._callbacks[query_id] = query
        return self._queue("callback_query", query)

    def click(
        self,
        user_id: int,
        button_text: str,
        *,
        chat_id: int | None = None,
        message_id: int | None = None,
    ) -> int:
        """Press the inline button labelled ``button_text`` on the latest bot message having it."""
        target = user_id if chat_id is None else chat_id
        candidates = self._messages.get(target, {})
        ids = [message_id] if message_id is not None else sorted(candidates, reverse=True)
        labels: list[str] = []
        for mid in ids:
            message = candidates.get(mid)
            if message is None or message.get("from", {}).get("id") != self.bot_user["id"]:
                continue
            for row in (message.get("reply_markup") or {}).get("inline_keyboard") or []:
                for button in row:
                    labels.append(button.get("text", ""))
                    if button.get("text") == button_text and "callback_data" in button:
                        return self.inject_callback(
                            user_id, mid, button["callback_data"], chat_id=chat_id
                        )
        raise LookupError(f"no button {button_text!r} in chat {target}; buttons seen: {labels}")

    def _queue(self, kind: str, payload: JSON) -> int:
        return self.inject_update({kind: payload})

    def is_pending(self, update_id: int) -> bool:
        """Whether the bot has not yet confirmed (taken) this update."""
        return any(update["update_id"] == update_id for update in self._updates)

    @property
    def pending_update_count(self) -> int:
        """Updates not yet confirmed by the bot (via getUpdates offset)."""
        return len(self._updates)

    @property
    def unanswered_callbacks(self) -> list[JSON]:
        """Callback queries the bot never answered (Telegram shows a spinner until it does)."""
        return list(self._callbacks.values())

    # ------------------------------------------------------------------------- what was sent

    def messages_to(self, chat_id: int) -> list[SentMessage]:
        """Every send and edit to one chat, in order."""
        return [m for m in self.sent if m.chat_id == chat_id]

    def last_message(self, chat_id: int) -> SentMessage:
        """The latest bot message in the chat as it looks now (edits applied, deletions gone)."""
        messages = self._bot_messages.get(chat_id)
        if not messages:
            raise LookupError(f"the bot has no message in chat {chat_id}")
        return next(reversed(messages.values()))

    def message(self, chat_id: int, message_id: int) -> JSON:
        """The current Message JSON (after edits) of any message in the chat."""
        try:
            return copy.deepcopy(self._messages[chat_id][message_id])
        except KeyError:
            raise LookupError(f"no message {message_id} in chat {chat_id}") from None

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        """Wait, without polling, until ``predicate()`` holds; checked as calls come and end."""
        async with asyncio.timeout(timeout):
            while not predicate():
                self._activity.clear()
                await self._activity.wait()

    async def wait_for_sent(self, count: int, timeout: float = 5.0) -> None:
        """Wait until at least ``count`` sends or edits were recorded."""
        try:
            await self.wait_until(lambda: len(self.sent) >= count, timeout)
        except TimeoutError:
            sent = [(m.method, m.chat_id, m.plain_text[:60]) for m in self.sent[-5:]]
            raise TimeoutError(
                f"expected {count} sent messages within {timeout}s, got {len(self.sent)}; "
                f"last: {sent}; bad requests: {self.bad_requests[-5:]}"
            ) from None

    # ------------------------------------------------------------------------- faults

    def enforce_rate_limits(
        self,
        *,
        global_per_second: float = 30,
        per_chat_per_second: float = 1,
        burst: int = 3,
        per_group_per_minute: float = 20,
    ) -> None:
        """Answer 429 with retry_after when sends exceed Telegram's limits (token buckets)."""
        now = time.monotonic()
        capacity = max(float(burst), global_per_second)
        self._limits = _RateLimits(
            global_per_second=global_per_second,
            per_chat_per_second=per_chat_per_second,
            per_group_per_second=min(per_chat_per_second, per_group_per_minute / 60),
            burst=burst,
            overall=_TokenBucket(global_per_second, capacity, capacity, now),
        )

    def disable_rate_limits(self) -> None:
        """Stop enforcing rate limits."""
        self._limits = None

    def inject_fault(
        self,
        method: str,
        *,
        status: int = 500,
        description: str | None = None,
        retry_after: int | None = None,
        times: int | None = 1,
        chat_id: int | None = None,
    ) -> None:
        """Fail the next ``times`` calls of ``method`` ("*": any; ``times=None``: until cleared)."""
        if status == 429 and retry_after is None:
            retry_after = 1
        if description is None:
            description = {
                400: "Bad Request: injected fault",
                401: "Unauthorized",
                403: "Forbidden: bot was blocked by the user",
                409: CONFLICT_OTHER_POLL,
                429: f"Too Many Requests: retry after {retry_after}",
                502: "Bad Gateway",
            }.get(status, "Internal Server Error")
        self._faults.append(_Fault(method, status, description, retry_after, times, chat_id))

    def clear_faults(self) -> None:
        """Forget every injected fault."""
        self._faults.clear()

    def set_fault_rate(
        self,
        rate: float,
        *,
        methods: Iterable[str] = (
            "sendMessage",
            "editMessageText",
            "answerCallbackQuery",
            "sendPhoto",
            "sendDocument",
        ),
        kinds: Iterable[str] = ("429", "500", "502"),
        seed: int = 0,
        answer_delay: float = 6.0,
    ) -> None:
        """Fail a random ``rate`` of the calls of ``methods`` with one of ``kinds``.

        ``"429"``, ``"500"``, ``"502"``: that error answer, nothing done. ``"drop"``: the
        connection is closed before anything is done. ``"timeout"``: the call *is* carried out
        (the message is delivered) but the answer comes ``answer_delay`` seconds late, after the
        client gave up (PTB waits 5 s): the one fault that can make a careful bot send twice.
        Each such call is listed in ``late_answers``.
        """
        unknown = set(kinds) - set(RANDOM_FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds: {sorted(unknown)}")
        self._fault_rate = rate
        self._fault_methods = frozenset(methods)
        self._fault_kinds = tuple(kinds)
        self._fault_random = random.Random(seed)
        self._answer_delay = answer_delay

    def _random_fault(self, method: str) -> str | None:
        if not self._fault_rate or method not in self._fault_methods:
            return None
        if self._fault_random.random() >= self._fault_rate:
            return None
        kind = self._fault_random.choice(self._fault_kinds)
        self.random_faults[kind] += 1
        return kind

    def _take_fault(self, method: str, params: JSON, kind: str | None) -> _Fault | None:
        if kind == "429":
            return _Fault(method, 429, "Too Many Requests: retry after 1", 1, 1, None)
        if kind in ("500", "502"):
            description = "Bad Gateway" if kind == "502" else "Internal Server Error"
            return _Fault(method, int(kind), description, None, 1, None)
        for fault in self._faults:
            if fault.method not in ("*", method):
                continue
            if fault.chat_id is not None and params.get("chat_id") != fault.chat_id:
                continue
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
            return fault
        return None

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
                self._check_required(method_spec, params)
                result = entry[1](params)
            elif method_spec is not None and method_spec.returns == ("Boolean",):
                # Settings calls (setMyDescription, pinChatMessage...) change nothing we model.
                self._check_required(method_spec, params)
                if "chat_id" in params:
                    self._chat(params["chat_id"])
                result = True
            elif method_spec is not None:
                raise _bad(f"method {method} is not supported by the Bot API stand-in")
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

    async def _read_params(self, request: web.Request, spec: _MethodSpec | None) -> JSON:
        """Merge query string and body (form, multipart or JSON) and decode values by type."""
        params: JSON = dict(request.query)
        if request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise _bad("can't parse JSON request body") from None
                if not isinstance(body, dict):
                    raise _bad("JSON request body must be an object")
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
                params[key] = self._decode(key, value, spec)
        return params

    @staticmethod
    def _decode(key: str, value: str, spec: _MethodSpec | None) -> Any:
        """Turn a form string into the type the Bot API declares for the parameter.

        A method the spec does not know is answered 404 anyway: its values stay strings.
        """
        types = spec.types.get(key) if spec is not None else None
        if not types:
            return value
        if "String" in types or "InputFile" in types:
            if "Integer" in types:
                with contextlib.suppress(ValueError):
                    return int(value)
            return value
        if types == ("Integer",):
            try:
                return int(value)
            except ValueError:
                raise _bad(f"invalid {key} specified: {value!r} is not an Integer") from None
        if types == ("Float",):
            try:
                return float(value)
            except ValueError:
                raise _bad(f"invalid {key} specified: {value!r} is not a Float") from None
        if types == ("Boolean",):
            lowered = value.lower()
            if lowered in ("true", "1"):
                return True
            if lowered in ("false", "0", ""):
                return False
            raise _bad(f"invalid {key} specified: {value!r} is not a Boolean")
        try:
            return json.loads(value)
        except ValueError:
            if key == "reply_markup":
                raise _bad("can't parse reply keyboard markup JSON object") from None
            raise _bad(f"can't parse {key} JSON object") from None

    @staticmethod
    def _check_required(spec: _MethodSpec | None, params: JSON) -> None:
        if spec is None:
            return
        for name in sorted(spec.required):
            if params.get(name) in (None, ""):
                raise _bad("message text is empty" if name == "text" else f"{name} is empty")

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401, text="Unauthorized")
        stored = self._files_by_path.get(request.match_info["path"])
        if stored is None or stored.content is None:
            return web.Response(status=404, text="Not Found")
        return web.Response(
            body=stored.content, content_type=stored.mime_type or "application/octet-stream"
        )

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

    # ------------------------------------------------------------------------- helpers

    def _user(self, user_id: int) -> JSON:
        try:
            return self._users[user_id]
        except KeyError:
            raise LookupError(f"unknown user {user_id}: call add_user() first") from None

    def _known_chat(self, chat_id: int) -> JSON:
        try:
            return self._chats[chat_id]
        except KeyError:
            raise LookupError(
                f"unknown chat {chat_id}: call add_user()/add_group() first"
            ) from None

    def _chat(self, chat_id: Any) -> JSON:
        """Resolve a chat_id parameter (id or @username) or answer "chat not found"."""
        if isinstance(chat_id, int):
            chat = self._chats.get(chat_id)
            if chat is not None:
                return chat
        elif isinstance(chat_id, str) and chat_id.startswith("@"):
            for chat in self._chats.values():
                if chat.get("username", "").lower() == chat_id[1:].lower():
                    return chat
        raise _bad("chat not found")

    def _sendable_chat(self, params: JSON) -> JSON:
        chat = self._chat(params.get("chat_id"))
        if chat["type"] == "private" and chat["id"] in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user", deliberate=True)
        return chat

    def _new_message(self, chat: JSON, sender: JSON) -> JSON:
        chat_id = int(chat["id"])
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        self._messages.setdefault(chat_id, {})
        return {
            "message_id": message_id,
            "from": dict(sender),
            "chat": dict(chat),
            "date": int(time.time()),
        }

    def _parse(self, text: str, parse_mode: Any, entities: Any) -> ParsedText:
        if parse_mode and not isinstance(parse_mode, str):
            raise _bad("unsupported parse_mode")
        try:
            parsed = parse_text(text, parse_mode or None)
        except EntityParseError as error:
            raise _bad(f"can't parse entities: {error}") from None
        except UnsupportedParseModeError:
            raise _bad("unsupported parse_mode") from None
        if not parse_mode and isinstance(entities, list):
            parsed.entities = entities
        return parsed

    def _check_text(self, params: JSON) -> ParsedText:
        text = params.get("text")
        if not isinstance(text, str) or not text.strip():
            raise _bad("message text is empty")
        parsed = self._parse(text, params.get("parse_mode"), params.get("entities"))
        if not parsed.text.strip():
            raise _bad("message text is empty")
        if utf16_len(parsed.text) > MAX_TEXT:
            raise _bad("message is too long")
        return parsed

    def _check_caption(self, params: JSON) -> ParsedText | None:
        caption = params.get("caption")
        if caption is None or caption == "":
            return None
        if not isinstance(caption, str):
            raise _bad("caption must be a String")
        parsed = self._parse(caption, params.get("parse_mode"), params.get("caption_entities"))
        if utf16_len(parsed.text) > MAX_CAPTION:
            raise _bad("message caption is too long")
        return parsed

    def _check_markup(self, markup: Any, *, inline_only: bool = False) -> JSON | None:
        """Validate reply_markup like Telegram; return it (parsed) or None."""
        if markup is None or markup == "":
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in markup:
            self._check_inline_keyboard(markup["inline_keyboard"])
            return markup
        if inline_only:
            raise _bad("inline keyboard expected")
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise _bad('field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays')
            for row in rows:
                for button in row:
                    text = button if isinstance(button, str) else (button or {}).get("text")
                    if not isinstance(text, str) or not text:
                        raise _bad("can't parse keyboard button: Text must be non-empty")
            return markup
        if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
            return markup
        raise _bad("can't parse reply keyboard markup JSON object")

    @staticmethod
    def _check_inline_keyboard(rows: Any) -> None:
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise _bad(
                'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
            )
        count = 0
        for row in rows:
            for button in row:
                count += 1
                if not isinstance(button, dict):
                    raise _bad(
                        "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
                    )
                text = button.get("text")
                if not isinstance(text, str) or not text:
                    raise _bad("can't parse inline keyboard button: Text must be non-empty")
                actions = [key for key in _BUTTON_ACTIONS if key in button]
                if not actions:
                    raise _bad(
                        "can't parse inline keyboard button: Text buttons are unallowed in the "
                        "inline keyboard"
                    )
                if len(actions) > 1:
                    raise _bad(
                        "can't parse inline keyboard button: exactly one of the optional fields "
                        f"must be used, got {actions}"
                    )
                if "callback_data" in button:
                    data = button["callback_data"]
                    if (
                        not isinstance(data, str)
                        or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA
                    ):
                        raise _bad("BUTTON_DATA_INVALID")
                if "url" in button:
                    url = button["url"]
                    if not isinstance(url, str) or not _URL.match(url):
                        raise _bad("BUTTON_URL_INVALID")
        if count > MAX_BUTTONS:
            raise _bad("reply markup is too long")

    def _reply_target(self, chat_id: int, params: JSON) -> JSON | None:
        """Resolve reply_parameters / reply_to_message_id into the replied message (or None)."""
        reply = params.get("reply_parameters")
        if isinstance(reply, dict):
            target_id = reply.get("message_id")
            target_chat = reply.get("chat_id", chat_id)
            allow = bool(reply.get("allow_sending_without_reply"))
        elif params.get("reply_to_message_id") is not None:
            target_id = params["reply_to_message_id"]
            target_chat = chat_id
            allow = bool(params.get("allow_sending_without_reply"))
        else:
            return None
        if isinstance(target_chat, str):
            target_chat = int(self._chat(target_chat)["id"])
        target = self._messages.get(int(target_chat), {}).get(int(target_id or 0))
        if target is None:
            if allow:
                return None
            raise _bad("message to be replied not found")
        replied = dict(target)
        replied.pop("reply_to_message", None)
        return replied

    def _rate_check(self, chat: JSON, method: str) -> None:
        limits = self._limits
        if limits is None:
            return
        now = time.monotonic()
        chat_id = int(chat["id"])
        bucket = limits.chats.get(chat_id)
        if bucket is None:
            rate = (
                limits.per_chat_per_second
                if chat["type"] == "private"
                else limits.per_group_per_second
            )
            bucket = _TokenBucket(rate, float(limits.burst), float(limits.burst), now)
            limits.chats[chat_id] = bucket
        counts_overall = method in SENDING_METHODS
        wait = bucket.wait(now)
        if counts_overall:
            wait = max(wait, limits.overall.wait(now))
        if wait > 0:
            self.rate_limited += 1
            retry_after = max(1, math.ceil(wait))
            raise ApiError(
                429,
                f"Too Many Requests: retry after {retry_after}",
                retry_after=retry_after,
                deliberate=True,
            )
        bucket.take()
        if counts_overall:
            limits.overall.take()

    def _record(
        self,
        method: str,
        message: JSON,
        params: JSON,
        *,
        text: str | None,
        reply_markup: JSON | None,
        file: _StoredFile | None = None,
        upload: Upload | None = None,
    ) -> SentMessage:
        chat_id = int(message["chat"]["id"])
        message_id = int(message["message_id"])
        sent = SentMessage(
            method=method,
            chat_id=chat_id,
            message_id=message_id,
            text=text,
            parse_mode=params.get("parse_mode"),
            reply_markup=reply_markup,
            file_bytes=upload.content if upload is not None else None,
            file_name=(upload.filename if upload is not None else file.file_name if file else None),
            file_id=file.file_id if file is not None else None,
            params=params,
        )
        self.sent.append(sent)
        self._bot_messages.setdefault(chat_id, {})[message_id] = sent
        for listener in self.listeners:
            listener(sent)
        return sent

    def _store_file(
        self, kind: str, content: bytes | None, file_name: str | None, mime_type: str | None
    ) -> _StoredFile:
        number = len(self._files) + 1
        prefix = "AgAC" if kind == "photo" else "BQAC"
        extension = Path(file_name or "").suffix or (".jpg" if kind == "photo" else "")
        if mime_type is None and file_name:
            mime_type = mimetypes.guess_type(file_name)[0]
        stored = _StoredFile(
            file_id=f"{prefix}-standin-{kind}-{number:06d}",
            file_unique_id=f"AQAD{number:06d}",
            kind=kind,
            content=content,
            file_name=file_name,
            mime_type=mime_type,
            file_path=f"{kind}s/file_{number}{extension}",
        )
        if kind == "photo" and content is not None:
            stored.width, stored.height = _image_size(content)
        elif kind == "photo":
            stored.width = stored.height = 512
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def _input_file(
        self, params: JSON, field_name: str, kind: str
    ) -> tuple[_StoredFile, Upload | None]:
        """Resolve an uploaded file, a known file_id or a URL into a stored file."""
        value = params.get(field_name)
        if isinstance(value, str) and value.startswith("attach://"):
            value = params.get(value.removeprefix("attach://"))
        if isinstance(value, Upload):
            if not value.content:
                raise _bad("file must be non-empty")
            limit = MAX_PHOTO_BYTES if kind == "photo" else MAX_UPLOAD_BYTES
            if len(value.content) > limit:
                raise ApiError(413, "Request Entity Too Large")
            mime = value.content_type
            if mime in (None, "application/octet-stream") and value.filename:
                mime = mimetypes.guess_type(value.filename)[0] or mime
            return self._store_file(kind, value.content, value.filename, mime), value
        if isinstance(value, str) and value:
            known = self._files.get(value)
            if known is not None:
                if kind == "photo" and known.kind != "photo":
                    raise _bad("can't use file of type Document as Photo")
                return known, None
            if value.startswith(("http://", "https://")):
                name = value.rstrip("/").rpartition("/")[2] or None
                return self._store_file(kind, None, name, None), None
            raise _bad("wrong file identifier/HTTP URL specified")
        raise _bad(f"there is no {field_name} in the request")

    # ------------------------------------------------------------------------- methods

    def _true(self, params: JSON) -> bool:
        return True

    def _get_me(self, params: JSON) -> JSON:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _set_webhook(self, params: JSON) -> bool:
        url = params.get("url") or ""
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self._webhook = (
            {"url": url, "allowed_updates": params.get("allowed_updates")} if url else {}
        )
        return True

    def _delete_webhook(self, params: JSON) -> bool:
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self._webhook = {}
        return True

    def _get_webhook_info(self, params: JSON) -> JSON:
        return {
            "url": self._webhook.get("url", ""),
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }

    async def _get_updates(self, params: JSON, request: web.Request) -> list[JSON]:
        if self._webhook.get("url"):
            raise ApiError(409, CONFLICT_WEBHOOK)
        offset = params.get("offset")
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = min(max(float(params.get("timeout") or 0), 0.0), 50.0)
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(allowed) if allowed else None
        if isinstance(offset, int) and offset != 0:
            self._confirm(offset)
        # Telegram terminates the older request when a newer one arrives.
        if self._poll is not None:
            self._poll.terminated = True
            self._poll.event.set()
        poll = _Poll()
        self._poll = poll
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            while True:
                batch = self._take(limit)
                remaining = deadline - loop.time()
                if batch or remaining <= 0 or self._closing:
                    return batch
                poll.event.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(remaining):
                        await poll.event.wait()
                if poll.terminated:
                    if await _client_gone(request):
                        return []  # nobody is listening: a stopped bot, not a second instance
                    raise ApiError(409, CONFLICT_OTHER_POLL)
        finally:
            if self._poll is poll:
                self._poll = None

    def _confirm(self, offset: int) -> None:
        updates = self._updates
        if offset < 0:
            while len(updates) > -offset:
                updates.popleft()
            return
        while updates and updates[0]["update_id"] < offset:
            updates.popleft()

    def _take(self, limit: int) -> list[JSON]:
        allowed = self._allowed_updates
        batch: list[JSON] = []
        for update in list(self._updates):
            kind = _update_type(update)
            if (allowed is None and kind in _UPDATES_OFF_BY_DEFAULT) or (
                allowed is not None and kind not in allowed
            ):
                self._updates.remove(update)  # Telegram never queues updates the bot opted out of
                continue
            batch.append(update)
            if len(batch) >= limit:
                break
        return batch

    def _set_my_commands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad("commands must be an Array of at most 100 BotCommand")
        for command in commands:
            if not isinstance(command, dict):
                raise _bad("BotCommand must be an Object")
            if not _BOT_COMMAND_NAME.match(str(command.get("command", "")).removeprefix("/")):
                raise _bad("BOT_COMMAND_INVALID")
            description = command.get("description")
            if not isinstance(description, str) or not 1 <= len(description) <= 256:
                raise _bad("command description is empty or longer than 256 characters")
        key = (_scope_key(params.get("scope")), params.get("language_code") or "")
        self.commands[key] = [
            {"command": str(c["command"]).removeprefix("/"), "description": c["description"]}
            for c in commands
        ]
        return True

    def _get_my_commands(self, params: JSON) -> list[JSON]:
        key = (_scope_key(params.get("scope")), params.get("language_code") or "")
        return self.commands.get(key, [])

    def _delete_my_commands(self, params: JSON) -> bool:
        key = (_scope_key(params.get("scope")), params.get("language_code") or "")
        self.commands.pop(key, None)
        return True

    def _send_chat_action(self, params: JSON) -> bool:
        self._sendable_chat(params)
        return True

    def _send_message(self, params: JSON) -> JSON:
        chat = self._sendable_chat(params)
        parsed = self._check_text(params)
        markup = self._check_markup(params.get("reply_markup"))
        replied = self._reply_target(int(chat["id"]), params)
        self._rate_check(chat, "sendMessage")
        message = self._new_message(chat, self.bot_user)
        if replied is not None:
            message["reply_to_message"] = replied
        message["text"] = parsed.text
        if parsed.entities:
            message["entities"] = parsed.entities
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        self._messages[int(chat["id"])][message["message_id"]] = message
        self._record("sendMessage", message, params, text=params["text"], reply_markup=markup)
        return message

    def _editable(self, params: JSON) -> tuple[JSON, JSON]:
        if params.get("inline_message_id"):
            raise _bad("inline messages are not supported by the Bot API stand-in")
        chat = self._chat(params.get("chat_id"))
        message = self._messages.get(int(chat["id"]), {}).get(int(params.get("message_id") or 0))
        if message is None:
            raise _bad("message to edit not found")
        if message.get("from", {}).get("id") != self.bot_user["id"]:
            raise _bad("message can't be edited")
        if chat["type"] == "private" and chat["id"] in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user", deliberate=True)
        return chat, message

    def _apply_edit(
        self,
        method: str,
        chat: JSON,
        message: JSON,
        params: JSON,
        changes: JSON,
        *,
        text: str | None,
        markup: JSON | None,
    ) -> JSON:
        """Refuse a no-op edit, else apply ``changes`` and record the new state."""
        unchanged = all(
            (message.get(key) or None) == (value or None) for key, value in changes.items()
        )
        if unchanged and message.get("reply_markup") == markup:
            raise _bad(NOT_MODIFIED.removeprefix("Bad Request: "))
        self._rate_check(chat, method)
        for key, value in changes.items():
            if value in (None, []):
                message.pop(key, None)
            else:
                message[key] = value
        if markup is None:
            message.pop("reply_markup", None)  # Telegram drops the keyboard when none is resent
        else:
            message["reply_markup"] = markup
        message["edit_date"] = int(time.time())
        previous = self._bot_messages.get(int(chat["id"]), {}).get(int(message["message_id"]))
        sent = self._record(method, message, params, text=text, reply_markup=markup)
        if previous is not None:
            sent.file_bytes = previous.file_bytes
            sent.file_name = previous.file_name
            sent.file_id = previous.file_id
            if method == "editMessageReplyMarkup":
                sent.text, sent.parse_mode = previous.text, previous.parse_mode
        return message

    def _edit_message_text(self, params: JSON) -> JSON:
        chat, message = self._editable(params)
        if "text" not in message:
            raise _bad("there is no text in the message to edit")
        parsed = self._check_text(params)
        markup = self._check_markup(params.get("reply_markup"), inline_only=True)
        changes = {"text": parsed.text, "entities": parsed.entities}
        return self._apply_edit(
            "editMessageText", chat, message, params, changes, text=params["text"], markup=markup
        )

    def _edit_message_caption(self, params: JSON) -> JSON:
        chat, message = self._editable(params)
        if not any(key in message for key in ("photo", "document", "video", "audio", "animation")):
            raise _bad("there is no caption in the message to edit")
        parsed = self._check_caption(params)
        markup = self._check_markup(params.get("reply_markup"), inline_only=True)
        changes: JSON = {
            "caption": parsed.text if parsed else None,
            "caption_entities": parsed.entities if parsed else None,
        }
        return self._apply_edit(
            "editMessageCaption",
            chat,
            message,
            params,
            changes,
            text=params.get("caption"),
            markup=markup,
        )

    def _edit_message_reply_markup(self, params: JSON) -> JSON:
        chat, message = self._editable(params)
        markup = self._check_markup(params.get("reply_markup"), inline_only=True)
        return self._apply_edit(
            "editMessageReplyMarkup", chat, message, params, {}, text=None, markup=markup
        )

    def _delete_message(self, params: JSON) -> bool:
        chat = self._chat(params.get("chat_id"))
        chat_id = int(chat["id"])
        message_id = int(params.get("message_id") or 0)
        if self._messages.get(chat_id, {}).pop(message_id, None) is None:
            raise _bad("message to delete not found")
        self._bot_messages.get(chat_id, {}).pop(message_id, None)
        return True

    def _delete_messages(self, params: JSON) -> bool:
        chat = self._chat(params.get("chat_id"))
        ids = params.get("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise _bad("message_ids must be an Array of 1-100 Integer")
        for message_id in ids:
            self._messages.get(int(chat["id"]), {}).pop(int(message_id), None)
            self._bot_messages.get(int(chat["id"]), {}).pop(int(message_id), None)
        return True

    def _answer_callback_query(self, params: JSON) -> bool:
        query_id = str(params.get("callback_query_id"))
        if query_id not in self._callbacks:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        text = params.get("text")
        if isinstance(text, str) and len(text) > MAX_CALLBACK_ANSWER:
            raise _bad("MESSAGE_TOO_LONG")
        del self._callbacks[query_id]
        self.answered_callbacks.append(params)
        return True

    def _send_media(self, params: JSON, method: str, field_name: str, kind: str) -> JSON:
        chat = self._sendable_chat(params)
        stored, upload = self._input_file(params, field_name, kind)
        caption = self._check_caption(params)
        markup = self._check_markup(params.get("reply_markup"))
        replied = self._reply_target(int(chat["id"]), params)
        self._rate_check(chat, method)
        message = self._new_message(chat, self.bot_user)
        if replied is not None:
            message["reply_to_message"] = replied
        if kind == "photo":
            message["photo"] = stored.photo_json()
        else:
            message["document"] = stored.document_json()
        if caption is not None:
            message["caption"] = caption.text
            if caption.entities:
                message["caption_entities"] = caption.entities
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        self._messages[int(chat["id"])][message["message_id"]] = message
        self._record(
            method,
            message,
            params,
            text=params.get("caption"),
            reply_markup=markup,
            file=stored,
            upload=upload,
        )
        return message

    def _send_photo(self, params: JSON) -> JSON:
        return self._send_media(params, "sendPhoto", "photo", "photo")

    def _send_document(self, params: JSON) -> JSON:
        return self._send_media(params, "sendDocument", "document", "document")

    def _source_message(self, params: JSON, what: str) -> JSON:
        source_chat = self._chat(params.get("from_chat_id"))
        source = self._messages.get(int(source_chat["id"]), {}).get(
            int(params.get("message_id") or 0)
        )
        if source is None:
            raise _bad(f"message to {what} not found")
        if not any(key in source for key in _COPIED_CONTENT):
            raise _bad(f"message can't be {what.replace('copy', 'copi')}ed")
        return source

    def _relay(self, method: str, params: JSON, message: JSON) -> None:
        chat_id = int(message["chat"]["id"])
        self._messages[chat_id][message["message_id"]] = message
        file_id = None
        if "photo" in message:
            file_id = message["photo"][-1]["file_id"]
        elif "document" in message:
            file_id = message["document"]["file_id"]
        stored = self._files.get(file_id) if file_id else None
        sent = self._record(
            method,
            message,
            params,
            text=params.get("caption") or message.get("text") or message.get("caption"),
            reply_markup=message.get("reply_markup"),
            file=stored,
        )
        if stored is None and file_id:
            sent.file_id = file_id
        if params.get("caption") is None:
            sent.parse_mode = None  # the copied text is already plain text plus entities

    def _copy_message(self, params: JSON) -> JSON:
        source = self._source_message(params, "copy")
        chat = self._sendable_chat(params)
        caption = self._check_caption(params)
        markup = self._check_markup(params.get("reply_markup"))
        replied = self._reply_target(int(chat["id"]), params)
        self._rate_check(chat, "copyMessage")
        message = self._new_message(chat, self.bot_user)
        for key in _COPIED_CONTENT:
            if key in source:
                message[key] = copy.deepcopy(source[key])
        if caption is not None and "text" not in message:
            message["caption"] = caption.text
            message.pop("caption_entities", None)
            if caption.entities:
                message["caption_entities"] = caption.entities
        if replied is not None:
            message["reply_to_message"] = replied
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup
        self._relay("copyMessage", params, message)
        return {"message_id": message["message_id"]}

    def _forward_message(self, params: JSON) -> JSON:
        source = self._source_message(params, "forward")
        chat = self._sendable_chat(params)
        self._rate_check(chat, "forwardMessage")
        message = self._new_message(chat, self.bot_user)
        origin: JSON = {"type": "user", "sender_user": source.get("from"), "date": source["date"]}
        if source.get("from") is None:
            origin = {"type": "chat", "sender_chat": source["chat"], "date": source["date"]}
        message["forward_origin"] = origin
        for key in _COPIED_CONTENT:
            if key in source:
                message[key] = copy.deepcopy(source[key])
        self._relay("forwardMessage", params, message)
        return message

    def _get_file(self, params: JSON) -> JSON:
        stored = self._files.get(str(params.get("file_id")))
        if stored is None:
            raise _bad("invalid file_id")
        if stored.content is not None and len(stored.content) > MAX_DOWNLOAD_BYTES:
            raise _bad("file is too big")
        return stored.file_json()

    def _get_chat(self, params: JSON) -> JSON:
        chat = self._chat(params.get("chat_id"))
        return {
            **chat,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": False,
                "limited_gifts": False,
                "unique_gifts": False,
                "premium_subscription": False,
                "gifts_from_channels": False,
            },
        }

    def _get_chat_member(self, params: JSON) -> JSON:
        chat = self._chat(params.get("chat_id"))
        user_id = int(params.get("user_id") or 0)
        if user_id == self.bot_user["id"]:
            user: JSON = dict(self.bot_user)
        elif user_id in self._users:
            user = dict(self._users[user_id])
        else:
            raise _bad("user not found")
        default = "member" if chat["type"] != "channel" else "left"
        status = self._members.get((int(chat["id"]), user_id), default)
        member: JSON = {"status": status, "user": user}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member.update(
                dict.fromkeys(
                    (
                        "can_be_edited",
                        "is_anonymous",
                        "can_post_stories",
                        "can_edit_stories",
                        "can_delete_stories",
                        "can_promote_members",
                    ),
                    False,
                )
            )
            member.update(
                dict.fromkeys(
                    (
                        "can_manage_chat",
                        "can_delete_messages",
                        "can_manage_video_chats",
                        "can_restrict_members",
                        "can_change_info",
                        "can_invite_users",
                        "can_pin_messages",
                    ),
                    True,
                )
            )
        elif status == "kicked":
            member["until_date"] = 0
        return member
