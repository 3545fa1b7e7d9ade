"""Nothing of unit B ever reaches unit A's focal point: checked on what was sent, not on refusals.

Units A and B both have reports with distinctive markers (``tests.crossunit``): B's is sent, A's
waits at the review. B's focal points open their report on both channels, amend it and open
its edit menu, so B's real buttons (and B's numbered choices on Zalo) exist. A's focal points
then go through /help, /whoami, /calendar, /report, the review, the edit menu, a question,
/cancel, sending, the sent report, amending — and after every step press each of B's buttons
on their own message (on Zalo: type each of B's choices). Every text, button label and alert
sent to A is searched for B's marker text, number, unit code, unit name and people's names.
The search is shown to work: the same markers are found in what B (and A, for A's) was sent.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable

import pytest
from sqlmodel import select

from domain.i18n import translator_for
from storage.models import Answer
from tests.crossunit import (
    UNIT_A,
    UNIT_B,
    chat_users,
    enrol,
    foreign_writes,
    leaks,
    report_ids,
    seed_reports,
    unit_id,
    zalo_choices,
)
from tests.zalo.conftest import ZaloBot

VI = translator_for("vi")
SEND, EDIT, AMEND = VI("Send report"), VI("Edit"), VI("Amend the report")
BACK_TO_REVIEW = VI("« Back to review")


def _b_answers(bot: ZaloBot) -> dict[str, object]:
    """Unit B's stored answers."""
    report = report_ids(bot.services)[UNIT_B.code]
    with bot.db.transaction() as session:
        rows = session.exec(select(Answer).where(Answer.report_id == report)).all()
        return {row.question_key: json.loads(row.value_json) for row in rows}


async def test_nothing_of_unit_b_reaches_unit_a_on_either_channel(
    zalo_bot: ZaloBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    services = zalo_bot.services
    fake = zalo_bot.telegram.telegram
    enrol(services)
    seed_reports(services, a_until="<review>")
    telegram, zalo = chat_users(zalo_bot, ("focal_a", "focal_b"))
    (a_tg, b_tg), (a_zalo, b_zalo) = telegram.values(), zalo.values()

    # B's real buttons: its sent report (amend), its review, edit menu and a question. B goes
    # back and forth first: a form button names only its step, and at a step number A's form
    # is on too it would be A's own button (the fuzzer has those collisions; this walk not).
    await b_tg.send("/report")
    await b_tg.press(AMEND)
    for _ in range(6):
        await b_tg.press(EDIT)
        await b_tg.press(BACK_TO_REVIEW)
    mark = len(fake.messages_to(b_tg.user_id))
    await b_tg.press(EDIT)
    await b_tg.press("2")
    b_buttons = _few_of_each(
        data
        for m in [fake.messages_to(b_tg.user_id)[0], *fake.messages_to(b_tg.user_id)[mark - 1 :]]
        for row in m.buttons
        for _, data in row
    )
    period = services.periods.by_key("six_month:2023")
    assert period is not None
    b_buttons.append(f"0|p:{period.id}:{unit_id(services, UNIT_B.code)}")  # open B's report
    assert f"-{report_ids(services)[UNIT_B.code]}|amend" in b_buttons
    # ... and B's numbered choices on Zalo (B's Zalo form: amend, review, edit menu).
    for typed in ("/report", "1", "2"):
        await b_zalo.send(typed)
    await b_zalo.send("hủy")
    b_choices = _few_of_each(c for text in b_zalo.inbox() for c in zalo_choices(text))
    await b_tg.send("/cancel")
    before = _b_answers(zalo_bot)

    # What B was sent shows B's markers: the search below can see them.
    b_seen = " ".join(m.plain_text for m in fake.messages_to(b_tg.user_id))
    assert UNIT_B.marker in b_seen and f"{UNIT_B.number:,}".replace(",", ".") in b_seen
    assert UNIT_B.marker in " ".join(b_zalo.inbox())

    first_alert = len(fake.answered_callbacks)

    async def forge_on_telegram() -> None:
        own = fake.last_message(a_tg.user_id).message_id
        for data in b_buttons:
            await a_tg.press_data(own, data)

    async def press_latest(label: str) -> None:
        """Press ``label`` on the latest message with it; a forged press may have moved A's
        form on (a step number of B's can be A's too), so /report first if none has it."""
        for _ in range(2):
            try:
                update_id = fake.click(a_tg.user_id, label)
            except LookupError:
                await a_tg.send("/report")
                continue
            await zalo_bot.telegram.replies_to(a_tg.user_id, update_id)
            return

    async def forge_on_zalo() -> None:
        for choice in b_choices:
            await a_zalo.send(choice)

    # A on Telegram: each step, then every one of B's buttons pressed on A's own message.
    for step in (
        "/help",
        "/whoami",
        "/calendar",
        "/report",  # back to the review, with A's answers
        ("press", EDIT),
        ("press", "2"),  # a question, with A's current answer (A's marker)
        "/cancel",  # no form open: B's "amend" would open B's report if it were allowed
        "/report",
        ("press", SEND),
        "/report",  # A's sent report, with its own amend button
        ("press", AMEND),
        "/cancel",
    ):
        if isinstance(step, tuple):
            await press_latest(step[1])
        else:
            await a_tg.send(step)
        await forge_on_telegram()
    # A on Zalo: the same walk, typed, and each of B's choices typed after every step.
    for typed in ("/help", "/whoami", "/calendar", "/report", "2", "2", "hủy", "/report", "1"):
        await a_zalo.send(typed)  # review (amending), edit menu, question 2, sent, sent view
        await forge_on_zalo()
    for typed in ("/report", "1", "/cancel"):  # A's sent report, amended again, left
        await a_zalo.send(typed)
        await forge_on_zalo()

    sent_to_a = [
        " ".join([m.plain_text, *(label for row in m.buttons for label, _ in row)])
        for m in fake.messages_to(a_tg.user_id)
    ]
    sent_to_a += [
        str(answered.get("text") or "") for answered in fake.answered_callbacks[first_alert:]
    ]
    sent_to_a += a_zalo.inbox()
    found = [(leaks(text, "focal_a"), text[:300]) for text in sent_to_a if leaks(text, "focal_a")]
    assert found == []
    # A was shown its own report (the same search finds A's markers there) on both channels.
    assert any(UNIT_A.marker in m.plain_text for m in fake.messages_to(a_tg.user_id))
    assert any(UNIT_A.marker in text for text in a_zalo.inbox())
    # B's answers are as they were; nobody wrote into a unit not theirs.
    assert _b_answers(zalo_bot) == before
    assert foreign_writes(services) == []
    assert fake.bad_requests == [] and zalo_bot.zalo.bad_requests == []
    assert fake.unanswered_callbacks == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


def _few_of_each(codes: Iterable[str]) -> list[str]:
    """Each distinct button once, and of a long numbered menu only its first two numbers."""
    kept: list[str] = []
    for code in dict.fromkeys(codes):
        number = code.rpartition(":")[2] if "|e:" in code else code
        if not number.isdigit() or int(number) <= 2:
            kept.append(code)
    return kept
