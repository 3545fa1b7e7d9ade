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
from datetime import UTC, datetime

from aiohttp import web

from bot.app import (
    WARM_CHARTS_KEY,
    allowed_updates,
    build_application,
    start_polling,
    stop_polling,
)
from bot.context import BotApplication
from bot.fair_queue import shared_policy
from bot.files import FileServer, FileShelf
from bot.isolated import DataSource, IsolatedWorkshop
from bot.logging_setup import configure_logging
from bot.runtime import open_database, services_for
from bot.settings import Settings
from bot.supervision import HEALTH_PATH, Supervisor, UpdateLoopError, hold_database
from bot.watchdog import GaveUp
from commands.core import Runtime
from domain.channel_health import ChannelHealthBoard
from domain.channels import ChannelRouter
from domain.delivery import DeliveryEngine
from domain.i18n import Translator
from domain.reminders import ReminderService
from domain.services import Services
from handlers.broadcast import stop_delivery
from handlers.notifier import TelegramNotifier
from scheduler.reminders import ReminderScheduler
from storage.db import WriteHealth
from storage.lock import DatabaseLock
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
from zalo.webhook import Handler, webhook_app

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
    writes: WriteHealth | None = None  # the database's write health (an update is retried)


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
    host, port = settings.files_listen
    shelf = FileShelf(settings.public_base_url or "")
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
    runtime.zalo_bot_url = settings.zalo_bot_url
    return ZaloChannel(
        client, store, quota, outbox, notifier, adapter, files, delivery, services.db.writes
    )


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


class ZaloRunner:
    """Receive Zalo updates: a webhook server when ZALO_WEBHOOK_URL is set, else polling."""

    def __init__(self, settings: Settings, channel: ZaloChannel, *, poll_timeout: int = 30) -> None:
        self._settings = settings
        self.channel = channel
        self._poll_timeout = poll_timeout
        self._task: asyncio.Task[None] | None = None
        self._web: web.AppRunner | None = None
        self.webhook_url: str | None = None  # where the server listens (tests read the port)
        self.last_update_at: datetime | None = None  # for ``health``
        self.health: Handler | None = None  # /healthz on the webhook server, when set

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
            app = webhook_app(
                self.channel.adapter,
                secret,
                path,
                writes=self.channel.writes,
                on_update=self._updated,
                health=self.health,
            )
            self._web = web.AppRunner(app, access_log=None)
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
            self.restart_polling()
            log.info("Zalo bot %s: polling", me.get("account_name", ""))

    def restart_polling(self) -> None:
        """Start the polling task (again, when the watchdog saw it end)."""
        self._task = asyncio.create_task(
            poll_forever(
                self.channel.client,
                self.channel.adapter,
                timeout=self._poll_timeout,
                writes=self.channel.writes,
                on_update=self._updated,
            ),
            name="zalo:polling",
        )

    @property
    def polling_task(self) -> asyncio.Task[None] | None:
        return self._task

    def _updated(self) -> None:
        self.last_update_at = datetime.now(UTC)

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
    telegram_webhook: bool = False,
    poll_timeout: int = 30,
    on_ready: Callable[[], None] | None = None,
) -> None:
    """Run Zalo (and Telegram, if ``telegram`` and its token is set) until ``stop`` is set.

    Every update loop is watched (``bot.supervision``): one that stops is restarted, and when
    restarting does not help this raises ``UpdateLoopError`` so that the process exits non-zero.
    """
    lock = hold_database(settings)  # a restore in progress finishes first
    try:
        await _serve(settings, stop, lock, telegram, telegram_webhook, poll_timeout, on_ready)
    finally:
        if lock is not None:
            lock.release()


