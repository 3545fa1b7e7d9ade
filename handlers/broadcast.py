"""Announcements on Telegram: delivery in the background, its progress, replies passed on.

The commands and compose steps are the command layer's (``commands.broadcast``). Delivery
runs in the background (``setup_delivery`` / ``start_delivery`` / ``stop_delivery``), paced
by ``domain.delivery.DeliveryEngine``: this module gives it Telegram's lane (the ``Sender`` of
``handlers.telegram_sender`` and the progress of rounds sent by office staff on Telegram);
Zalo adds its own lane to the same engine (``zalo.broadcast``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, Protocol

from telegram import Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
)

from bot.context import RUNTIME_KEY, SERVICES_KEY, TIMEZONE_KEY, BotContext
from commands.core import Runtime
from domain.broadcasts import (
    BroadcastProgress,
    BroadcastService,
    ReplyRoute,
    Sender,
    progress_text,
)
from domain.conversation import Reply
from domain.delivery import DeliveryConfig, DeliveryEngine
from domain.i18n import Translator, translator_for
from domain.reminders import DeliveryStatus, Recipient
from domain.services import Services
from domain.text import split_text
from handlers.common import CHANNEL, esc, reply
from handlers.render import MAX_MESSAGE_CHARS

log = logging.getLogger(__name__)

CALLBACK_PREFIX = "bc:"
CALLBACK_PATTERN = r"^bc:"
ACK_CALLBACK = "bc:ack"
DELIVERY_KEY = "broadcast_delivery"


# --- the service and the delivery runtime ----------------------------------------------------
def _service(context: BotContext) -> BroadcastService:
    return context.services.broadcasts


class ManagedSender(Sender, Protocol):
    """A sender with resources to open and close (``TelegramSender``'s own Bot)."""

    async def initialize(self) -> None: ...

    async def shutdown(self) -> None: ...


@dataclass
class DeliveryRuntime:
    engine: DeliveryEngine
    sender: ManagedSender


def setup_delivery(
    application: Application[Any, Any, Any, Any, Any, Any],
    sender: ManagedSender,
    config: DeliveryConfig | None = None,
) -> DeliveryRuntime:
    """Create the delivery engine for ``application`` (start it in post_init)."""
    services = application.bot_data[SERVICES_KEY]
    assert isinstance(services, Services)
    engine = DeliveryEngine(
        services.broadcasts,
        sender,
        config,
        channel=CHANNEL,
        on_progress=ProgressReporter(application),
    )
    runtime = DeliveryRuntime(engine, sender)
    application.bot_data[DELIVERY_KEY] = runtime
    shared = application.bot_data.get(RUNTIME_KEY)
    if isinstance(shared, Runtime):  # the command layer submits confirmed rounds to it
        shared.delivery = engine
    return runtime


def delivery_of(application: Application[Any, Any, Any, Any, Any, Any]) -> DeliveryRuntime | None:
    runtime = application.bot_data.get(DELIVERY_KEY)
    return runtime if isinstance(runtime, DeliveryRuntime) else None


async def start_delivery(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Open the sender and resume every round that was sending (call from post_init)."""
    runtime = delivery_of(application)
    if runtime is None:
        return
    await runtime.sender.initialize()
    await runtime.engine.start()


async def stop_delivery(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Let the sends in flight finish and be recorded, then close (call before stopping)."""
    runtime = delivery_of(application)
    if runtime is None or not runtime.engine.running:
        return
    await runtime.engine.stop()
    await runtime.sender.shutdown()


class ProgressReporter:
    """Edit the sender's progress message in place, and send the report at the end.

    Telegram allows about one message a second in one chat, edits included, and the rounds of
    one sender share their chat: a progress snapshot that comes too soon after the last edit
    is skipped (the next one has newer counts), the final one waits for its turn.
    """

    def __init__(
        self,
        application: Application[Any, Any, Any, Any, Any, Any],
        *,
        per_chat_interval: float = 1.1,
    ) -> None:
        self._application = application
        self._interval = per_chat_interval
        self._next: dict[int, float] = {}
        self._locks: dict[int, asyncio.Lock] = {}

    async def __call__(self, progress: BroadcastProgress) -> None:
        services = self._application.bot_data[SERVICES_KEY]
        assert isinstance(services, Services)
        broadcasts = services.broadcasts
        target = broadcasts.progress_target(progress.broadcast_id)
        if target is None or target.channel != CHANNEL:
            return
        t = translator_for(target.language, self._application.bot_data.get(TIMEZONE_KEY))
        chat_id = int(target.chat_id)
        async with self._locks.setdefault(chat_id, asyncio.Lock()):
            wait = self._next.get(chat_id, 0.0) - time.monotonic()
            if wait > 0:
                if not progress.finished:
                    return
                await asyncio.sleep(wait)
            # Edit only when the text changes ("message is not modified" is an error), also
            # after a restart: what the message shows is kept in the database.
            if (
                target.message_id is not None
                and progress.key != target.shown
                and await self._edit(chat_id, target.message_id, progress_text(progress, t))
            ):
                broadcasts.note_progress(progress.broadcast_id, progress.key)
            if progress.finished:
                bot = self._application.bot
                for chunk in split_text(
                    broadcasts.report(progress.broadcast_id, t), MAX_MESSAGE_CHARS
                ):
                    await bot.send_message(chat_id, esc(chunk))
            self._next[chat_id] = time.monotonic() + self._interval

    async def _edit(self, chat_id: int, message_id: int, text: str) -> bool:
        try:
            await self._application.bot.edit_message_text(
                esc(text), chat_id=chat_id, message_id=message_id
            )
        except BadRequest as error:
            if "not modified" in str(error).lower():
                return True
            log.warning("progress message %s not edited: %s", message_id, error)
            return False
        except TelegramError as error:
            log.warning("progress message %s not edited: %s", message_id, error)
            return False
        return True


async def pass_reply_on(update: Update, context: BotContext, message: Message) -> bool:
    """Pass a focal point's reply on to the office member who sent the announcement.

    On Telegram the reply is copied as it is; to an office member on Zalo its text goes.
    """
    replied = message.reply_to_message
    chat = update.effective_chat
    if replied is None or chat is None or replied.from_user is None:
        return False
    if replied.from_user.id != context.bot.id:
        return False
    route = _service(context).reply_route(str(chat.id), replied.message_id)
    if route is None:
        return False
    t = translator_for(route.sender_language, context.bot_data.get(TIMEZONE_KEY))
    if route.sender_channel != CHANNEL:
        passed = await _pass_to_other_channel(context, route, t, message)
    else:
        passed = await _copy_to_office(context, route, t, chat.id, message)
    if not passed:  # the office chat is gone: tell the focal point too
        await reply(
            update,
            context.t(
                "Sorry, your reply could not be passed on. Please contact the standing office."
            ),
        )
        return True
    await reply(update, context.t("Your reply was sent to the standing office."))
    return True


async def _copy_to_office(
    context: BotContext, route: ReplyRoute, t: Translator, chat_id: int, message: Message
) -> bool:
    office_chat = int(route.sender_chat_id)
    try:
        await context.bot.send_message(office_chat, esc(_reply_header(route, t)))
        await context.bot.copy_message(office_chat, chat_id, message.message_id)
    except TelegramError as error:
        log.warning("reply to broadcast %s not passed on: %s", route.broadcast_id, error)
        return False
    return True


async def _pass_to_other_channel(
    context: BotContext, route: ReplyRoute, t: Translator, message: Message
) -> bool:
    """The announcement came from an office member on Zalo: its text, through the router."""
    runtime = context.bot_data.get(RUNTIME_KEY)
    if not isinstance(runtime, Runtime):
        return False
    said = message.text or message.caption or t("(a file or a picture, seen on Telegram only)")
    office = Recipient(
        route.sender_account_id, route.sender_channel, route.sender_chat_id, route.sender_language
    )
    delivery = await runtime.router.send(
        office, Reply(f"{_reply_header(route, t)}\n{said}", expects_text=False)
    )
    if delivery.status is not DeliveryStatus.SENT:
        log.warning("reply to broadcast %s not passed on: %s", route.broadcast_id, delivery.error)
        return False
    return True


def _reply_header(route: ReplyRoute, t: Translator) -> str:
    """What the office reads above a passed-on reply (plain text), in the member's language."""
    return "↩️ " + t(
        "Reply to announcement #{id} from {unit} ({person}):",
        id=route.broadcast_id,
        unit=route.unit_name(t.language),
        person=route.person,
    )
