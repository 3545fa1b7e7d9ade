"""Build the Telegram Application: settings, services, handlers, menus."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from telegram import Update
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults

from bot.context import (
    RUNTIME_KEY,
    SERVICES_KEY,
    TIMEZONE_KEY,
    BotApplication,
    BotContext,
)
from bot.fair_queue import FairUpdateQueue, shared_policy
from bot.inbox import DurableUpdateQueue
from bot.isolated import DataSource, IsolatedWorkshop
from bot.processing import PerChatUpdateProcessor, ProcessedHook
from bot.rate_limiter import RetryingRateLimiter
from bot.settings import Settings
from commands.core import Runtime
from domain.channels import ChannelRouter
from domain.delivery import DeliveryConfig
from domain.fairness import FairnessPolicy
from domain.send_budget import BudgetConfig, SendBudget
from domain.services import Services
from handlers import broadcast, chat, guards
from handlers.common import CHANNEL
from handlers.errors import on_error
from handlers.menus import refresh_chat_menu, set_default_menus
from handlers.notifier import TelegramNotifier
from handlers.telegram_sender import TelegramSender
from scheduler.reminders import ReminderScheduler
from storage.inbox import Inbox

log = logging.getLogger(__name__)

RUN_SCHEDULER_KEY = "run_scheduler"
SCHEDULER_KEY = "scheduler"
REMINDER_INTERVAL_KEY = "reminder_interval_seconds"
MENUS_TASK_KEY = "menus_task"
SEND_BUDGET_KEY = "send_budget"
# Set by the runners (not the tests): start the chart worker in the background at start.
WARM_CHARTS_KEY = "warm_charts"

# Handler groups: the guard loads the writer first; then the first matching handler of the
# main group takes the update (commands, then presses, then any message).
GUARD_GROUP = -1
MAIN_GROUP = 0


def build_application(
    settings: Settings,
    services: Services,
    *,
    on_processed: ProcessedHook | None = None,
    run_scheduler: bool = True,
    runtime: Runtime | None = None,
    fairness: FairnessPolicy | None = None,
) -> BotApplication:
    """Wire an Application that talks to ``settings.telegram_api_base_url``.

    ``runtime`` is shared with the Zalo channel when one process serves both, and so is its
    fairness policy (``fairness``, else a default one when BOT_FAIRNESS is on).
    """
    if settings.telegram_bot_token is None:
        raise ValueError("build_application needs a token")
    shared = runtime or Runtime(ChannelRouter({}))
    if fairness is not None:
        shared.fairness = fairness
    policy = shared_policy(shared, enabled=settings.fairness)
    inbox = Inbox(services.db, services.clock.now, CHANNEL)
    queue = (
        FairUpdateQueue(inbox, policy, on_dropped=on_processed, default_language=settings.locale)
        if policy is not None
        else DurableUpdateQueue(inbox)
    )

    def processed(update: object) -> None:
        queue.processed(update)
        if on_processed is not None:
            on_processed(update)

    # One budget for everything this token sends: replies first, announcements and reminders
    # after, within BOT_BROADCAST_RATE (the announcement sender shares it).
    budget = SendBudget(BudgetConfig(bulk_rate=settings.broadcast_rate))
    builder: Any = (
        ApplicationBuilder()
        .token(settings.telegram_bot_token.get_secret_value())
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.file_base_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=settings.tz))
        .context_types(ContextTypes(context=BotContext))
        .update_queue(queue)
        .concurrent_updates(
            PerChatUpdateProcessor(
                on_processed=processed,
                on_started=queue.started,
                pace=queue.pace if isinstance(queue, FairUpdateQueue) else None,
            )
        )
        .rate_limiter(RetryingRateLimiter(budget))
        .post_init(_post_init)
        .post_stop(_post_stop)
    )
    application: BotApplication = builder.build()
    if isinstance(queue, FairUpdateQueue):
        queue.bot = application.bot  # its notices go through the same rate limiter
    application.bot_data[SERVICES_KEY] = services
    application.bot_data[TIMEZONE_KEY] = settings.tz
    application.bot_data[SEND_BUDGET_KEY] = budget
    application.bot_data[REMINDER_INTERVAL_KEY] = settings.reminder_interval_seconds
    application.bot_data[RUN_SCHEDULER_KEY] = run_scheduler
    application.add_handlers(guards.HANDLERS, group=GUARD_GROUP)
    application.add_handlers(chat.handlers(), group=MAIN_GROUP)
    application.add_error_handler(on_error)
    shared.workshop = shared.workshop or IsolatedWorkshop(DataSource.from_settings(settings))
    application.bot_data[RUNTIME_KEY] = shared
    delivery = broadcast.setup_delivery(
        application,
        TelegramSender.from_settings(settings, budget=budget),
        DeliveryConfig(rate_per_second=settings.broadcast_rate),
    )
    if settings.zalo_bot_token is not None:
        # Zalo's lane is wired once its client exists (bot.zalo_runner): its deliveries,
        # also those a restart resumes now, wait for it instead of failing.
        delivery.engine.add_channel("zalo")
    return application


async def _set_menus(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """The command menus: the default one and one per admin or office chat we know."""
    services = application.bot_data[SERVICES_KEY]
    assert isinstance(services, Services)
    known = services.accounts.staff_contexts(CHANNEL)
    try:
        await set_default_menus(application.bot)
    except TelegramError as error:  # the menus come back at the next start; serving matters more
        log.warning("could not set the command menus: %s", error)
    for user in known:
        await refresh_chat_menu(application.bot, user)
    log.info("command menus set (%d staff chats)", len(known))


async def _post_init(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Menus in the background, reminders, broadcasts, then what a crash left unfinished."""
    services = application.bot_data[SERVICES_KEY]
    assert isinstance(services, Services)
    now = services.clock.now().astimezone(services.tz)
    services.periods.ensure_year(now.year)  # the plan's periods exist every year by default
    # In the background: on a bad link each call can take its 5 s time-out, and people
    # waiting for an answer matter more than menus (one call per staff chat).
    application.bot_data[MENUS_TASK_KEY] = asyncio.create_task(_set_menus(application))
    # Notices go to each person on the channel they registered on; a channel this process
    # does not serve answers "retry", so the reminder ledger keeps the slot free for it.
    runtime = application.bot_data[RUNTIME_KEY]
    assert isinstance(runtime, Runtime)
    runtime.telegram_username = application.bot.username
    router = runtime.router
    router.add(CHANNEL, TelegramNotifier(application.bot))
    if application.bot_data.get(RUN_SCHEDULER_KEY):
        scheduler = ReminderScheduler(
            services.reminders,
            router,
            services.tz,
            interval_seconds=application.bot_data.get(REMINDER_INTERVAL_KEY, 60),
        )
        scheduler.start()
        application.bot_data[SCHEDULER_KEY] = scheduler
    await broadcast.start_delivery(application)  # resumes rounds a restart interrupted
    queue = application.update_queue
    if isinstance(queue, DurableUpdateQueue):
        await queue.replay(application.bot)  # what a crash interrupted, before anything new
    workshop = runtime.workshop
    if application.bot_data.get(WARM_CHARTS_KEY) and isinstance(workshop, IsolatedWorkshop):
        workshop.warm()  # the first /status then answers without waiting for matplotlib
    log.info("bot @%s ready", application.bot.username)


