from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from domain.clock import FixedClock
from domain.fairness import FairnessPolicy
from domain.services import Services, build_services
from standin.telegram import FakeTelegram
from standin.zalo import FakeZalo
from storage.db import Database, make_engine, upgrade
from tests.harness import TOKEN, BotHarness, make_settings
from tests.zalo.conftest import ZALO_TOKEN

# Never let httpx pick up a proxy for the loopback stand-in.
os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
os.environ.setdefault("no_proxy", "127.0.0.1,localhost")

VN = ZoneInfo("Asia/Ho_Chi_Minh")
ADMIN_ID = 1


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Tests build Settings explicitly; a developer's .env or variables must not leak in."""
    for name in list(os.environ):
        if name.startswith(("TELEGRAM_", "BOT_", "DATABASE_URL", "ZALO_")):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2023, 5, 22, 9, 0, tzinfo=VN))


def open_services(path: Path, clock: FixedClock, **options: Any) -> Services:
    """The real domain services on a migrated database at ``path``, with the units, no bot.

    For rules (deadlines, lockouts, audiences) tested through the services themselves, many
    times faster than over the stand-in; the admin is ``ADMIN_ID`` on Telegram. ``options``
    go to ``build_services`` (another calendar file, say).
    """
    engine = make_engine(f"sqlite:///{path}")
    upgrade(engine)
    built = build_services(
        Database(engine), clock, config_admins=[("telegram", str(ADMIN_ID))], **options
    )
    built.units.ensure_default_catalogue()
    return built


@pytest.fixture
def services(tmp_path: Path, clock: FixedClock) -> Iterator[Services]:
    built = open_services(tmp_path / "services.sqlite3", clock)
    try:
        yield built
    finally:
        built.db.engine.dispose()


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    fake = FakeTelegram(TOKEN)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


async def running_harness(
    tmp_path: Path,
    clock: FixedClock,
    telegram: FakeTelegram,
    *,
    fairness: FairnessPolicy | None = None,
    **settings: object,
) -> AsyncIterator[BotHarness]:
    """The bot against the stand-in until the test ends (``fairness``: a policy of its own)."""
    values: dict[str, object] = {"TELEGRAM_API_BASE_URL": telegram.base_url, **settings}
    bot = BotHarness(make_settings(tmp_path, **values), clock, telegram)
    bot.fairness = fairness
    bot.services.units.ensure_default_catalogue()
    await bot.start()
    try:
        yield bot
    finally:
        await bot.stop()
        bot.db.engine.dispose()


@pytest.fixture
async def harness(
    tmp_path: Path, clock: FixedClock, telegram: FakeTelegram
) -> AsyncIterator[BotHarness]:
    async for bot in running_harness(tmp_path, clock, telegram):
        yield bot


@pytest.fixture
async def zalo() -> AsyncIterator[FakeZalo]:
    """The Zalo Bot API stand-in."""
    fake = FakeZalo(ZALO_TOKEN)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()
