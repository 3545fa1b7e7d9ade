"""Process updates concurrently across chats but strictly in order within one chat.

A focal point on a weak link may send several answers in a burst; they must be applied in
the order sent, while other units' focal points are not kept waiting. So an update waits for
its chat's earlier ones (and for its token, when its sender is paced: ``bot.fair_queue``)
before it takes one of the slots all chats share: a chat with a hundred updates queued holds
one slot, not all of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

ProcessedHook = Callable[[object], None]
# Awaited in the update's turn, before a slot: False leaves the update unhandled (the bot stops).
PaceHook = Callable[[object], Awaitable[bool]]


# PTB's own slots are taken before ``do_process_update`` (its ``process_update`` is final),
# that is before the chat's turn: they are left wide open, and ours are taken after the turn.
_OPEN = 1 << 30


class PerChatUpdateProcessor(BaseUpdateProcessor):
    def __init__(
        self,
        max_concurrent_updates: int = 64,
        on_processed: ProcessedHook | None = None,
        on_started: ProcessedHook | None = None,
        pace: PaceHook | None = None,
    ) -> None:
        super().__init__(_OPEN)
        self._slots = asyncio.BoundedSemaphore(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiters: dict[int, int] = {}
        self._on_processed = on_processed
        self._on_started = on_started
        self._pace = pace

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _chat_key(update)
        if key is None:
            async with self._slots:
                self._started(update)
                await coroutine
        else:
            lock = self._locks.setdefault(key, asyncio.Lock())
            self._waiters[key] = self._waiters.get(key, 0) + 1
            try:
                async with lock:
                    if self._pace is not None and not await self._pace(update):
                        _close(coroutine)  # left in the inbox: handled at the next start
                        return
                    async with self._slots:
                        self._started(update)
                        await coroutine
            finally:
                self._waiters[key] -= 1
                if not self._waiters[key]:  # forget idle chats: memory stays flat
                    del self._waiters[key]
                    del self._locks[key]
        if self._on_processed is not None:
            self._on_processed(update)

    def _started(self, update: object) -> None:
        if self._on_started is not None:
            self._on_started(update)

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


def _close(coroutine: Awaitable[Any]) -> None:
    close = getattr(coroutine, "close", None)
    if callable(close):
        close()


def _chat_key(update: object) -> int | None:
    if isinstance(update, Update):
        if update.effective_chat is not None:
            return update.effective_chat.id
        if update.effective_user is not None:
            return update.effective_user.id
    return None
