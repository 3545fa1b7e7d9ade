"""Run the Zalo adapter (polling or webhook), alone or beside the Telegram Application.

One process serves both channels when both tokens are set: one database, one reminder job
whose ``ChannelRouter`` sends each focal point's reminder on the channel they registered on.
Do not run a Telegram-only process (``run`` without ZALO_BOT_TOKEN) beside a Zalo one on the
same database: its reminder job could only reach Telegram.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from bot.app import WARM_CHARTS_KEY, build_application, start_polling, stop_polling
from bot.context import BotApplication
from bot.fair_queue import shared_policy
from bot.files import FileServer, FileShelf
from bot.isolated import DataSource, IsolatedWorkshop
from bot.logging_setup import configure_logging
from bot.runtime import open_database, services_for
from bot.settings import Settings
from commands.core import Runtime
from domain.channel_health import ChannelHealthBoard
from domain.channels import ChannelRouter
from domain.delivery import DeliveryEngine
from domain.i18n import Translator
from domain.reminders import ReminderService
from domain.services import Services
from handlers.notifier import TelegramNotifier
from scheduler.reminders import ReminderScheduler
from zalo import CHANNEL
from zalo.adapter import ZaloAdapter
from zalo.broadcast import attach_delivery
from zalo.client import SendPacer, ZaloClient, ZaloError, ZaloTokenError
from zalo.health import ZaloDown
from zalo.notifier import ZaloNotifier
from zalo.outbox import ZaloOutbox
from zalo.polling import poll_forever
from zalo.quota import MessageQuota, QuotaNoticeRouter, QuotaWarnings, UserCapNotices
from zalo.store import ZaloStore
from zalo.updates import IncomingMessage
from zalo.webhook import webhook_app

log = logging.getLogger(__name__)

EXIT_CONFIG = 2


@dataclass
class ZaloChannel:
    """The Zalo adapter's parts, wired: client → outbox (quota, menus) → notifier, adapter."""

    client: ZaloClient
    store: ZaloStore
    quota: MessageQuota
    outbox: ZaloOutbox
    notifier: ZaloNotifier
    adapter: ZaloAdapter
    files: FileServer
    delivery: DeliveryEngine | None = None  # announcements, when Zalo runs alone


def build_zalo(
    settings: Settings,
    services: Services,
    runtime: Runtime,
    *,
    on_processed: Callable[[IncomingMessage], None] | None = None,
) -> ZaloChannel:
    """Build the Zalo channel and add its notifier to the runtime's router (office notices)."""
    router = runtime.router
    if settings.zalo_bot_token is None:
        raise ValueError("build_zalo needs ZALO_BOT_TOKEN")
    client = ZaloClient(
        settings.zalo_bot_token.get_secret_value(),
        base_url=settings.zalo_api_base_url,
        pacer=SendPacer(settings.zalo_send_rate),
    )
    store = ZaloStore(services.db, services.clock)
    quota = MessageQuota(
        services.db,
        services.clock,
        services.tz,
        monthly_limit=settings.zalo_monthly_message_limit,
        calendar=services.calendar,
    )
    outbox = ZaloOutbox(client, store, quota)
    client.on_refused = ZaloDown(services.accounts, router, services.tz)
    notifier = ZaloNotifier(outbox, quota=quota)  # past the quota, reminders wait
    router.add(CHANNEL, notifier)
    warnings_route = QuotaNoticeRouter(router, ZaloNotifier(outbox))
    outbox.warnings = QuotaWarnings(quota, services, warnings_route)
    services.registration.on_user_cap = UserCapNotices(services, warnings_route)
    host, port = _files_listen(settings)
    shelf = FileShelf(getattr(settings, "public_base_url", None) or "")
    files = FileServer(shelf, host, port)
    shared_policy(runtime, enabled=settings.fairness)  # Zalo alone has no Telegram to make it
    adapter = ZaloAdapter(
        services, outbox, runtime, publish=shelf.publish, on_processed=on_processed
    )
    delivery = attach_delivery(runtime, services, outbox, settings.zalo_send_rate)
    runtime.zalo_enabled = True
    runtime.status_lines.append(
        lambda t: zalo_status_lines(quota, t, health=router.health, reminders=services.reminders)
    )
    runtime.zalo_bot_url = getattr(settings, "zalo_bot_url", None)
    return ZaloChannel(client, store, quota, outbox, notifier, adapter, files, delivery)


def zalo_status_lines(
    quota: MessageQuota,
    t: Translator,
    *,
    health: ChannelHealthBoard | None = None,
    reminders: ReminderService | None = None,
) -> list[str]:
    """What /status says about Zalo, on either channel: whether it works, this month's
    messages, and the reminders held back for next month once the quota is spent."""
    lines = []
    state = health.get(CHANNEL) if health is not None else None
    if state is not None and not state.up:
        lines.append(
            t(
                "Zalo is down since {since} ({reason}): Zalo refused the bot token.",
                since=t.datetime(state.since),
                reason=state.reason,
            )
        )
    status = quota.status()
    usage = status.usage
    lines.append(
        t("Zalo messages sent this month: {sent} of {limit}.", sent=usage.sent, limit=usage.limit)
    )
    if status.resumes_at is not None:
        held = reminders.deferred_reminders().count if reminders is not None else 0
        lines.append(
            t(
                "The quota is spent: {count} reminders to Zalo wait until {when}.",
                count=held,
                when=t.datetime(status.resumes_at),
            )
        )
    return lines


def _files_listen(settings: Settings) -> tuple[str, int]:
    listen = getattr(settings, "files_listen", None)
    return listen if isinstance(listen, tuple) else ("127.0.0.1", 0)


