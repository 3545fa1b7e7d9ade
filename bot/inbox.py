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
        self._replayed: set[str] = set()

    async def put(self, item: object) -> None:
        if isinstance(item, Update):
            payload = json.dumps(item.to_dict(), ensure_ascii=False)
            if self._inbox.add(str(item.update_id), payload) is None:
                log.info("update %d arrived again; it is already taken care of", item.update_id)
                return
        await super().put(item)

    def started(self, update: object) -> None:
        """A replayed update's handling begins: counted (a fresh one's is not, to save time)."""
        if isinstance(update, Update) and str(update.update_id) in self._replayed:
            self._replayed.discard(str(update.update_id))
            self._inbox.started(str(update.update_id))

    def processed(self, update: object) -> None:
        """The handlers are through with ``update``: it must not be replayed."""
        if isinstance(update, Update):
            self._inbox.done(str(update.update_id))

    async def replay(self, bot: Bot) -> int:
        """Queue the updates a previous run took but never finished; how many."""
        stored, given_up = self._inbox.to_replay()
        if given_up:
            log.error("gave up %d update(s) whose replays kept being cut short", given_up)
        for item in stored:
            self._replayed.add(item.ref)
            await super().put(Update.de_json(json.loads(item.payload_json), bot))
        if stored:
            log.warning("replaying %d update(s) a previous run did not finish", len(stored))
        return len(stored)
