"""Polling mode (for development): ask getUpdates in a loop, one update at a time.

An idle poll answers HTTP 408, which the client turns into "no update". A network fault or a
server error waits and tries again (up to a minute apart). A refused token ends the loop, but
never quietly: the client's ``on_refused`` hook has logged it, marked Zalo down and told the
office (``zalo.health``), and a Zalo-only process exits.
"""

from __future__ import annotations

import asyncio
import logging

from zalo.adapter import ZaloAdapter
from zalo.client import ZaloClient, ZaloError, ZaloTokenError

log = logging.getLogger(__name__)

MAX_BACKOFF = 60.0


async def poll_forever(
    client: ZaloClient, adapter: ZaloAdapter, *, timeout: int = 30, backoff: float = 1.0
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
            try:
                await adapter.handle_update(update)
            except Exception:  # one bad update must not stop the bot
                log.exception("could not handle a Zalo update")
