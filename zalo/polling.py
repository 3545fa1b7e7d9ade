"""Polling mode (for development): ask getUpdates in a loop, one update at a time.

An idle poll answers HTTP 408, which the client turns into "no update". A network fault or a
server error waits and tries again (up to a minute apart). A refused token ends the loop, but
never quietly: the client's ``on_refused`` hook has logged it, marked Zalo down and told the
office (``zalo.health``), and a Zalo-only process exits.

Zalo does not give an update twice, so one the database cannot take now (locked, disk full)
is handled again with backoff until it is stored, not dropped: the adapter's inbox recognises
a message already stored, so handling it again is safe. Any other loop end is the watchdog's
to notice (``bot.watchdog``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from storage.db import WriteHealth, retry_writes
from zalo.adapter import ZaloAdapter
from zalo.client import ZaloClient, ZaloError, ZaloTokenError

log = logging.getLogger(__name__)

MAX_BACKOFF = 60.0


async def poll_forever(
    client: ZaloClient,
    adapter: ZaloAdapter,
    *,
    timeout: int = 30,
    backoff: float = 1.0,
    writes: WriteHealth | None = None,
    on_update: Callable[[], None] | None = None,
) -> None:
    """Handle updates until cancelled, or until Zalo refuses the token."""
    delay = backoff
    while True:
        try:
            updates = await client.get_updates(timeout=timeout)
        except ZaloTokenError:
            return  # reported by the client's hook; nothing more can be read
        except ZaloError as error:
            log.warning("Zalo getUpdates failed (%s); trying again in %.0f s", error, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, MAX_BACKOFF)
            continue
        delay = backoff
        for update in updates:
            if on_update is not None:
                on_update()
            try:
                await handle_patiently(adapter, update, writes=writes)
            except Exception:  # one bad update must not stop the bot
                log.exception("could not handle a Zalo update")


async def handle_patiently(
    adapter: ZaloAdapter,
    update: object,
    *,
    writes: WriteHealth | None = None,
    attempts: int | None = None,
) -> None:
    """Handle one update, waiting out a database that cannot take writes now."""

    async def handle() -> None:
        await adapter.handle_update(update)

    await retry_writes(handle, what="a Zalo update", health=writes, attempts=attempts)
