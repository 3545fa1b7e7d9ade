"""The inbox: an update taken from Telegram is handled even if the process dies first, once."""

from __future__ import annotations

import json
import logging

import pytest
from sqlmodel import select

from storage.inbox import DONE, GIVEN_UP, MAX_ATTEMPTS, InboundUpdate, Inbox
from storage.models import Answer
from tests.forms_helpers import current_question, register
from tests.harness import BotHarness

USER = 6100


def _update(update_id: int, message_id: int, text: str) -> dict[str, object]:
    return {
        "update_id": update_id,
        "message": {
            "message_id": message_id,
            "date": 1_684_720_800,
            "chat": {"id": USER, "type": "private", "first_name": "Lan"},
            "from": {"id": USER, "is_bot": False, "first_name": "Lan", "language_code": "vi"},
            "text": text,
            **(
                {"entities": [{"type": "bot_command", "offset": 0, "length": len(text)}]}
                if text.startswith("/")
                else {}
            ),
        },
    }


def _inbox(harness: BotHarness) -> Inbox:
    return Inbox(harness.db, harness.clock.now, "telegram")


def _rows(harness: BotHarness) -> dict[int, InboundUpdate]:
    with harness.db.transaction() as session:
        return {int(row.ref): row for row in session.exec(select(InboundUpdate))}


async def test_an_update_taken_but_not_handled_is_handled_after_a_restart(
    harness: BotHarness,
) -> None:
    harness.telegram.add_user(USER, "Lan")
    await harness.stop()
    # What a process killed right after taking the update leaves behind.
    assert _inbox(harness).add("900", json.dumps(_update(900, 5, "/help")))
    await harness.restart()
    await harness.telegram.wait_until(lambda: bool(harness.telegram.messages_to(USER)))
    assert "/help" in harness.telegram.messages_to(USER)[0].plain_text
    await harness.telegram.wait_until(lambda: _rows(harness)[900].status == DONE)
    assert _rows(harness)[900].attempts == 1  # its handling started once


async def test_every_update_is_written_down_and_marked_done(harness: BotHarness) -> None:
    user = harness.user(USER, "Lan")
    await user.send("/help")
    (row,) = _rows(harness).values()
    assert row.status == DONE
    assert json.loads(row.payload_json)["message"]["text"] == "/help"


async def test_a_copy_delivered_again_is_handled_once(harness: BotHarness) -> None:
    harness.telegram.add_user(USER, "Lan")
    first = harness.telegram.inject_update(_update(950, 7, "/help"))
    await harness.replies_to(USER, first)
    # Telegram sends it again (the confirmation was lost in a crash of the previous run).
    harness.telegram.inject_update(_update(950, 7, "/help"))
    marker = harness.telegram.inject_update(_update(951, 8, "/whoami"))
    await harness.replies_to(USER, marker)
    helps = [m for m in harness.telegram.messages_to(USER) if "/help" in m.plain_text]
    assert len(helps) == 1


async def test_a_replayed_answer_is_not_applied_to_the_next_question(
    harness: BotHarness,
) -> None:
    """The crash came after the answer was stored but before the update was marked done."""
    harness.services.periods.ensure_year(2023)
    user = harness.user(USER, "Lan")
    register(harness, user, "huyen-muong-te")
    await user.send("/report")
    first = current_question(harness, user)
    await harness.replies_to(USER, harness.telegram.inject_update(_update(980, 500, "3")))
    second = current_question(harness, user)
    assert second != first
    sent = harness.telegram.messages_to(USER)
    # The same message (same id in the chat) comes back through the inbox after a restart.
    await harness.stop()
    assert _inbox(harness).add("990", json.dumps(_update(990, 500, "3")))
    await harness.restart()
    await harness.telegram.wait_until(lambda: len(harness.telegram.messages_to(USER)) > len(sent))
    await harness.telegram.wait_until(lambda: _rows(harness)[990].status == DONE)
    assert current_question(harness, user) == second  # not answered with the replayed "3"
    with harness.db.transaction() as session:
        keys = [row.question_key for row in session.exec(select(Answer))]
    assert keys == [first]


async def test_an_update_that_keeps_crashing_the_bot_is_given_up(
    harness: BotHarness, caplog: pytest.LogCaptureFixture
) -> None:
    inbox = _inbox(harness)
    inbox.add("970", json.dumps(_update(970, 9, "/help")))
    inbox.add("971", json.dumps(_update(971, 10, "/help")))
    for _ in range(MAX_ATTEMPTS):
        assert inbox.to_replay() != []
        inbox.started("970")  # its replay began, and the process died
    # Runs that died before reaching 971 do not count against it.
    with caplog.at_level(logging.ERROR, logger="storage.inbox"):
        replay = inbox.to_replay()
    assert ([u.ref for u in replay], "gave up 1 update" in caplog.text) == (["971"], True)
    assert _rows(harness)[970].status == GIVEN_UP


async def test_a_first_handling_costs_no_write(harness: BotHarness) -> None:
    inbox = _inbox(harness)
    inbox.add("980", json.dumps(_update(980, 11, "/help")))
    inbox.started("980")  # not a replay: nothing to count
    assert _rows(harness)[980].attempts == 0
