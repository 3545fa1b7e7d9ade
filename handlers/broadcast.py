"""/broadcast, /broadcasts, /acks, their buttons, the "Received" button and replies.

Buttons carry callback data starting with ``bc:`` (``CALLBACK_PATTERN``); the report forms use
"<step>|<code>" (always a digit first), so neither can take the other's presses — as long as
``HANDLERS`` is registered before the forms' catch-all ``CallbackQueryHandler``.

``INTERCEPT_HANDLERS`` must run in a group of their own between the guard and the main group:
they take a message only when it belongs to a broadcast (a reply to an announcement, or the
office's draft waiting for its text or unit codes) and stop it there; anything else falls
through to the main group untouched.

Delivery runs in the background (``setup_delivery`` / ``start_delivery`` / ``stop_delivery``),
paced by ``domain.delivery.DeliveryEngine`` through a ``Sender`` (``handlers.telegram_sender``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any, Protocol

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import (
    Application,
    ApplicationHandlerStop,
    BaseHandler,
    CallbackQueryHandler,
    CommandHandler,
    MessageHandler,
    filters,
)

from bot.context import SERVICES_KEY, TIMEZONE_KEY, BotContext
from domain.broadcasts import (
    AckResult,
    Attachment,
    AttachmentKind,
    BroadcastProgress,
    BroadcastQueued,
    BroadcastService,
    ReplyRoute,
    Sender,
    progress_text,
)
from domain.commands import Audience
from domain.conversation import Outcome, Reply
from domain.delivery import DeliveryConfig, DeliveryEngine
from domain.errors import DomainError
from domain.i18n import Translator, translator_for
from domain.services import Services
from handlers.common import esc, reply, requires
from handlers.render import split_text

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
        services.broadcasts, sender, config, on_progress=ProgressReporter(application)
    )
    runtime = DeliveryRuntime(engine, sender)
    application.bot_data[DELIVERY_KEY] = runtime
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
        if target is None:
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
                for chunk in split_text(broadcasts.report(progress.broadcast_id, t)):
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


# --- rendering domain replies ----------------------------------------------------------------
def _keyboard(screen: Reply) -> InlineKeyboardMarkup | None:
    if not screen.actions:
        return None
    rows = []
    for row in screen.actions:
        buttons = []
        for action in row:
            data = CALLBACK_PREFIX + action.code
            if len(data.encode()) > 64:  # Bot API limit, in bytes
                raise ValueError(f"callback data too long: {data!r}")
            buttons.append(InlineKeyboardButton(action.label, callback_data=data))
        rows.append(buttons)
    return InlineKeyboardMarkup(rows)


def _html(screen: Reply) -> list[str]:
    chunks = [esc(chunk) for chunk in split_text(screen.body)]
    if screen.title:
        chunks[0] = f"<b>{esc(screen.title)}</b>\n{chunks[0]}"
    return chunks


async def _show(update: Update, context: BotContext, screen: Reply) -> Message | None:
    """Send (or, for ``replace``, edit in place) one screen; return the message holding it."""
    query = update.callback_query
    chunks, markup = _html(screen), _keyboard(screen)
    target = query.message if query is not None else None
    if screen.replace and isinstance(target, Message) and len(chunks) == 1:
        try:
            edited = await target.edit_text(chunks[0], reply_markup=markup)
        except BadRequest as error:
            if "not modified" not in str(error).lower():
                raise
            return target
        return edited if isinstance(edited, Message) else target
    chat = update.effective_chat
    assert chat is not None
    sent: Message | None = None
    for index, chunk in enumerate(chunks):
        last = index == len(chunks) - 1
        sent = await context.bot.send_message(chat.id, chunk, reply_markup=markup if last else None)
    return sent


async def _render(update: Update, context: BotContext, outcome: Outcome) -> None:
    """Answer the press, show the replies, and start delivering a confirmed round."""
    query = update.callback_query
    shown: Message | None = None
    try:
        if query is not None:
            await query.answer(
                outcome.alert[:200] if outcome.alert else None, show_alert=bool(outcome.alert)
            )
        elif outcome.alert:
            await reply(update, esc(outcome.alert))
        for screen in outcome.replies:
            shown = await _show(update, context, screen)
    finally:
        # The round is confirmed in the database: deliver it even if showing its progress
        # failed (the sender then gets the report without a progress message).
        for notice in outcome.notices:
            if isinstance(notice, BroadcastQueued):
                _start_round(context, notice, shown)


def _start_round(context: BotContext, notice: BroadcastQueued, progress: Message | None) -> None:
    first = BroadcastProgress(notice.broadcast_id, notice.total, 0, 0)
    _service(context).note_progress(
        notice.broadcast_id,
        first.key,
        message_id=progress.message_id if progress is not None else None,
    )
    runtime = delivery_of(context.application)
    if runtime is None or not runtime.engine.running:
        # Kept pending in the ledger: the next start of the delivery engine sends it.
        log.warning("broadcast %s queued while delivery is not running", notice.broadcast_id)
        return
    runtime.engine.submit(notice.broadcast_id)


# --- commands --------------------------------------------------------------------------------
@requires(Audience.OFFICE)
async def broadcast(update: Update, context: BotContext) -> None:
    """/broadcast: compose an announcement (or continue the draft)."""
    await _render(update, context, _service(context).compose(context.me, context.t))


@requires(Audience.OFFICE)
async def broadcasts(update: Update, context: BotContext) -> None:
    """/broadcasts: recent announcements, delivered and confirmed."""
    await _render(update, context, Outcome([_service(context).recent(context.t)]))


@requires(Audience.OFFICE)
async def acks(update: Update, context: BotContext) -> None:
    """/acks <id>: who confirmed an announcement, with a button to remind the others."""
    t = context.t
    argument = (context.args[0] if context.args else "").lstrip("#")
    if not argument.isdigit():
        await reply(
            update, t("Usage: /acks &lt;number&gt;, e.g. /acks 12. /broadcasts lists them.")
        )
        return
    try:
        screen = _service(context).ack_overview(t, int(argument))
    except DomainError as error:
        await reply(update, esc(error.text.render(t)))
        return
    await _render(update, context, Outcome([screen]))


# --- buttons ---------------------------------------------------------------------------------
async def press(update: Update, context: BotContext) -> None:
    """A ``bc:`` button: compose steps, a reminder, or "Received" under an announcement."""
    query = update.callback_query
    assert query is not None
    code = (query.data or "").removeprefix(CALLBACK_PREFIX)
    if code == "ack":
        await _acknowledge(update, context)
        return
    service = _service(context)
    if code.startswith("rem:"):
        outcome = service.remind(context.me, context.t, code)
    else:
        outcome = service.on_action(context.me, context.t, code)
    await _render(update, context, outcome)


async def _acknowledge(update: Update, context: BotContext) -> None:
    query, t = update.callback_query, context.t
    assert query is not None and update.effective_chat is not None
    message = query.message
    if not isinstance(message, Message):
        await query.answer(t("This button is no longer valid."), show_alert=True)
        return
    result = _service(context).acknowledge(
        context.me.account_id, str(update.effective_chat.id), message.message_id
    )
    if result is AckResult.UNKNOWN:
        await query.answer(t("This button is no longer valid."), show_alert=True)
        return
    if result is AckResult.ALREADY:
        await query.answer(t("You have already confirmed. Thank you!"))
    else:
        await query.answer(t("Thank you! The standing office sees that you received it."))
    if message.reply_markup is not None and message.reply_markup.inline_keyboard:
        try:
            await message.edit_reply_markup(reply_markup=None)
        except BadRequest as error:  # pressed twice in a row: the first press removed it
            if "not modified" not in str(error).lower():
                raise


# --- messages that belong to a broadcast (the intercept group) -------------------------------
async def intercept_message(update: Update, context: BotContext) -> None:
    """A reply to an announcement goes to the office; the office's draft takes its input."""
    message = update.effective_message
    assert message is not None
    if message.reply_to_message is not None and await _pass_reply_on(update, context, message):
        raise ApplicationHandlerStop
    if not context.me.is_office:
        return
    outcome = _service(context).on_input(
        context.me,
        context.t,
        text=message.text if message.text is not None else message.caption,
        attachment=_attachment(message),
    )
    if outcome is not None:
        await _render(update, context, outcome)
        raise ApplicationHandlerStop


