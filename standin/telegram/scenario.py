"""What a test or the demo does with the stand-in: set up users and chats, read what was sent."""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Callable

from standin.telegram.errors import JSON
from standin.telegram.records import SentMessage
from standin.telegram.updates import UpdateQueue


class Scenario(UpdateQueue):
    """The world the bot talks to, and what it said to it."""

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
