"""Send each message on the channel where its recipient registered (Telegram or Zalo).

A person has one identity per channel, and a unit may have focal points on both. Reminders,
announcements and office notices address a ``Recipient`` that names its channel; the router
hands the message to that channel's ``Notifier``. It also holds the process's
``ChannelHealthBoard``: a channel whose platform refused the bot is "down" and is not tried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping

from domain.accounts import AccountService
from domain.channel_health import ChannelHealthBoard
from domain.conversation import Reply
from domain.identity import UserContext
from domain.reminders import Delivery, DeliveryStatus, Notifier, Recipient

log = logging.getLogger(__name__)


class ChannelRouter:
    """A ``Notifier`` that delegates to the notifier of the recipient's channel."""

    def __init__(
        self, notifiers: Mapping[str, Notifier], *, health: ChannelHealthBoard | None = None
    ) -> None:
        self._notifiers = dict(notifiers)
        self._missing_logged: set[str] = set()
        self.health = health if health is not None else ChannelHealthBoard()
        for channel in self._notifiers:
            self.health.mark_up(channel)

    @property
    def channels(self) -> frozenset[str]:
        return frozenset(self._notifiers)

    def add(self, channel: str, notifier: Notifier) -> None:
        """Enable a channel (its notifier may need a client built after the router)."""
        self._notifiers[channel] = notifier
        self.health.mark_up(channel)

    async def send(self, recipient: Recipient, reply: Reply) -> Delivery:
        notifier = self._notifiers.get(recipient.channel)
        if notifier is not None and self.health.is_down(recipient.channel):
            # Its platform refused the bot: nothing can go out until the token is fixed, and
            # the ledgers keep what waits (a reminder is tried again once the channel is back).
            return Delivery(DeliveryStatus.RETRY, error=f"{recipient.channel} is down")
        if notifier is not None:
            return await notifier.send(recipient, reply)
        # Not "failed": the message is not lost. The reminder ledger frees the slot, so a
        # process that runs this channel (or this one, once it is enabled) sends it.
        if recipient.channel not in self._missing_logged:
            self._missing_logged.add(recipient.channel)
            log.warning("the %s channel is not enabled here: its messages wait", recipient.channel)
        return Delivery(DeliveryStatus.RETRY, error=f"{recipient.channel} is not enabled")


async def tell_staff(
    accounts: AccountService,
    notifier: Notifier,
    compose: Callable[[UserContext], Reply],
    *,
    channels: Collection[str] | None = None,
) -> int:
    """Send every admin and office member a notice on their own channel; how many got it.

    ``compose`` writes it in each reader's language; ``channels`` keeps the staff of those
    channels (a notice that Zalo is down goes to the other channels only).
    """
    told = 0
    for staff in accounts.staff_contexts():
        channel = staff.identity.channel
        if channels is not None and channel not in channels:
            continue
        recipient = Recipient(staff.account_id, channel, staff.identity.chat_id, staff.language)
        try:
            delivery = await notifier.send(recipient, compose(staff))
        except Exception:
            log.warning("could not send a notice to %s", staff.identity.actor)
            continue
        told += delivery.status is DeliveryStatus.SENT
    return told
