"""Every kind of button the bot sends, pressed by its owner and by every other role.

``test_parity_e2e.py`` checks every command × role × channel. Here are the buttons: each is
taken from a real message the bot sent to its rightful owner (a form's answer, back and skip,
the review's send and edit, amend, the announcement's compose steps, "Received" under an
announcement, the reminder of /acks). Every other role presses the same callback data on
their own message (all a forged press can do): each gets a refusal alert, is sent nothing,
and nothing changes in the database. Then the owner presses it and gets its effect, asserted
on what is stored and shown. On Zalo, where a button is a numbered choice, the owner types
its number and the others typing the same number change nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import pytest
from sqlmodel import col, select

from domain.i18n import translator_for
from standin.telegram import FakeTelegram, SentMessage
from storage.broadcast_models import Broadcast, BroadcastDelivery, BroadcastStatus
from storage.models import Answer, FormSession, Report, ReportStatus, ReportVersion
from tests.crossunit import (
    ROLES,
    UNIT_A,
    chat_users,
    deliveries_done,
    enrol,
    report_ids,
    seed_reports,
)
from tests.forms_helpers import DISTRICT_ANSWERS, current_question, fill
from tests.harness import ChatUser
from tests.zalo.conftest import ZaloBot, ZaloUser

VI = translator_for("vi")
REFUSALS = {
    VI("This button is no longer valid."),
    VI("This form is no longer open. Type /report to continue."),
    VI("That button belongs to an earlier question; please use the latest one."),
    VI("Sorry, this command is only for the standing office."),
}
# What typing a number without a menu gets: registered people, then strangers (Zalo).
NOT_UNDERSTOOD = {
    VI("Sorry, I did not understand. Type /help to see what I can do."),
    VI(
        "I can only help registered focal points. Please type the invite code the "
        "standing office sent to your unit, or ask them for one."
    ),
}
TABLES: tuple[Any, ...] = (Answer, FormSession, Report, ReportVersion, Broadcast, BroadcastDelivery)


def stored(bot: ZaloBot) -> list[tuple[str, dict[str, Any]]]:
    """Every row a press could change: answers, forms, reports, announcements, deliveries."""
    with bot.db.transaction() as session:
        return [(t.__name__, row.model_dump()) for t in TABLES for row in session.exec(select(t))]


def changed(before: list[tuple[str, dict[str, Any]]], bot: ZaloBot) -> list[str]:
    """The rows that differ now, each field that changed with its old and new value."""
    after = stored(bot)
    lines = [f"{len(before)} rows, now {len(after)}"] if len(after) != len(before) else []
    for (table, old), (_, new) in zip(before, after, strict=False):
        fields = {k: (old[k], new.get(k)) for k in old if old[k] != new.get(k)}
        if fields:
            lines.append(f"{table} {old.get('id')}: {fields}")
    return lines


@dataclass
class Cast:
    """The five roles on each channel, each with a message of the bot in their chat."""

    bot: ZaloBot
    telegram: dict[str, ChatUser]
    zalo: dict[str, ZaloUser]

    @property
    def fake(self) -> FakeTelegram:
        return self.bot.telegram.telegram

    async def refused(self, allowed: Collection[str], message: SentMessage, label: str) -> str:
        """Every role not ``allowed`` presses the button's data on their own message: an
        alert that refuses, no message, no change. The data, for the owner to press."""
        data = next(d for row in message.buttons for text, d in row if text == label)
        for role in ROLES:
            if role in allowed:
                continue
            user = self.telegram[role]
            before, answered = stored(self.bot), len(self.fake.answered_callbacks)
            own = self.fake.last_message(user.user_id).message_id
            replies = await user.press_data(own, data)
            where = f"{role} pressing {label!r} ({data})"
            assert replies == [], f"{where}: sent {[m.plain_text[:80] for m in replies]}"
            (alert,) = self.fake.answered_callbacks[answered:]
            assert alert.get("text") in REFUSALS and alert.get("show_alert"), (where, alert)
            assert stored(self.bot) == before, f"{where} changed {changed(before, self.bot)}"
        return data

    def assert_clean(self, caplog: pytest.LogCaptureFixture) -> None:
        """No Bad Request, every press answered, nothing logged as an error."""
        assert self.fake.bad_requests == [] and self.bot.zalo.bad_requests == []
        assert self.fake.unanswered_callbacks == []
        assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []

    async def typed_by_none_but(self, owner: str, text: str) -> None:
        """Every other role types the owner's choice on Zalo: not understood, no change."""
        for role in ROLES:
            if role == owner:
                continue
            before = stored(self.bot)
            replies = await self.zalo[role].send(text)
            assert len(replies) == 1 and replies[0] in NOT_UNDERSTOOD, (role, text, replies)
            assert stored(self.bot) == before, (
                f"{role} typing {text!r}: {changed(before, self.bot)}"
            )


