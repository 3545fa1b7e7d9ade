"""Everything the bot sends on Zalo goes through here: rendered, split, counted, remembered."""

from __future__ import annotations

import logging

from domain.conversation import Reply
from domain.i18n import Translator
from zalo.client import ZaloClient
from zalo.menus import render
from zalo.quota import MessageQuota, QuotaWarnings
from zalo.store import ZaloStore
from zalo.text import MAX_MESSAGE_CHARS, split_text

log = logging.getLogger(__name__)


class ZaloOutbox:
    """Send texts and replies to Zalo chats; count each message against the monthly quota."""

    def __init__(
        self,
        client: ZaloClient,
        store: ZaloStore,
        quota: MessageQuota,
        *,
        warnings: QuotaWarnings | None = None,
    ) -> None:
        self.client = client
        self.store = store
        self.quota = quota
        # Set once the office can be reached (the router is built after this outbox).
        self.warnings = warnings

    async def send_text(self, chat_id: str, text: str) -> list[str]:
        """Send ``text`` (in parts of at most 2,000 characters); the message ids."""
        ids: list[str] = []
        for part in split_text(text, MAX_MESSAGE_CHARS):
            if not part.strip():
                continue
            ids += await self.client.send_message(chat_id, part)
            await self._count(1)
        return ids

    async def send_reply(self, chat_id: str, reply: Reply, t: Translator) -> list[str]:
        """Send a domain reply with its actions numbered; remember them if it has any."""
        rendered = render(reply, t)
        ids = await self.send_text(chat_id, rendered.text)
        if rendered.menu is not None:
            self.store.remember_menu(chat_id, rendered.menu)
        return ids

    async def send_photo(self, chat_id: str, photo_url: str, caption: str | None = None) -> str:
        message_id = await self.client.send_photo(chat_id, photo_url, caption)
        await self._count(1)
        return message_id

    async def catch_up(self) -> None:
        """At start: the quota warnings a crash or an outage held back go out now."""
        if self.warnings is not None:
            await self.warnings.check(self.quota.usage())

    async def _count(self, sent: int) -> None:
        usage = self.quota.record(sent)
        if self.warnings is not None and usage.reached():
            try:
                await self.warnings.check(usage)
            except Exception:
                log.exception("could not warn the office about the Zalo quota")
