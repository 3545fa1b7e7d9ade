"""Send a domain reply to one person on Telegram, and say how it went (for the ledgers)."""

from __future__ import annotations

from typing import Any

from telegram import Bot
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut
from telegram.ext import ExtBot

from domain.conversation import Reply
from domain.reminders import Delivery, DeliveryStatus, Recipient
from domain.send_budget import BULK_RATE_ARG as BULK
from handlers.render import html_chunks, keyboard


class TelegramNotifier:
    def __init__(self, bot: Bot) -> None:
        self._bot = bot
        # Reminders and notices are bulk: a person waiting for a reply goes first.
        self._bulk: dict[str, Any] = {"rate_limit_args": BULK} if isinstance(bot, ExtBot) else {}

    async def send(self, recipient: Recipient, reply: Reply) -> Delivery:
        chunks = html_chunks(reply)
        markup = keyboard(reply)
        try:
            message_id = None
            for index, chunk in enumerate(chunks):
                last = index == len(chunks) - 1
                message = await self._bot.send_message(
                    int(recipient.chat_id),
                    chunk,
                    reply_markup=markup if last else None,
                    **self._bulk,
                )
                message_id = message.message_id
        except Forbidden as error:  # blocked by the user, or the account is gone: do not retry
            return Delivery(DeliveryStatus.BLOCKED, error=str(error)[:300])
        except BadRequest as error:  # e.g. chat not found: retrying will not help
            return Delivery(DeliveryStatus.FAILED, error=str(error)[:300])
        except (RetryAfter, TimedOut, NetworkError) as error:
            return Delivery(DeliveryStatus.RETRY, error=type(error).__name__)
        return Delivery(DeliveryStatus.SENT, message_id=str(message_id))