@pytest.fixture
async def cast(zalo_bot: ZaloBot) -> Cast:
    """Everyone enrolled; unit A's report typed up to a yes/no question, unit B's sent."""
    enrol(zalo_bot.services)
    seed_reports(zalo_bot.services, a_until="has_female_key_leader")
    telegram, zalo = chat_users(zalo_bot)
    for role in ROLES:  # each has a message of the bot to press forged data on
        await telegram[role].send("/help")
        await zalo[role].send("/help")
    return Cast(zalo_bot, telegram, zalo)


def _position(cast: Cast) -> str | None:
    return current_question(cast.bot.telegram, cast.telegram["focal_a"])


def _report_a(cast: Cast) -> Report:
    with cast.bot.db.transaction() as session:
        report = session.get_one(Report, report_ids(cast.bot.services)[UNIT_A.code])
        session.expunge(report)
        return report


def _answer(cast: Cast, key: str) -> Answer | None:
    with cast.bot.db.transaction() as session:
        return session.exec(select(Answer).where(Answer.question_key == key)).first()


async def test_form_buttons_work_for_their_focal_point_only(
    cast: Cast, caplog: pytest.LogCaptureFixture
) -> None:
    owner = cast.telegram["focal_a"]
    fake = cast.fake

    # An option of a question: the answer is stored, the next question shown.
    question = (await owner.send("/report"))[-1]
    assert question.plain_text.startswith("Câu 10/")
    data = await cast.refused({"focal_a"}, question, "Có")
    shown = await owner.press("Có", question)
    answer = _answer(cast, "has_female_key_leader")
    assert answer is not None and answer.value_json == "true" and data.endswith("o:yes")
    assert _position(cast) == "female_key_leader_titles" and shown[-1].plain_text.startswith(
        "Câu 11/"
    )
    await owner.send("Phó Chủ tịch UBND huyện")

    # Skip: stored as skipped, on to the next question.
    question = fake.last_message(owner.user_id)
    assert _position(cast) == "female_cadres_trained"
    await cast.refused({"focal_a"}, question, VI("Skip »"))
    await owner.press(VI("Skip »"), question)
    skipped = _answer(cast, "female_cadres_trained")
    assert skipped is not None and skipped.skipped and _position(cast) == "comm_sessions"

    # Back: the previous question again.
    question = fake.last_message(owner.user_id)
    await cast.refused({"focal_a"}, question, VI("« Back"))
    shown = await owner.press(VI("« Back"), question)
    assert _position(cast) == "female_cadres_trained" and shown[-1].plain_text.startswith("Câu 12/")

    # The review: edit opens the numbered list; send stores version 1.
    await fill(cast.bot.telegram, owner, DISTRICT_ANSWERS)
    review = fake.last_message(owner.user_id)
    assert _position(cast) == "<review>"
    await cast.refused({"focal_a"}, review, VI("Edit"))
    shown = await owner.press(VI("Edit"), review)
    assert _position(cast) == "<edit_pick>" and "1. " in shown[-1].plain_text
    review = (await owner.press(VI("« Back to review")))[-1]
    await cast.refused({"focal_a"}, review, VI("Send report"))
    shown = await owner.press(VI("Send report"), review)
    assert (
        VI("Thank you! Your report has been sent to the standing office.") in shown[-1].plain_text
    )
    report = _report_a(cast)
    assert report.status == ReportStatus.SUBMITTED and report.version == 1

    # Amend, on the sent report: the review again, the report marked as being amended.
    sent_view = (await owner.send("/report"))[-1]
    await cast.refused({"focal_a"}, sent_view, VI("Amend the report"))
    shown = await owner.press(VI("Amend the report"), sent_view)
    assert _report_a(cast).amending and _position(cast) == "<review>"
    assert shown[-1].buttons[0][0][0] == VI("Send the amended report")
    await owner.send("/cancel")

    # On Zalo the same choices are numbers: only the focal point's own number counts.
    a_zalo = cast.zalo["focal_a"]
    assert "1. " + VI("Send the amended report") in (await a_zalo.send("/report"))[-1]
    await cast.typed_by_none_but("focal_a", "1")
    assert await a_zalo.send("1") == [
        VI(
            "Thank you! The amended report (version {version}) has been sent to the "
            "standing office.",
            version=2,
        )
    ]
    assert _report_a(cast).version == 2
    assert "1. " + VI("Amend the report") in (await a_zalo.send("/report"))[-1]
    await cast.typed_by_none_but("focal_a", "1")
    await a_zalo.send("1")
    assert _report_a(cast).amending
    cast.assert_clean(caplog)


