"""Send a domain reply to one person on Zalo, and say how it went (for the ledgers)."""

from __future__ import annotations

from domain.conversation import Reply
from domain.i18n import translator_for
from domain.reminders import Delivery, DeliveryStatus, Recipient
from zalo.client import ZaloError, ZaloTokenError
from zalo.outbox import ZaloOutbox


class ZaloNotifier:
    """The ``Notifier`` of the Zalo channel (reminders, announcements, office notices)."""

    def __init__(self, outbox: ZaloOutbox) -> None:
        self._outbox = outbox

    async def send(self, recipient: Recipient, reply: Reply) -> Delivery:
        t = translator_for(recipient.language)
        try:
            ids = await self._outbox.send_reply(recipient.chat_id, reply, t)
        except ZaloError as error:
            if error.retryable or isinstance(error, ZaloTokenError):
                # A refused token is the bot's problem, not the person's: keep it for later.
                return Delivery(
                    DeliveryStatus.RETRY, error=f"{error.status} {error.description}"[:300]
                )
            if error.status == 403:  # the person blocked the bot or left Zalo: do not retry
                return Delivery(DeliveryStatus.BLOCKED, error=error.description[:300])
            return Delivery(
                DeliveryStatus.FAILED, error=f"{error.status} {error.description}"[:300]
            )
        # The ledger keeps 32 characters of a message id (Zalo's are 32 hex digits).
        return Delivery(DeliveryStatus.SENT, message_id=ids[-1][:32] if ids else None)
