"""What keeps a running bot honest: the database lock, the heartbeat, the watchdog over each
channel's update loop, the daily retention job and ``/healthz``.

``bot.zalo_runner.serve`` (every ``python -m bot run`` and ``python -m bot zalo``) starts one
``Supervisor`` around the channels it serves; see ``bot.health`` for how ``python -m bot
health`` reads it and ``bot.watchdog`` for what happens when a loop stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web
from telegram.ext import Updater

from bot.app import allowed_updates
from bot.context import BotApplication
from bot.health import (
    HEARTBEAT_SECONDS,
    ChannelState,
    HealthReport,
    Heartbeat,
    database_lock,
    healthz_handler,
    heartbeat_path,
    live_report,
)
from bot.inbox import DurableUpdateQueue
from bot.settings import Settings
from bot.watchdog import GaveUp, Watchdog
from domain.services import Services
from scheduler.retention import RetentionJob
from storage.lock import DatabaseLock

if TYPE_CHECKING:
    from bot.zalo_runner import ZaloRunner

log = logging.getLogger(__name__)

HEALTH_PATH = "/healthz"
# PTB 22 keeps its polling task in a private attribute; a test fails if it is renamed.
PTB_POLLING_TASK = "_Updater__polling_task"


class UpdateLoopError(Exception):
    """The watchdog gave up on an update loop: the process must exit with ``status``."""

    def __init__(self, gave_up: GaveUp) -> None:
        super().__init__(f"{gave_up.loop} kept stopping ({gave_up.reason})")
        self.gave_up = gave_up


def hold_database(settings: Settings) -> DatabaseLock | None:
    """Take the database's lock for this bot process (it waits while a restore runs)."""
    lock = database_lock(settings.database_url)
    if lock is not None and not lock.serve(wait=False):
        log.warning("waiting for the database restore to finish (%s is held)", lock.path.name)
        lock.serve()
    return lock


def polling_task(updater: Updater) -> asyncio.Future[Any] | None:
    """PTB's polling task (private in PTB 22: a test fails if PTB renames it)."""
    task = getattr(updater, PTB_POLLING_TASK, None)
    return task if isinstance(task, asyncio.Future) else None


def forget_dead_task(updater: Updater) -> None:
    """Drop PTB's polling task once it ended: ``Updater.stop()`` would re-raise its error and
    leave PTB's stop event set, so that a new loop would stop at once."""
    task = polling_task(updater)
    if task is not None and task.done():
        if not task.cancelled():
            task.exception()  # retrieved: asyncio does not log it again at exit
        setattr(updater, PTB_POLLING_TASK, None)


class TelegramPolling:
    """Telegram's update loop: PTB's polling task, restarted in place."""

    name = "telegram"

    def __init__(self, application: BotApplication, poll_timeout: int) -> None:
        self._application = application
        self._timeout = poll_timeout

    @property
    def updater(self) -> Updater:
        assert self._application.updater is not None
        return self._application.updater

    def task(self) -> asyncio.Future[Any] | None:
        return polling_task(self.updater)

    def final(self, ended: asyncio.Future[Any]) -> bool:
        return False  # even a refused token may be a glitch: the restart budget decides

    async def restart(self) -> None:
        updater = self.updater
        forget_dead_task(updater)
        if updater.running:
            await updater.stop()
        await updater.start_polling(
            poll_interval=0, timeout=self._timeout, allowed_updates=allowed_updates()
        )


class ZaloPolling:
    """Zalo's update loop: the runner's ``poll_forever`` task."""

    name = "zalo"

    def __init__(self, runner: ZaloRunner) -> None:
        self._runner = runner

    def task(self) -> asyncio.Future[Any] | None:
        return self._runner.polling_task

    def final(self, ended: asyncio.Future[Any]) -> bool:
        # poll_forever returns only when Zalo refused the token (told to the office already).
        return not ended.cancelled() and ended.exception() is None

    async def restart(self) -> None:
        self._runner.restart_polling()