async def intercept_cancel(update: Update, context: BotContext) -> None:
    """/cancel while composing drops the draft; otherwise /cancel is the forms' command."""
    if not context.me.is_office:
        return
    outcome = _service(context).cancel_draft(context.me, context.t)
    if outcome is not None:
        await _render(update, context, outcome)
        raise ApplicationHandlerStop


def _attachment(message: Message) -> Attachment | None:
    if message.photo:
        return Attachment(AttachmentKind.PHOTO, message.photo[-1].file_id)
    if message.document is not None:
        return Attachment(
            AttachmentKind.DOCUMENT, message.document.file_id, message.document.file_name
        )
    return None


async def _pass_reply_on(update: Update, context: BotContext, message: Message) -> bool:
    """Copy a focal point's reply to the office member who sent the announcement."""
    replied = message.reply_to_message
    chat = update.effective_chat
    if replied is None or chat is None or replied.from_user is None:
        return False
    if replied.from_user.id != context.bot.id:
        return False
    route = _service(context).reply_route(str(chat.id), replied.message_id)
    if route is None:
        return False
    header = _reply_header(
        route, translator_for(route.sender_language, context.bot_data.get(TIMEZONE_KEY))
    )
    office_chat = int(route.sender_chat_id)
    try:
        await context.bot.send_message(office_chat, header)
        await context.bot.copy_message(office_chat, chat.id, message.message_id)
    except TelegramError as error:  # the office chat is gone: tell the focal point too
        log.warning("reply to broadcast %s not passed on: %s", route.broadcast_id, error)
        await reply(
            update,
            context.t(
                "Sorry, your reply could not be passed on. Please contact the standing office."
            ),
        )
        return True
    await reply(update, context.t("Your reply was sent to the standing office."))
    return True


def _reply_header(route: ReplyRoute, t: Translator) -> str:
    """What the office reads above a copied reply, in the office member's language."""
    return "↩️ " + t(
        "Reply to announcement #{id} from {unit} ({person}):",
        id=route.broadcast_id,
        unit=esc(route.unit_name(t.language)),
        person=esc(route.person),
    )


# Register in the main group BEFORE reports.HANDLERS (its CallbackQueryHandler takes every
# press): the pattern keeps ours to "bc:" data.
HANDLERS: list[BaseHandler[Update, BotContext, None]] = [
    CommandHandler("broadcast", broadcast),
    CommandHandler("broadcasts", broadcasts),
    CommandHandler("acks", acks),
    CallbackQueryHandler(press, pattern=CALLBACK_PATTERN),
]

# Register in a group of their own between the guard and the main group: they stop the
# update only when they took it.
INTERCEPT_HANDLERS: list[BaseHandler[Update, BotContext, None]] = [
    CommandHandler("cancel", intercept_cancel),
    MessageHandler(
        filters.UpdateType.MESSAGE
        & ~filters.COMMAND
        & (filters.REPLY | filters.TEXT | filters.PHOTO | filters.Document.ALL),
        intercept_message,
    ),
]
