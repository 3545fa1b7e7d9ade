"""Zalo messages go through the inbox too: one a crash interrupted is handled at the next
start, and a replayed answer the form already has is not given to the next question."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import select

from domain.clock import FixedClock
from storage.inbox import PENDING, InboundUpdate, Inbox
from storage.models import Answer
from tests.conftest import VN
from tests.zalo.conftest import ZaloBot
from zalo.updates import parse_updates


async def test_a_message_a_crash_interrupted_is_handled_at_the_next_start(
    zalo_bot: ZaloBot, clock: FixedClock
) -> None:
    user = zalo_bot.user("7301", "Lan")
    await zalo_bot.stop()
    # What a process killed while handling it leaves: the message in the inbox, not done.
    (message,) = parse_updates(zalo_bot.zalo.update_for(user.user_id, "/help"))
    assert Inbox(zalo_bot.db, clock.now, "zalo").add(message.message_id, message.to_json())
    await zalo_bot.start()
    assert any("/help" in text for text in user.inbox())
    with zalo_bot.db.transaction() as session:
        (row,) = session.exec(select(InboundUpdate).where(InboundUpdate.channel == "zalo"))
    assert row.status == "done"


async def test_a_replayed_answer_is_not_applied_to_the_next_question(
    zalo_bot: ZaloBot, clock: FixedClock
) -> None:
    clock.set(datetime(2023, 5, 16, 9, 0, tzinfo=VN))
    zalo_bot.services.periods.ensure_year(2023)
    user = zalo_bot.user("7302", "Mai")
    zalo_bot.register(user, "huyen-muong-te")
    await user.send("/report")
    first = zalo_bot.current_question(user)
    await user.send("3")
    second = zalo_bot.current_question(user)
    assert second != first
    # The crash came after the answer was stored, before the message was marked done.
    await zalo_bot.stop()
    with zalo_bot.db.transaction() as session:
        rows = session.exec(select(InboundUpdate).where(InboundUpdate.channel == "zalo")).all()
        last = max(rows, key=lambda row: row.id or 0)
        session.execute(
            update(InboundUpdate).where(InboundUpdate.id == last.id).values(status=PENDING)  # type: ignore[arg-type]
        )
    await zalo_bot.start()
    assert zalo_bot.current_question(user) == second  # the replayed "3" answered nothing new
    with zalo_bot.db.transaction() as session:
        keys = [row.question_key for row in session.exec(select(Answer))]
    assert keys == [first]
