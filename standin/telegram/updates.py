"""Updates in: what users do (messages, button presses), queued and handed out by getUpdates.

Long polling behaves like Telegram's: a newer getUpdates terminates the older one with a
Conflict, a confirmed offset drops what came before, updates the bot opted out of are never
queued, and getUpdates is refused while a webhook is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from standin.html_check import utf16_len
from standin.telegram.errors import CONFLICT_OTHER_POLL, CONFLICT_WEBHOOK, JSON, ApiError
from standin.telegram.state import StandinState

_UPDATES_OFF_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_COMMAND = re.compile(r"(?<!\S)/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,64})?")


@dataclass(slots=True)
class Poll:
    """One getUpdates request in progress; a newer one terminates it, as on Telegram."""

    event: asyncio.Event = field(default_factory=asyncio.Event)
    terminated: bool = False


async def _client_gone(request: web.Request) -> bool:
    """Tell whether the client closed the connection (given a moment for its FIN to arrive)."""
    await asyncio.sleep(0.02)
    transport = request.transport
    return transport is None or transport.is_closing()


def _update_type(update: JSON) -> str:
    return next((key for key in update if key != "update_id"), "")


class UpdateQueue(StandinState):
    """The queue of updates the bot has not confirmed yet, and the long poll that serves it."""

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
        poll = Poll()
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
