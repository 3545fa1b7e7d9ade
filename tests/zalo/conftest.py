"""Fixtures for the Zalo channel: the Zalo stand-in, and the bot serving Telegram and Zalo
from one database in one process (both over HTTP, on real sockets)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlmodel import select

from bot.context import RUNTIME_KEY
from bot.settings import Settings
from bot.zalo_runner import ZaloChannel, ZaloRunner, build_zalo, serve
from domain.channels import ChannelRouter
from domain.clock import FixedClock
from domain.fairness import FairnessPolicy
from domain.identity import ChannelIdentity
from domain.reminders import RunSummary
from domain.services import Services
from standin.telegram import FakeTelegram
from standin.zalo import FakeZalo
from storage.db import Database
from storage.models import FormSession
from tests.forms_helpers import form_position
from tests.harness import HANG_GUARD_SECONDS, BotHarness, make_settings
from zalo.updates import IncomingMessage

ZALO_TOKEN = "9988776655443322110:ZALO-secret-token-value"


@dataclass
class ZaloUser:
    bot: ZaloBot
    user_id: str
    name: str

    async def send(self, text: str) -> list[str]:
        """Type ``text``; return what the bot sent to this chat while handling it."""
        fake = self.bot.zalo
        before = len(fake.sent)
        message_id = fake.inject_text(self.user_id, text)
        await self.bot.processed(message_id)
        return [m.text for m in fake.sent[before:] if m.chat_id == self.user_id]

    def inbox(self, since: int = 0) -> list[str]:
        return [m.text for m in self.bot.zalo.sent[since:] if m.chat_id == self.user_id]


class ZaloBot:
    """The Telegram harness plus the Zalo channel on the same services and router."""

    def __init__(self, telegram: BotHarness, zalo: FakeZalo) -> None:
        self.telegram = telegram
        self.zalo = zalo
        self.router = ChannelRouter({})
        self.channel: ZaloChannel | None = None
        self.runner: ZaloRunner | None = None
        self._done: dict[str, asyncio.Event] = {}

    @property
    def services(self) -> Services:
        return self.telegram.services

    @property
    def db(self) -> Database:
        return self.telegram.db

    def _on_processed(self, message: IncomingMessage) -> None:
        self._done.setdefault(message.message_id, asyncio.Event()).set()

    async def processed(self, message_id: str, timeout: float = HANG_GUARD_SECONDS) -> None:
        event = self._done.setdefault(message_id, asyncio.Event())
        await asyncio.wait_for(event.wait(), timeout)

    async def start(self) -> None:
        """Start (or restart) the Zalo side: a new client, adapter and runner."""
        assert self.telegram.application is not None
        # One process serves both channels: they share the command layer's runtime.
        runtime = self.telegram.application.bot_data[RUNTIME_KEY]
        self.router = runtime.router
        self.channel = build_zalo(
            self.telegram.settings, self.services, runtime, on_processed=self._on_processed
        )
        self.runner = ZaloRunner(self.telegram.settings, self.channel, poll_timeout=1)
        await self.runner.start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.stop()
            self.runner = None

    async def restart(self) -> None:
        """A process restart: both channels stop and come back on the same database."""
        await self.stop()
        await self.telegram.restart()
        await self.start()

    def user(self, user_id: str, name: str = "Đầu mối Zalo") -> ZaloUser:
        self.zalo.add_user(user_id, name)
        return ZaloUser(self, user_id, name)

    def register(self, user: ZaloUser, unit_code: str) -> None:
        """Make ``user`` a focal point (registration by a typed code has its own test)."""
        issued = self.services.registration.create_invite(unit_code, actor="test")
        identity = ChannelIdentity("zalo", user.user_id, user.user_id, user.name)
        self.services.registration.register(identity, issued.code)

    def current_question(self, user: ZaloUser) -> str | None:
        with self.db.transaction() as session:
            active = session.exec(
                select(FormSession).where(
                    FormSession.channel == "zalo", FormSession.chat_id == user.user_id
                )
            ).first()
            return None if active is None else form_position(active)

    async def run_reminders(self) -> RunSummary:
        """One tick of the reminder job, on every channel."""
        return await self.services.reminders.send_due(self.router)


async def _zalo_bot(
    tmp_path: Path,
    clock: FixedClock,
    telegram: FakeTelegram,
    zalo: FakeZalo,
    *,
    fairness: FairnessPolicy | None = None,
    **settings: object,
) -> AsyncIterator[ZaloBot]:
    values: dict[str, object] = {
        "TELEGRAM_API_BASE_URL": telegram.base_url,
        "ZALO_BOT_TOKEN": ZALO_TOKEN,
        "ZALO_API_BASE_URL": zalo.url,
        # Paced at 100/s so a test types at full speed (test_send_pacing.py checks the pace).
        "ZALO_SEND_RATE": 100,
        "BOT_FILES_LISTEN": "127.0.0.1:0",  # tests run side by side: any free port
    }
    values.update(settings)
    harness = BotHarness(make_settings(tmp_path, **values), clock, telegram)
    harness.fairness = fairness
    harness.services.units.ensure_default_catalogue()
    await harness.start()
    bot = ZaloBot(harness, zalo)
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()
        await harness.stop()
        harness.db.engine.dispose()


@pytest.fixture
async def zalo_bot(
    tmp_path: Path, clock: FixedClock, telegram: FakeTelegram, zalo: FakeZalo
) -> AsyncIterator[ZaloBot]:
    async for bot in _zalo_bot(tmp_path, clock, telegram, zalo):
        yield bot


@pytest.fixture
async def zalo_small_quota(
    tmp_path: Path, clock: FixedClock, telegram: FakeTelegram, zalo: FakeZalo
) -> AsyncIterator[ZaloBot]:
    async for bot in _zalo_bot(tmp_path, clock, telegram, zalo, ZALO_MONTHLY_MESSAGE_LIMIT=10):
        yield bot


@pytest.fixture
async def zalo_two_users(
    tmp_path: Path, clock: FixedClock, telegram: FakeTelegram, zalo: FakeZalo
) -> AsyncIterator[ZaloBot]:
    async for bot in _zalo_bot(tmp_path, clock, telegram, zalo, ZALO_MAX_USERS=2):
        yield bot


@pytest.fixture
async def zalo_webhook(
    tmp_path: Path, clock: FixedClock, telegram: FakeTelegram, zalo: FakeZalo
) -> AsyncIterator[ZaloBot]:
    async for bot in _zalo_bot(
        tmp_path,
        clock,
        telegram,
        zalo,
        ZALO_WEBHOOK_URL="https://vstbpn.example.vn/zalo/webhook",
        ZALO_WEBHOOK_SECRET="s3cret-Webhook_token",
        ZALO_WEBHOOK_LISTEN="127.0.0.1:0",
    ):
        yield bot


def serving_settings(
    tmp_path: Path, zalo: FakeZalo, telegram: FakeTelegram | None = None, **values: object
) -> Settings:
    """Settings of a real process serving Zalo, and Telegram too when ``telegram`` is given."""
    channels: dict[str, object] = {
        "ZALO_BOT_TOKEN": ZALO_TOKEN,
        "ZALO_API_BASE_URL": zalo.url,
        "BOT_FILES_LISTEN": "127.0.0.1:0",
    }
    if telegram is not None:
        channels["TELEGRAM_API_BASE_URL"] = telegram.base_url
    else:
        channels["TELEGRAM_BOT_TOKEN"] = ""
    return make_settings(tmp_path, **channels, **values)


async def start_serving(settings: Settings) -> tuple[asyncio.Event, asyncio.Task[None]]:
    """Run ``serve`` (as ``python -m bot run``) until it is ready; set the event to stop it."""
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve(settings, stop, poll_timeout=1, on_ready=ready.set))
    await asyncio.wait_for(ready.wait(), 10)
    return stop, task