class Supervisor:
    def __init__(self, settings: Settings, services: Services, lock: DatabaseLock | None) -> None:
        self._settings = settings
        self._services = services
        self._lock = lock
        self.heartbeat = Heartbeat(heartbeat_path(settings.database_url), services.db)
        self.watchdog: Watchdog | None = None
        self._retention = RetentionJob(services.lifecycle, services.tz)
        self._beating: asyncio.Task[None] | None = None
        self._server: web.AppRunner | None = None
        self._application: BotApplication | None = None
        self.health_address: tuple[str, int] | None = None  # where /healthz listens, if here

    # --------------------------------------------------------------------- what it watches
    def report(self) -> HealthReport:
        return live_report(self.heartbeat, self._settings.database_url, self._services.db)

    @property
    def healthz(self) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        """The ``/healthz`` handler (the Zalo webhook and file servers mount it too)."""
        return healthz_handler(self.report)

    def telegram(self, application: BotApplication, *, webhook: bool, poll_timeout: int) -> None:
        """Watch Telegram: the polling task is restarted; a webhook shows in health only."""
        watchdog = self._watchdog()
        self._application = application
        queue = application.update_queue
        loop = None if webhook else TelegramPolling(application, poll_timeout)
        if loop is not None:
            watchdog.watch(loop)

        def state() -> ChannelState:
            updater = application.updater
            record = watchdog.records.get("telegram")
            running = updater is not None and updater.running
            if loop is not None:
                task = loop.task()
                running = running and task is not None and not task.done()
            return ChannelState(
                "telegram",
                "webhook" if webhook else "polling",
                running,
                detail=record.stopped if record is not None and not running else "",
                last_update_at=getattr(queue, "last_update_at", None)
                if isinstance(queue, DurableUpdateQueue)
                else None,
                restarts=record.restarts if record is not None else 0,
            )

        self.heartbeat.add("telegram", state)

    def zalo(self, runner: ZaloRunner) -> None:
        """Watch Zalo: its polling task is restarted unless Zalo refused the token."""
        watchdog = self._watchdog()
        webhook = runner.webhook_url is not None
        if runner.polling_task is not None:
            watchdog.watch(ZaloPolling(runner))

        def state() -> ChannelState:
            record = watchdog.records.get("zalo")
            down = runner.channel.client.refused is not None
            if webhook:
                running = runner.webhook_url is not None and not down
            else:
                task = runner.polling_task
                running = task is not None and not task.done() and not down
            detail = "Zalo refused the bot token" if down else ""
            if not running and not detail and record is not None:
                detail = record.stopped
            return ChannelState(
                "zalo",
                "webhook" if webhook else "polling",
                running,
                detail=detail,
                last_update_at=runner.last_update_at,
                restarts=record.restarts if record is not None else 0,
            )

        self.heartbeat.add("zalo", state)

    def _watchdog(self) -> Watchdog:
        if self.watchdog is None:
            self.watchdog = Watchdog(on_change=self.heartbeat.write)
        return self.watchdog

    # --------------------------------------------------------------------- life
    async def start(self, *, health_server: bool = False) -> None:
        """Beat, prune daily, and serve ``/healthz`` on BOT_FILES_LISTEN if asked."""
        self._watchdog()
        self.heartbeat.write()  # at once: ``health`` knows of this process from now on
        self._beating = asyncio.create_task(self.heartbeat.run(HEARTBEAT_SECONDS))
        self._retention.start()
        if health_server:
            app = web.Application()
            app.router.add_get(HEALTH_PATH, self.healthz)
            self._server = web.AppRunner(app, access_log=None)
            await self._server.setup()
            host, port = self._settings.files_listen
            await web.TCPSite(self._server, host, port).start()
            bound = self._server.addresses[0]
            self.health_address = (bound[0], bound[1])
            log.info("health on http://%s:%s%s", bound[0], bound[1], HEALTH_PATH)

    async def gave_up(self) -> GaveUp:
        """Wait until the watchdog gives up on a loop (never, while all is well)."""
        return await self._watchdog().gave_up

    async def stop(self) -> None:
        if self.watchdog is not None:
            await self.watchdog.stop()
        if self._application is not None and self._application.updater is not None:
            forget_dead_task(self._application.updater)  # so that stopping it does not raise
        if self._beating is not None:
            self._beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._beating
            self._beating = None
        self._retention.shutdown()
        if self._server is not None:
            await self._server.cleanup()
            self._server = None
        self.heartbeat.remove()
        if self._lock is not None:
            self._lock.release()
