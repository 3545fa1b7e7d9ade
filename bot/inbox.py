"""No typed answer lost in a crash: updates are stored before Telegram hears they arrived.

PTB's ``Updater`` puts each fetched update on the application's queue and then confirms the
batch with its next ``getUpdates``; the webhook server answers Telegram once the update is on
the queue. Either way, putting it on this queue writes it to ``storage.inbox`` first, so a
process killed before the handlers finished replays it at the next start. A copy delivered
again (the confirmation itself lost) is recognised by its update id and not handled twice.

A write that fails (database locked, disk full) is tried again with backoff until it works:
raising would end PTB's polling task without a word, and the update is not confirmed to
Telegram until it is stored, so waiting loses nothing. ``python -m bot health`` says the
database is failing meanwhile (``Database.writes``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy.exc import OperationalError
from telegram import Bot, Update

from storage.db import retry_writes
from storage.inbox import Inbox

log = logging.getLogger(__name__)


class DurableUpdateQueue(asyncio.Queue[object]):
    def __init__(self, inbox: Inbox) -> None:
        super().__init__()
        self._inbox = inbox
        self.last_update_at: datetime | None = None  # for ``health``

    async def put(self, item: object) -> None:
        if isinstance(item, Update):
            self.last_update_at = datetime.now(UTC)
            ref, payload = str(item.update_id), item.to_json()

            async def store() -> int | None:
                return self._inbox.add(ref, payload)

            seq = await retry_writes(
                store, what=f"Telegram update {ref}", health=self._inbox.db.writes
            )
            if seq is None:
                log.info("update %d arrived again; it is already taken care of", item.update_id)
                return
        await super().put(item)

    def started(self, update: object) -> None:
        if isinstance(update, Update):
            self._note(self._inbox.started, update)

    def processed(self, update: object) -> None:
        """The handlers are through with ``update``: it must not be replayed."""
        if isinstance(update, Update):
            self._note(self._inbox.done, update)

    def _note(self, mark: Callable[[str], None], update: Update) -> None:
        """A mark that cannot be written now only means a replay at the next start (the
        replay is recognised by the form), so it is logged, not raised."""
        writes = self._inbox.db.writes
        try:
            mark(str(update.update_id))
        except OperationalError as error:
            writes.failed(error)
            log.warning("could not mark update %d in the inbox: %s", update.update_id, error.orig)
        else:
            if not writes.ok:
                writes.succeeded()

    async def replay(self, bot: Bot) -> int:
        """Queue the updates a previous run took but never finished; how many."""
        stored = self._inbox.to_replay()
        for item in stored:
            await super().put(Update.de_json(json.loads(item.payload_json), bot))
        return len(stored)
