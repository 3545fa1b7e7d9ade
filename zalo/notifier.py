"""Send a domain reply to one person on Zalo, and say how it went (for the ledgers)."""

from __future__ import annotations

from domain.conversation import Reply
from domain.i18n import translator_for
from domain.reminders import Delivery, DeliveryStatus, Recipient
from domain.send_budget import bulk_sends
from zalo.client import ZaloError, ZaloTokenError
from zalo.outbox import ZaloOutbox
from zalo.quota import MessageQuota


class ZaloNotifier:
    """The ``Notifier`` of the Zalo channel (reminders, announcements, office notices)."""

    def __init__(self, outbox: ZaloOutbox, *, quota: MessageQuota | None = None) -> None:
        self._outbox = outbox
        # Past this quota what the bot starts itself waits for next month (None: always send).
        self._quota = quota

    async def send(self, recipient: Recipient, reply: Reply) -> Delivery:
        if self._quota is not None and self._quota.exhausted():
            return Delivery(
                DeliveryStatus.DEFERRED,
                error="the Zalo monthly message quota is spent",
                not_before=self._quota.resumes_at(),
            )
        t = translator_for(recipient.language)
        try:
            with bulk_sends():  # reminders and notices give way to replies
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
