"""/report, /cancel, answers typed or pressed, and the office's notice of each submission."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import ROUTER_KEY, BotContext
from domain.channels import ChannelRouter
from domain.commands import Audience
from domain.conversation import Outcome, Reply
from domain.i18n import translator_for
from domain.reminders import DeliveryStatus, Recipient
from domain.reporting import SubmissionNotice
from handlers.common import CHANNEL, requires
from handlers.help import fallback
from handlers.notifier import TelegramNotifier
from handlers.registration import register_typed_code
from handlers.render import parse_callback, send_outcome

log = logging.getLogger(__name__)


def _chat_id(update: Update) -> str:
    assert update.effective_chat is not None
    return str(update.effective_chat.id)


@requires(Audience.REGISTERED)
async def report(update: Update, context: BotContext) -> None:
    """Start or resume the unit's open report."""
    outcome = context.services.reporting.start(context.me, context.t, chat_id=_chat_id(update))
    await _deliver(update, context, outcome)


@requires(Audience.REGISTERED)
async def cancel(update: Update, context: BotContext) -> None:
    outcome = context.services.reporting.cancel(context.me, context.t, chat_id=_chat_id(update))
    await _deliver(update, context, outcome)


async def on_text(update: Update, context: BotContext) -> None:
    """Plain text: a form answer, else an invite code typed by hand, else a pointer to /help."""
    message = update.effective_message
    assert message is not None
    if context.me.is_focal_point and message.text is not None:
        outcome = context.services.reporting.on_text(
            context.me,
            context.t,
            chat_id=_chat_id(update),
            text=message.text,
            message_seq=message.message_id,
        )
        if outcome is not None:
            await _deliver(update, context, outcome)
            return
    if await register_typed_code(update, context):
        return
    await fallback(update, context)


async def press(update: Update, context: BotContext) -> None:
    """A form button: the step it carries must be the chat's current step."""
    query = update.callback_query
    assert query is not None
    parsed = parse_callback(query.data or "")
    if parsed is None or not context.me.is_focal_point:
        await query.answer(context.t("This button is no longer valid."), show_alert=True)
        return
    step, code = parsed
    outcome = context.services.reporting.on_action(
        context.me, context.t, chat_id=_chat_id(update), step=step, code=code
    )
    await _deliver(update, context, outcome)


async def _deliver(update: Update, context: BotContext, outcome: Outcome) -> None:
    await send_outcome(update, context, outcome)
    for notice in outcome.notices:
        if isinstance(notice, SubmissionNotice):
            await notify_office(context, notice)


async def notify_office(context: BotContext, notice: SubmissionNotice) -> None:
    """Tell every admin and office member, on the channel each of them uses."""
    router = context.bot_data.get(ROUTER_KEY)
    if not isinstance(router, ChannelRouter):
        router = ChannelRouter({CHANNEL: TelegramNotifier(context.bot)})
    for staff in context.services.accounts.staff_contexts():
        t = translator_for(staff.language, context.bot_data.get("tz"))
        english = staff.language == "en"
        unit = notice.unit_name_en if english and notice.unit_name_en else notice.unit_name_vi
        period = (
            notice.period_label_en if english and notice.period_label_en else notice.period_label_vi
        )
        body = t(
            "{unit} sent {period} (version {version}), by {person}.",
            unit=unit,
            period=period,
            version=notice.version,
            person=notice.submitted_by,
        )
        if notice.late:
            body += " " + t("Late.")
        body += "\n" + t("See it with /answers {code}", code=notice.unit_code)
        recipient = Recipient(
            staff.account_id, staff.identity.channel, staff.identity.chat_id, staff.language
        )
        delivery = await router.send(recipient, Reply(body, title=t("📥 Report received")))
        if delivery.status is not DeliveryStatus.SENT:
            log.warning(
                "could not notify office chat %s: %s", staff.identity.chat_id, delivery.error
            )


HANDLERS: list[BaseHandler[Update, BotContext, None]] = [
    CommandHandler("report", report),
    CommandHandler("cancel", cancel),
    CallbackQueryHandler(press),
]

# After every command handler: plain text is tried as an answer, then as an invite code.
TEXT_HANDLERS: list[BaseHandler[Update, BotContext, None]] = [
    MessageHandler(filters.TEXT & ~filters.COMMAND, on_text),
]