async def _post_stop(application: Application[Any, Any, Any, Any, Any, Any]) -> None:
    menus = application.bot_data.pop(MENUS_TASK_KEY, None)
    if isinstance(menus, asyncio.Task) and not menus.done():
        menus.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await menus
    await broadcast.stop_delivery(application)  # sends in flight finish and are recorded
    scheduler = application.bot_data.pop(SCHEDULER_KEY, None)
    if isinstance(scheduler, ReminderScheduler):
        scheduler.shutdown()
    runtime = application.bot_data.get(RUNTIME_KEY)
    if isinstance(runtime, Runtime) and isinstance(runtime.workshop, IsolatedWorkshop):
        runtime.workshop.close()


def allowed_updates() -> list[str]:
    return [Update.MESSAGE, Update.EDITED_MESSAGE, Update.CALLBACK_QUERY, Update.MY_CHAT_MEMBER]


async def start_polling(application: BotApplication, *, poll_timeout: int = 10) -> None:
    """Start polling inside an already running event loop (tests, the demo).

    ``run_polling`` owns the loop and calls ``post_init`` itself; here we do both by hand.
    """
    await application.initialize()
    if application.post_init is not None:
        await application.post_init(application)
    await application.start()
    assert application.updater is not None
    await application.updater.start_polling(
        poll_interval=0, timeout=poll_timeout, allowed_updates=allowed_updates()
    )


async def stop_polling(application: BotApplication) -> None:
    if application.updater is not None and application.updater.running:
        await application.updater.stop()
    if application.running:
        await application.stop()
        if application.post_stop is not None:
            await application.post_stop(application)
    await application.shutdown()
