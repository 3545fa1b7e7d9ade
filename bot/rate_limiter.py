"""Telegram's rate limits through the token's one send budget, plus another try for a call
Telegram failed to take.

Every message the Application's bot sends draws from the ``SendBudget`` that the announcement
sender shares: replies first, bulk (``rate_limit_args=BULK``: reminders, office notices) after.
A 429 pauses the whole token for its Retry-After, then the call is made again.

On the weak links of mountain districts a call also fails with 500/502 or a connection closed
before any answer: without a retry, the focal point who just typed an answer never sees the
next question, and a bot starting at such a moment dies setting its menus. Those failures are
retried ``transient_retries`` times (after 0.5 s, 1 s…). A timeout is not retried: Telegram
may have delivered the message, and the caller (the reminder ledger, the user) decides.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.ext import BaseRateLimiter

from domain.send_budget import BULK_RATE_ARG as BULK
from domain.send_budget import Priority, SendBudget
from handlers.telegram_sender import retry_after_seconds

log = logging.getLogger(__name__)

JSONDict = dict[str, Any]
# Calls that put a message in a chat; the others (answers to presses, getMe…) pass freely.
SENDING = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "copyMessage",
        "forwardMessage",
        "editMessageText",
        "editMessageReplyMarkup",
        "editMessageCaption",
        "sendMediaGroup",
    }
)


class RetryingRateLimiter(BaseRateLimiter[int]):
    def __init__(
        self,
        budget: SendBudget | None = None,
        *,
        max_retries: int = 2,
        transient_retries: int = 2,
        backoff: float = 0.5,
    ) -> None:
        self.budget = budget or SendBudget()
        self._max_retries = max_retries
        self._transient_retries = transient_retries
        self._backoff = backoff

    async def initialize(self) -> None:
        """Nothing to open: the budget lives as long as the process."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        priority = Priority.BULK if rate_limit_args == BULK else Priority.REPLY
        chat = data.get("chat_id")
        group = (isinstance(chat, int) and chat < 0) or str(chat).startswith("-")
        limited = 0
        transient = 0
        while True:
            if endpoint in SENDING:
                await self.budget.acquire(priority, chat, group=group)
            try:
                return await callback(*args, **kwargs)
            except (BadRequest, TimedOut):
                raise  # our mistake, or possibly delivered: never repeated blindly
            except RetryAfter as error:
                self.budget.pause(retry_after_seconds(error))
                if limited >= self._max_retries:
                    raise
                limited += 1
                log.info("%s: Telegram asked to wait %s s", endpoint, retry_after_seconds(error))
            except NetworkError as error:
                if transient >= self._transient_retries:
                    raise
                delay = self._backoff * 2**transient
                transient += 1
                log.info("%s failed (%s); try %d in %.1f s", endpoint, error, transient + 1, delay)
                await asyncio.sleep(delay)
