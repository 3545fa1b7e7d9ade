"""Everything the stand-in remembers: the bot, its users and chats, messages, files, updates.

:class:`StandinState` holds it and looks things up; the other parts of :class:`FakeTelegram`
(updates, faults, files, Bot API methods, the scenario helpers) build on it.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from standin.telegram.api_spec import DEFAULT_SPEC_PATH, MethodSpec, load_spec
from standin.telegram.errors import JSON, bad
from standin.telegram.records import SentMessage

if TYPE_CHECKING:
    from standin.telegram.faults import Fault, RateLimits
    from standin.telegram.files import StoredFile
    from standin.telegram.updates import Poll


class StandinState:
    """The stand-in's memory of the world and of what it was asked."""

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        bot_username: str = "vstbpn_test_bot",
        spec_path: Path | None = None,
    ) -> None:
        self.token = token
        # A bot's id is the number before the colon of its token.
        prefix = token.partition(":")[0]
        self.bot_user: JSON = {
            "id": int(prefix) if prefix.isdigit() else 123456,
            "is_bot": True,
            "first_name": "VSTBPN Bot",
            "username": bot_username,
        }
        #: The Bot API methods by lower-case name; a missing or broken spec raises here.
        self.spec: dict[str, MethodSpec] = load_spec(spec_path or DEFAULT_SPEC_PATH)

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
        self._messages: dict[int, dict[int, JSON]] = {}
        self._next_message_id: dict[int, int] = {}
        self._bot_messages: dict[int, dict[int, SentMessage]] = {}
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._callbacks: dict[str, JSON] = {}
        self._callback_counter = 0
        self._updates: deque[JSON] = deque()
        self._next_update_id = 1
        self._allowed_updates: frozenset[str] | None = None
        self._poll: Poll | None = None
        self._webhook: JSON = {}
        self._limits: RateLimits | None = None
        self._faults: list[Fault] = []
        self._activity = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None

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
        raise bad("chat not found")

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
