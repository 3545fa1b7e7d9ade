"""Telegram's rate limits, plus another try for a call Telegram failed to take.

``AIORateLimiter`` keeps the bot under Telegram's limits and waits out 429s. On the weak links
of mountain districts a call also fails with 500/502 or a connection closed before any answer:
without a retry, the focal point who just typed an answer never sees the next question, and a
bot starting at such a moment dies setting its menus. Those failures are retried
``transient_retries`` times (after 0.5 s, 1 s…). A timeout is not retried: Telegram may have
delivered the message, and the caller (the reminder ledger, the user) decides.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import BadRequest, NetworkError, TimedOut
from telegram.ext import AIORateLimiter

log = logging.getLogger(__name__)

JSONDict = dict[str, Any]


class RetryingRateLimiter(AIORateLimiter):
    def __init__(
        self, *, max_retries: int = 2, transient_retries: int = 2, backoff: float = 0.5
    ) -> None:
        super().__init__(max_retries=max_retries)
        self._transient_retries = transient_retries
        self._backoff = backoff

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | JSONDict | list[JSONDict]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | JSONDict | list[JSONDict]:
        attempt = 0
        while True:
            try:
                return await super().process_request(
                    callback, args, kwargs, endpoint, data, rate_limit_args
                )
            except (BadRequest, TimedOut):
                raise  # our mistake, or possibly delivered: never repeated blindly
            except NetworkError as error:
                if attempt >= self._transient_retries:
                    raise
                delay = self._backoff * 2**attempt
                attempt += 1
                log.info("%s failed (%s); try %d in %.1f s", endpoint, error, attempt + 1, delay)
                await asyncio.sleep(delay)
