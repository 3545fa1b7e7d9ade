"""End-to-end harness: the real Application polling the Bot API stand-in over HTTP.

``BotHarness`` starts both, and ``ChatUser.send`` / ``press`` inject an update and return
what the bot sent to that chat while processing it (we wait for the update to be
processed, not for a quiet period, so tests are fast and exact).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from telegram import Update

from bot.app import MENUS_TASK_KEY, build_application, start_polling, stop_polling
from bot.context import BotApplication
from bot.runtime import services_for
from bot.settings import Settings, load_settings
from domain.clock import Clock
from domain.fairness import FairnessPolicy
from domain.reminders import RunSummary
from domain.services import Services
from handlers.notifier import TelegramNotifier
from standin.telegram import FakeTelegram, SentMessage
from storage.db import Database, make_engine, upgrade

TOKEN = "123456:TEST-TOKEN-secret-value"
# Tests wait for the bot to finish an update (an event), never for a time; this only ends a
# test that hangs. Generous, so that a loaded machine (a cold chart process) is not a failure.
HANG_GUARD_SECONDS = 60.0


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.sqlite3'}",
        "BOT_ADMIN_IDS": "1",
        # Tests type faster than a person can; tests/test_security.py turns fairness on.
        "BOT_FAIRNESS": "off",
    }
    values.update(overrides)
    return load_settings(**values)


def open_test_database(settings: Settings) -> Database:
    engine = make_engine(settings.database_url)
    upgrade(engine)
    return Database(engine)


@dataclass
class ChatUser:
    harness: BotHarness
    user_id: int
    name: str
    inbox: list[SentMessage] = field(default_factory=list)

    async def send(self, text: str, **extra: Any) -> list[SentMessage]:
        """Send a message as this user; return what the bot sent to this chat meanwhile."""
        update_id = self.harness.telegram.inject_message(self.user_id, text, **extra)
        return await self.harness.replies_to(self.user_id, update_id)

    async def press(self, label: str, message: SentMessage | None = None) -> list[SentMessage]:
        """Press the inline button whose text is ``label`` on ``message`` (default: last)."""
        target = message or self.harness.telegram.last_message(self.user_id)
        for row in target.buttons:
            for text, data in row:
                if text == label:
                    update_id = self.harness.telegram.inject_callback(
                        self.user_id, target.message_id, data
                    )
                    return await self.harness.replies_to(self.user_id, update_id)
        raise AssertionError(f"no button {label!r} in {target.buttons}")

    async def press_data(self, message_id: int, data: str) -> list[SentMessage]:
        """Press a button with any data, even one the message never had (a forged press)."""
        update_id = self.harness.telegram.inject_callback(
            self.user_id, message_id, data, strict=False
        )
        return await self.harness.replies_to(self.user_id, update_id)


class BotHarness:
    def __init__(self, settings: Settings, clock: Clock, telegram: FakeTelegram) -> None:
        self.settings = settings
        self.clock = clock
        self.telegram = telegram
        self.db = open_test_database(settings)
        self.services: Services = services_for(settings, self.db, clock)
        self.application: BotApplication | None = None
        self.fairness: FairnessPolicy | None = None  # a policy on a test's clock, if set
        self._processed: dict[int, asyncio.Event] = {}

    def _on_processed(self, update: object) -> None:
        if isinstance(update, Update):
            self._processed.setdefault(update.update_id, asyncio.Event()).set()

    async def start(self) -> None:
        """Start (or restart) the bot process's Application against the stand-in."""
        # The reminder job is driven by the tests, on their controlled clock.
        self.application = build_application(
            self.settings,
            self.services,
            on_processed=self._on_processed,
            run_scheduler=False,
            fairness=self.fairness,
        )
        await start_polling(self.application, poll_timeout=1)
        menus = self.application.bot_data.get(MENUS_TASK_KEY)
        if menus is not None:
            await menus  # tests look at the menus right away

    async def stop(self) -> None:
        if self.application is None:
            return
        await stop_polling(self.application)
        self.application = None

    async def restart(self) -> None:
        """Stop and build a new Application on the same database: a process restart."""
        await self.stop()
        self.services = services_for(self.settings, self.db, self.clock)
        await self.start()

    async def run_reminders(self) -> RunSummary:
        """One tick of the reminder job, as the scheduler would run it now."""
        assert self.application is not None
        return await self.services.reminders.send_due(TelegramNotifier(self.application.bot))

    def user(self, user_id: int, name: str = "Test", language_code: str = "vi") -> ChatUser:
        self.telegram.add_user(user_id, name, language_code=language_code)
        return ChatUser(self, user_id, name)

    async def replies_to(
        self, chat_id: int, update_id: int, timeout: float = HANG_GUARD_SECONDS
    ) -> list[SentMessage]:
        before = len(self.telegram.sent)
        event = self._processed.setdefault(update_id, asyncio.Event())
        await asyncio.wait_for(event.wait(), timeout)
        return [m for m in self.telegram.sent[before:] if m.chat_id == chat_id]

    async def settle(self, update_ids: Sequence[int], timeout: float = HANG_GUARD_SECONDS) -> None:
        for update_id in update_ids:
            event = self._processed.setdefault(update_id, asyncio.Event())
            await asyncio.wait_for(event.wait(), timeout)
