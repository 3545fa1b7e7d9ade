"""Faults on the link to Telegram: 10% of the sends fail (429, 500, 502); no answer is lost."""

from __future__ import annotations

import asyncio
import logging

from tests.forms_helpers import TYPED_ANSWERS as TYPED
from tests.forms_helpers import current_question, register
from tests.harness import BotHarness, ChatUser
from tests.typing_user import stored_answers

USERS = 30


async def _fill_typed(harness: BotHarness, user: ChatUser) -> list[str]:
    """Type every answer (no buttons: a prompt lost to a fault must not block the user)."""
    asked: list[str] = []
    for _ in range(120):
        key = current_question(harness, user)
        if key is None:
            await user.send("/report")
            continue
        if key == "<review>":
            return asked
        if key == "<confirm>":
            await user.send("có")
            continue
        asked.append(key)
        await user.send(str(TYPED[key]))
    raise AssertionError(f"user {user.user_id} did not reach the review")


async def test_concurrent_forms_under_ten_percent_faults_lose_no_answer(
    harness: BotHarness,
) -> None:
    logging.getLogger("handlers.errors").setLevel(logging.CRITICAL)  # faults are expected here
    harness.services.periods.ensure_year(2023)
    codes = [unit.code for unit in harness.services.units.list_units()]
    users = []
    for index in range(USERS):
        user = harness.user(5000 + index, f"Đầu mối {index}")
        register(harness, user, codes[index])  # one unit each: 30 of the 34 active units
        users.append(user)
    harness.telegram.set_fault_rate(0.10, seed=7)
    await asyncio.gather(*(user.send("/report") for user in users))
    asked = await asyncio.gather(*(_fill_typed(harness, user) for user in users))
    harness.telegram.set_fault_rate(0.0)
    assert sum(harness.telegram.random_faults.values()) > 50  # the faults really happened
    by_chat = stored_answers(harness.db)
    for user, keys in zip(users, asked, strict=True):
        stored = by_chat[str(user.user_id)]
        for key in keys:
            if TYPED[key] != "bỏ qua":
                assert key in stored, (user.user_id, key)
        assert current_question(harness, user) == "<review>"
    assert harness.telegram.bad_requests == []


async def test_a_reply_telegram_fails_to_take_is_sent_again(harness: BotHarness) -> None:
    user = harness.user(5100, "Lan")
    harness.telegram.inject_fault("sendMessage", status=502, times=2, chat_id=5100)
    replies = await user.send("/help")
    assert [m.method for m in replies] == ["sendMessage"]  # one help message, after two 502s
    assert "/help" in replies[0].plain_text
    assert [f[1] for f in harness.telegram.faults] == [502, 502]


async def test_a_reply_is_not_repeated_after_a_timeout(harness: BotHarness) -> None:
    """Telegram may have delivered a timed-out message: repeating it is the caller's choice."""
    logging.getLogger("handlers.errors").setLevel(logging.CRITICAL)
    harness.user(5101, "Lan")
    harness.telegram.set_fault_rate(
        1.0, methods=("sendMessage",), kinds=("timeout",), answer_delay=6.0
    )
    update_id = harness.telegram.inject_message(5101, "/help")
    await harness.telegram.wait_until(lambda: bool(harness.telegram.late_answers))
    harness.telegram.set_fault_rate(0.0)
    await harness.replies_to(5101, update_id, timeout=15)
    helps = [m for m in harness.telegram.messages_to(5101) if "/help" in m.plain_text]
    assert len(helps) == 1  # delivered once, though the bot never heard back
    assert harness.telegram.late_answers == [("sendMessage", 5101)]


async def test_the_bot_starts_and_serves_when_telegram_refuses_its_menus(
    harness: BotHarness,
) -> None:
    await harness.stop()
    harness.telegram.inject_fault("setMyCommands", status=500, times=None)
    await harness.restart()
    user = harness.user(5102, "Lan")
    replies = await user.send("/help")
    harness.telegram.clear_faults()
    assert "/help" in replies[-1].plain_text
