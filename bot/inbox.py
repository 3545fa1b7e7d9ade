"""No typed answer lost in a crash: updates are stored before Telegram hears they arrived.

PTB's ``Updater`` puts each fetched update on the application's queue and then confirms the
batch with its next ``getUpdates``; the webhook server answers Telegram once the update is on
the queue. Either way, putting it on this queue writes it to ``storage.inbox`` first, so a
process killed before the handlers finished replays it at the next start. A copy delivered
again (the confirmation itself lost) is recognised by its update id and not handled twice.
"""

from __future__ import annotations

import asyncio
import json
import logging

from telegram import Bot, Update

from storage.inbox import Inbox

log = logging.getLogger(__name__)


class DurableUpdateQueue(asyncio.Queue[object]):
    def __init__(self, inbox: Inbox) -> None:
        super().__init__()
        self._inbox = inbox

    async def put(self, item: object) -> None:
        if (
            isinstance(item, Update)
            and self._inbox.add(str(item.update_id), item.to_json()) is None
        ):
            log.info("update %d arrived again; it is already taken care of", item.update_id)
            return
        await super().put(item)

    def started(self, update: object) -> None:
        if isinstance(update, Update):
            self._inbox.started(str(update.update_id))

    def processed(self, update: object) -> None:
        """The handlers are through with ``update``: it must not be replayed."""
        if isinstance(update, Update):
            self._inbox.done(str(update.update_id))

    async def replay(self, bot: Bot) -> int:
        """Queue the updates a previous run took but never finished; how many."""
        stored = self._inbox.to_replay()
        for item in stored:
            await super().put(Update.de_json(json.loads(item.payload_json), bot))
        return len(stored)