async def _serve(
    settings: Settings,
    stop: asyncio.Event,
    lock: DatabaseLock | None,
    telegram: bool,
    telegram_webhook: bool,
    poll_timeout: int,
    on_ready: Callable[[], None] | None,
) -> None:
    db = open_database(settings)
    services = services_for(settings, db)
    services.units.ensure_default_catalogue()
    supervisor = Supervisor(settings, services, lock)
    workshop = IsolatedWorkshop(DataSource.from_settings(settings))
    runtime = Runtime(ChannelRouter({}), workshop)
    router = runtime.router  # office notices and reminders reach each person's channel
    application: BotApplication | None = None
    if telegram and settings.telegram_bot_token is not None:
        # The reminder job is started below, with the router, instead of the Telegram-only one.
        application = build_application(settings, services, run_scheduler=False, runtime=runtime)
        application.bot_data[WARM_CHARTS_KEY] = True
        router.add("telegram", TelegramNotifier(application.bot))
        timeout = min(poll_timeout, 10)
        if telegram_webhook:
            await start_webhook(application, settings)
        else:
            await start_polling(application, poll_timeout=timeout)
        supervisor.telegram(application, webhook=telegram_webhook, poll_timeout=timeout)
    runner: ZaloRunner | None = None
    scheduler = ReminderScheduler(
        services.reminders,
        router,
        services.tz,
        interval_seconds=settings.reminder_interval_seconds,
    )
    try:
        if settings.zalo_bot_token is not None:
            channel = build_zalo(settings, services, runtime)
            channel.files.routes[HEALTH_PATH] = supervisor.healthz
            runner = ZaloRunner(settings, channel, poll_timeout=poll_timeout)
            runner.health = supervisor.healthz
            await runner.start()
            supervisor.zalo(runner)
        scheduler.start()
        # /healthz: on the Zalo servers when Zalo runs, else on BOT_FILES_LISTEN for a webhook.
        await supervisor.start(health_server=telegram_webhook and runner is None)
        workshop.warm()  # the first /status then answers without waiting for matplotlib
        if on_ready is not None:
            on_ready()
        await _until_stopped(stop, runner, supervisor, zalo_alone=application is None)
    finally:
        await supervisor.stop()
        scheduler.shutdown()
        if application is not None:
            # The engine is shared by both channels: its Zalo sends in flight must finish
            # before the Zalo client closes under them.
            await stop_delivery(application)
        if runner is not None:
            await runner.stop()
        if application is not None:
            await stop_polling(application)
        workshop.close()
        db.engine.dispose()


async def start_webhook(application: BotApplication, settings: Settings) -> None:
    """Receive Telegram's updates on TELEGRAM_WEBHOOK_URL (behind a reverse proxy).

    PTB's webhook server answers 403 to a request without the right
    ``X-Telegram-Bot-Api-Secret-Token`` header, so only Telegram can deliver updates.
    """
    assert settings.telegram_webhook_url is not None
    assert settings.telegram_webhook_secret is not None
    await application.initialize()
    if application.post_init is not None:
        await application.post_init(application)
    await application.start()
    assert application.updater is not None
    host, port = settings.telegram_listen
    await application.updater.start_webhook(
        listen=host,
        port=port,
        url_path=settings.telegram_webhook_path,
        webhook_url=settings.telegram_webhook_url,
        secret_token=settings.telegram_webhook_secret.get_secret_value(),
        allowed_updates=allowed_updates(),
    )


async def _until_stopped(
    stop: asyncio.Event,
    runner: ZaloRunner | None,
    supervisor: Supervisor,
    *,
    zalo_alone: bool,
) -> None:
    """Wait for ``stop``. A watchdog that gave up ends the wait with UpdateLoopError; when
    Zalo is the only channel, a refused token ends it too, with ZaloTokenError: a process
    that can reach no one must exit, not idle on."""
    waits: dict[str, asyncio.Future[object]] = {
        "stop": asyncio.ensure_future(stop.wait()),
        "gave_up": asyncio.ensure_future(supervisor.gave_up()),
    }
    if runner is not None and zalo_alone:
        waits["refused"] = asyncio.ensure_future(runner.channel.client.wait_refused())
    try:
        await asyncio.wait(waits.values(), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits.values():
            if not waiting.done():
                waiting.cancel()
    refused, gave_up = waits.get("refused"), waits["gave_up"]
    if refused is not None and refused.done() and not refused.cancelled():
        error = refused.result()
        assert isinstance(error, ZaloTokenError)
        raise error
    if gave_up.done() and not gave_up.cancelled():
        given = gave_up.result()
        assert isinstance(given, GaveUp)
        raise UpdateLoopError(given)


def run_channels(
    settings: Settings, *, telegram: bool = True, telegram_webhook: bool = False
) -> int:
    """``python -m bot run [--webhook]`` (each channel configured), or ``python -m bot zalo``."""
    configure_logging(settings.secrets())

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signum, stop.set)
        await serve(settings, stop, telegram=telegram, telegram_webhook=telegram_webhook)

    try:
        asyncio.run(main())
    except ZaloError as error:
        print(f"configuration error: Zalo refused the bot: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except UpdateLoopError as error:
        print(f"error: {error}; exiting for a supervisor to restart the bot", file=sys.stderr)
        return error.gave_up.status
    return 0
