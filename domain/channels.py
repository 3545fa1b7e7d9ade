"""Send each message on the channel where its recipient registered (Telegram or Zalo).

A person has one identity per channel, and a unit may have focal points on both. Reminders,
announcements and office notices address a ``Recipient`` that names its channel; the router
hands the message to that channel's ``Notifier``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from domain.conversation import Reply
from domain.reminders import Delivery, DeliveryStatus, Notifier, Recipient

log = logging.getLogger(__name__)


class ChannelRouter:
    """A ``Notifier`` that delegates to the notifier of the recipient's channel."""

    def __init__(self, notifiers: Mapping[str, Notifier]) -> None:
        self._notifiers = dict(notifiers)
        self._missing_logged: set[str] = set()

    @property
    def channels(self) -> frozenset[str]:
        return frozenset(self._notifiers)

    def add(self, channel: str, notifier: Notifier) -> None:
        """Enable a channel (its notifier may need a client built after the router)."""
        self._notifiers[channel] = notifier

    async def send(self, recipient: Recipient, reply: Reply) -> Delivery:
        notifier = self._notifiers.get(recipient.channel)
        if notifier is not None:
            return await notifier.send(recipient, reply)
        # Not "failed": the message is not lost. The reminder ledger frees the slot, so a
        # process that runs this channel (or this one, once it is enabled) sends it.
        if recipient.channel not in self._missing_logged:
            self._missing_logged.add(recipient.channel)
            log.warning("the %s channel is not enabled here: its messages wait", recipient.channel)
        return Delivery(DeliveryStatus.RETRY, error=f"{recipient.channel} is not enabled")
