"""The broadcast ``Sender`` over python-telegram-bot: Telegram's answers become outcomes.

It uses a plain ``telegram.Bot`` of its own rather than the Application's ``ExtBot``: that one's
rate limiter retries RetryAfter itself, and the delivery engine must be the one that retries
and records. Both draw from the token's one ``SendBudget``: each announcement takes a bulk
slot, so a person waiting for a reply goes first, and a 429 here pauses the replies too.
"""

from __future__ import annotations

import warnings
from datetime import timedelta

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
)
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from bot.settings import Settings
from commands.broadcast import RECEIVED
from domain.broadcasts import Attachment, AttachmentKind, DeliveryJob, SendResult
from domain.i18n import translator_for
from domain.send_budget import Priority, SendBudget
from handlers.broadcast import ACK_CALLBACK
from handlers.common import esc


def retry_after_seconds(error: RetryAfter) -> float:
    """``RetryAfter.retry_after`` as seconds, without PTB 22's int/timedelta deprecation warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = error.retry_after
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


def _chat(chat_id: str) -> int | str:
    return int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id


class TelegramSender:
    """Send one announcement to one chat and say what happened; never raises for Telegram."""

    def __init__(self, bot: Bot, budget: SendBudget | None = None) -> None:
        self._bot = bot
        # The token's budget, shared with the replies: an announcement waits for people.
        self._budget = budget

    @classmethod
    def from_settings(
        cls, settings: Settings, *, pool_size: int = 32, budget: SendBudget | None = None
    ) -> TelegramSender:
        """A Bot on the configured API URLs, its pool at least the engine's concurrency."""
        if settings.telegram_bot_token is None:
            raise ValueError("the broadcast sender needs a token")
        bot = Bot(
            settings.telegram_bot_token.get_secret_value(),
            base_url=settings.telegram_api_base_url,
            base_file_url=settings.file_base_url,
            request=HTTPXRequest(connection_pool_size=pool_size, pool_timeout=5.0),
        )
        return cls(bot, budget)

    async def initialize(self) -> None:
        await self._bot.initialize()

    async def shutdown(self) -> None:
        await self._bot.shutdown()

    async def send(self, job: DeliveryJob) -> SendResult:
        markup = None
        if job.ack_button:
            t = translator_for(job.language)
            label = "✅ " + t(RECEIVED)
            markup = InlineKeyboardMarkup(
                [[InlineKeyboardButton(label, callback_data=ACK_CALLBACK)]]
            )
        if self._budget is not None:
            await self._budget.acquire(Priority.BULK, job.chat_id)
        try:
            message = await self._send(_chat(job.chat_id), esc(job.text), job.attachment, markup)
        except RetryAfter as error:
            if self._budget is not None:
                self._budget.pause(retry_after_seconds(error))  # the whole token waits
            return SendResult.flood_wait(retry_after_seconds(error), str(error))
        except Forbidden as error:  # "bot was blocked by the user", "user is deactivated"
            return SendResult.forbidden(error.message)
        except (BadRequest, ChatMigrated) as error:  # "chat not found", a bad file id…
            return SendResult.bad_request(error.message)
        except NetworkError as error:  # includes TimedOut and 5xx answers
            return SendResult.transient(error.message or type(error).__name__)
        except TelegramError as error:  # InvalidToken, Conflict: retried, then reported
            return SendResult.transient(error.message or type(error).__name__)
        return SendResult.sent(message.message_id)

    async def _send(
        self,
        chat_id: int | str,
        html: str,
        attachment: Attachment | None,
        markup: InlineKeyboardMarkup | None,
    ) -> Message:
        if attachment is None:
            return await self._bot.send_message(
                chat_id, html, parse_mode=ParseMode.HTML, reply_markup=markup
            )
        if attachment.kind is AttachmentKind.PHOTO:
            return await self._bot.send_photo(
                chat_id,
                attachment.ref,
                caption=html,
                parse_mode=ParseMode.HTML,
                reply_markup=markup,
            )
        return await self._bot.send_document(
            chat_id, attachment.ref, caption=html, parse_mode=ParseMode.HTML, reply_markup=markup
        )