def _draft(cast: Cast) -> Broadcast:
    with cast.bot.db.transaction() as session:
        draft = session.exec(select(Broadcast).order_by(col(Broadcast.id).desc())).first()
        assert draft is not None
        session.expunge(draft)
        return draft


def _deliveries(cast: Cast) -> list[BroadcastDelivery]:
    with cast.bot.db.transaction() as session:
        rows = list(session.exec(select(BroadcastDelivery).order_by(col(BroadcastDelivery.id))))
        for row in rows:
            session.expunge(row)
        return rows


async def test_announcement_buttons_work_for_their_owner_only(
    cast: Cast, caplog: pytest.LogCaptureFixture
) -> None:
    office = cast.telegram["office"]
    fake = cast.fake

    # Compose steps: the "Received" toggle, chosen units, back, chosen units, send.
    await office.send("/broadcast")
    screen = (await office.send("Họp giao ban quý II lúc 8h00 ngày 05/6"))[-1]
    toggle = VI("Remove the “Received” button")
    await cast.refused({"office"}, screen, toggle)
    screen = (await office.press(toggle, screen))[-1]
    assert not _draft(cast).ack_requested
    screen = (await office.press(VI("Add a “Received” button"), screen))[-1]
    assert _draft(cast).ack_requested
    chosen = VI("Chosen units (type their codes)")
    await cast.refused({"office"}, screen, chosen)
    screen = (await office.press(chosen, screen))[-1]
    assert _draft(cast).step == "units"
    await cast.refused({"office"}, screen, VI("Back"))
    screen = (await office.press(VI("Back"), screen))[-1]
    assert _draft(cast).step == "audience"
    await office.press(chosen, screen)
    preview = (await office.send(UNIT_A.code))[-1]
    send = "✅ " + VI("Send to {people}", people=2)
    await cast.refused({"office"}, preview, send)
    await office.press(send, preview)
    assert _draft(cast).status != BroadcastStatus.DRAFT
    await deliveries_done(cast.bot)
    done = VI(
        "Announcement #{id}: delivered to {sent} of {total} focal points.", id=1, sent=2, total=2
    )
    assert any(done in m.plain_text for m in fake.messages_to(office.user_id))

    # "Received" under the announcement: only its recipient's press is counted.
    focal = cast.telegram["focal_a"]
    announcement = next(
        m for m in fake.messages_to(focal.user_id) if "Họp giao ban" in m.plain_text
    )
    received = "✅ " + VI("Received")
    await cast.refused({"focal_a"}, announcement, received)
    answered = len(fake.answered_callbacks)
    await focal.press(received, announcement)
    assert fake.answered_callbacks[answered]["text"] == VI(
        "Thank you! The standing office sees that you received it."
    )
    acknowledged = [d.channel for d in _deliveries(cast) if d.acknowledged_at is not None]
    assert acknowledged == ["telegram"]

    # The reminder of /acks: office staff only; a second press makes no second round.
    acks = (await office.send("/acks 1"))[-1]
    remind = next(text for row in acks.buttons for text, data in row if data.startswith("bc:rem:"))
    await cast.refused({"office", "admin"}, acks, remind)
    await office.press(remind, acks)
    await deliveries_done(cast.bot)
    rounds = [(d.broadcast_id, d.channel, d.status) for d in _deliveries(cast)]
    # One reminder, to the one who has not confirmed (on Zalo).
    assert rounds == [(1, "telegram", "sent"), (1, "zalo", "sent"), (2, "zalo", "sent")]
    # The admin may remind too, but this round went out: the same button is stale now.
    await cast.refused({"stranger", "focal_a", "focal_b", "office"}, acks, remind)

    # On Zalo, "Received" is the number 1 under the announcement, for its recipient only.
    await cast.typed_by_none_but("focal_a", "1")
    thanks = VI("Thank you! The standing office sees that you received it.")
    assert await cast.zalo["focal_a"].send("1") == [thanks]
    assert sum(d.acknowledged_at is not None for d in _deliveries(cast)) == 2

    # Cancel, on a new draft.
    await office.send("/broadcast")
    screen = fake.last_message(office.user_id)
    await cast.refused({"office"}, screen, VI("Cancel"))
    await office.press(VI("Cancel"), screen)
    assert _draft(cast).status == BroadcastStatus.CANCELLED
    cast.assert_clean(caplog)