class ZaloRunner:
    """Receive Zalo updates: a webhook server when ZALO_WEBHOOK_URL is set, else polling."""

    def __init__(self, settings: Settings, channel: ZaloChannel, *, poll_timeout: int = 30) -> None:
        self._settings = settings
        self.channel = channel
        self._poll_timeout = poll_timeout
        self._task: asyncio.Task[None] | None = None
        self._web: web.AppRunner | None = None
        self.webhook_url: str | None = None  # where the server listens (tests read the port)

    async def start(self) -> None:
        client, settings = self.channel.client, self._settings
        try:
            me = await client.get_me()  # a wrong token fails here, before anything else
        except ZaloTokenError:
            return  # Zalo is down and the office told; ``serve`` decides whether to go on
        await self.channel.files.start()
        if self.channel.delivery is not None:
            await self.channel.delivery.start()  # resumes rounds a restart interrupted
        shelf = self.channel.files.shelf
        if not shelf.base_url and self.channel.files.address is not None:
            shelf.base_url = "http://{}:{}".format(*self.channel.files.address)  # local only
        self.channel.adapter.forget_old_messages()
        await self.channel.outbox.catch_up()  # quota warnings an outage held back
        await self.channel.adapter.replay_unfinished()  # what a crash interrupted, first
        if settings.zalo_webhook_url and settings.zalo_webhook_secret is not None:
            secret = settings.zalo_webhook_secret.get_secret_value()
            path = settings.zalo_webhook_path
            self._web = web.AppRunner(
                webhook_app(self.channel.adapter, secret, path), access_log=None
            )
            await self._web.setup()
            host, port = settings.zalo_listen
            site = web.TCPSite(self._web, host, port)
            await site.start()
            bound = self._web.addresses[0]
            self.webhook_url = f"http://{bound[0]}:{bound[1]}{path}"
            await client.set_webhook(settings.zalo_webhook_url, secret)
            log.info("Zalo bot %s: webhook on %s", me.get("account_name", ""), self.webhook_url)
        else:
            await client.delete_webhook()
            self._task = asyncio.create_task(
                poll_forever(client, self.channel.adapter, timeout=self._poll_timeout)
            )
            log.info("Zalo bot %s: polling", me.get("account_name", ""))

    async def stop(self) -> None:
        if self.channel.delivery is not None:
            await self.channel.delivery.stop()  # sends in flight finish and are recorded
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._web is not None:
            await self._web.cleanup()
            self._web = None
        await self.channel.files.stop()
        await self.channel.client.aclose()

    @property
    def polling_error(self) -> BaseException | None:
        """Why polling stopped (e.g. a refused token), if it did."""
        if self._task is None or not self._task.done() or self._task.cancelled():
            return None
        return self._task.exception()


async def serve(
    settings: Settings,
    stop: asyncio.Event,
    *,
    telegram: bool = True,
    poll_timeout: int = 30,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Run Zalo (and Telegram, if ``telegram`` and its token is set) until ``stop`` is set."""
    db = open_database(settings)
    services = services_for(settings, db)
    services.units.ensure_default_catalogue()
    workshop = IsolatedWorkshop(DataSource.from_settings(settings))
    runtime = Runtime(ChannelRouter({}), workshop)
    router = runtime.router  # office notices and reminders reach each person's channel
    application: BotApplication | None = None
    if telegram and settings.telegram_bot_token is not None:
        # The reminder job is started below, with the router, instead of the Telegram-only one.
        application = build_application(settings, services, run_scheduler=False, runtime=runtime)
        application.bot_data[WARM_CHARTS_KEY] = True
        router.add("telegram", TelegramNotifier(application.bot))
        await start_polling(application, poll_timeout=min(poll_timeout, 10))
    runner: ZaloRunner | None = None
    scheduler = ReminderScheduler(services.reminders, router, services.tz)
    try:
        if settings.zalo_bot_token is not None:
            runner = ZaloRunner(
                settings, build_zalo(settings, services, runtime), poll_timeout=poll_timeout
            )
            await runner.start()
        scheduler.start()
        workshop.warm()  # the first /status then answers without waiting for matplotlib
        if on_ready is not None:
            on_ready()
        await _until_stopped(stop, runner, zalo_alone=application is None)
    finally:
        scheduler.shutdown()
        if runner is not None:
            await runner.stop()
        if application is not None:
            await stop_polling(application)
        workshop.close()
        db.engine.dispose()


async def _until_stopped(
    stop: asyncio.Event, runner: ZaloRunner | None, *, zalo_alone: bool
) -> None:
    """Wait for ``stop``. When Zalo is the only channel, a refused token ends the wait too,
    with ZaloTokenError: a process that can reach no one must exit, not idle on."""
    if runner is None or not zalo_alone:
        await stop.wait()
        return
    stopped = asyncio.ensure_future(stop.wait())
    refused = asyncio.ensure_future(runner.channel.client.wait_refused())
    await asyncio.wait({stopped, refused}, return_when=asyncio.FIRST_COMPLETED)
    stopped.cancel()
    if refused.done():
        raise refused.result()
    refused.cancel()


def run_channels(settings: Settings, *, telegram: bool = True) -> int:
    """``python -m bot run`` with ZALO_BOT_TOKEN (both channels), or ``python -m bot zalo``."""
    configure_logging(settings.secrets())

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signum, stop.set)
        await serve(settings, stop, telegram=telegram)

    try:
        asyncio.run(main())
    except ZaloError as error:
        print(f"configuration error: Zalo refused the bot: {error}", file=sys.stderr)
        return EXIT_CONFIG
    return 0
