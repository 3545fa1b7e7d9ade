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

from bot.app import build_application, start_polling, stop_polling
from bot.context import ROUTER_KEY, BotApplication
from bot.logging_setup import configure_logging
from bot.runtime import open_database, services_for
from bot.settings import Settings
from domain.channels import ChannelRouter
from domain.services import Services
from handlers.notifier import TelegramNotifier
from scheduler.reminders import ReminderScheduler
from zalo import CHANNEL
from zalo.adapter import ZaloAdapter
from zalo.client import SendPacer, ZaloClient, ZaloError, ZaloTokenError
from zalo.health import ZaloDown
from zalo.notifier import ZaloNotifier
from zalo.outbox import ZaloOutbox
from zalo.polling import poll_forever
from zalo.quota import MessageQuota, Usage, warn_office
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


def build_zalo(
    settings: Settings,
    services: Services,
    router: ChannelRouter,
    *,
    on_processed: Callable[[IncomingMessage], None] | None = None,
) -> ZaloChannel:
    """Build the Zalo channel and add its notifier to ``router`` (office notices use it)."""
    if settings.zalo_bot_token is None:
        raise ValueError("build_zalo needs ZALO_BOT_TOKEN")
    client = ZaloClient(
        settings.zalo_bot_token.get_secret_value(),
        base_url=settings.zalo_api_base_url,
        pacer=SendPacer(settings.zalo_send_rate),
    )
    store = ZaloStore(services.db, services.clock)
    quota = MessageQuota(
        services.db, services.clock, services.tz, monthly_limit=settings.zalo_monthly_message_limit
    )
    outbox = ZaloOutbox(client, store, quota)

    async def warn(usage: Usage, threshold: int) -> int:
        return await warn_office(services.accounts, router, usage, threshold, services.tz)

    outbox.on_threshold = warn
    client.on_refused = ZaloDown(services.accounts, router, services.tz)
    notifier = ZaloNotifier(outbox)
    router.add(CHANNEL, notifier)
    adapter = ZaloAdapter(services, outbox, office=router, on_processed=on_processed)
    return ZaloChannel(client, store, quota, outbox, notifier, adapter)


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
        self.channel.adapter.forget_old_messages()
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
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._web is not None:
            await self._web.cleanup()
            self._web = None
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
    router = ChannelRouter({})
    application: BotApplication | None = None
    if telegram and settings.telegram_bot_token is not None:
        # The reminder job is started below, with the router, instead of the Telegram-only one.
        application = build_application(settings, services, run_scheduler=False)
        application.bot_data[ROUTER_KEY] = router  # office notices reach Zalo staff too
        router.add("telegram", TelegramNotifier(application.bot))
        await start_polling(application, poll_timeout=min(poll_timeout, 10))
    runner: ZaloRunner | None = None
    scheduler = ReminderScheduler(services.reminders, router, services.tz)
    try:
        if settings.zalo_bot_token is not None:
            runner = ZaloRunner(
                settings, build_zalo(settings, services, router), poll_timeout=poll_timeout
            )
            await runner.start()
        scheduler.start()
        if on_ready is not None:
            on_ready()
        await _until_stopped(stop, runner, zalo_alone=application is None)
    finally:
        scheduler.shutdown()
        if runner is not None:
            await runner.stop()
        if application is not None:
            await stop_polling(application)
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
