"""Kill the bot process (SIGKILL) at random moments while a focal point fills a report.

The bot runs as a real ``python -m bot run`` process against the stand-in; after each kill it
is started again. Every answer the database holds is the one that was typed, the form goes
on where it was, and SQLite's integrity check passes.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from pathlib import Path

from sqlalchemy import text

from bench.chaos import BotProcess
from bot.runtime import open_database, services_for
from bot.settings import load_settings
from domain.identity import ChannelIdentity
from standin.telegram import FakeTelegram
from tests.forms_helpers import TYPED_ANSWERS as TYPED
from tests.harness import TOKEN
from tests.typing_user import TypingUser, expected_values, form_positions, stored_answers

ROOT = Path(__file__).resolve().parent.parent
# A restart takes about a second; VSTBPN_CRASH_KILLS sets how many.
KILLS = int(os.environ.get("VSTBPN_CRASH_KILLS", "20"))
USER = 1001


async def test_sigkill_during_a_form_loses_nothing(tmp_path: Path) -> None:
    telegram = FakeTelegram(TOKEN)
    await telegram.start()
    db_url = f"sqlite:///{tmp_path / 'crash.sqlite3'}"
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": telegram.base_url,
        "DATABASE_URL": db_url,
        "NO_PROXY": "127.0.0.1,localhost",
    }
    settings = load_settings(DATABASE_URL=db_url)
    db = open_database(settings)
    services = services_for(settings, db)
    services.units.ensure_default_catalogue()
    issued = services.registration.create_invite("huyen-muong-te", actor="test")
    services.registration.register(
        ChannelIdentity("telegram", str(USER), str(USER), "Mai"), issued.code
    )
    telegram.add_user(USER, "Mai")
    dice = random.Random(2023)
    kills = 0
    person = TypingUser(telegram, USER)
    bot = BotProcess(telegram, env, log=None)
    await bot.start()
    try:
        deadline = time.monotonic() + 60 + 5 * KILLS
        while time.monotonic() < deadline:
            typed = person.messages_typed
            if person.step(form_positions(db).get(str(USER)), time.monotonic()):
                break
            if person.messages_typed > typed and kills < KILLS and dice.random() < 0.7:
                await asyncio.sleep(dice.uniform(0, 0.15))  # somewhere inside the handling
                await bot.kill()
                kills += 1
                await bot.start()
            else:
                await asyncio.sleep(0.1)
        key = form_positions(db).get(str(USER))
        answers = stored_answers(db).get(str(USER), {})
    finally:
        db.engine.dispose()
        await bot.stop()
        await telegram.stop()
    assert key == "<review>"
    assert kills >= min(KILLS, 5)
    assert person.retyped == 0  # no message was lost: the inbox kept what a kill interrupted
    for question, value in answers.items():
        assert value is not None, question
        assert str(TYPED[question]).lower() != "bỏ qua", question
    expected = expected_values()
    assert answers == {key: expected[key] for key in answers}, "an answer differs from the typed"
    assert answers["staff_total"] == 1250
    assert answers["budget_spent_vnd"] == 15_000_000
    settings = load_settings(DATABASE_URL=db_url)
    check = open_database(settings, migrate=False)
    with check.engine.connect() as connection:
        assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
    check.engine.dispose()
    assert telegram.bad_requests == []
