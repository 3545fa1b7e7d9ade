"""Forged presses and the office's form: deny by default, no cross-unit access.

Every command × role × channel is checked, with the success facts of each allowed role, by
``tests/zalo/test_parity_e2e.py``; every kind of button × role, with its effect for the owner
and no change for the others, by ``tests/zalo/test_button_matrix_e2e.py``.
"""

from __future__ import annotations

import json

from sqlmodel import select

from storage.models import Answer, FormSession, Report, ReportPeriod, Role, Unit
from tests.conftest import ADMIN_ID
from tests.forms_helpers import DISTRICT_ANSWERS, fill, register
from tests.harness import BotHarness, ChatUser

OFFICE_ID = 2


async def _people(harness: BotHarness) -> dict[str, ChatUser]:
    harness.services.periods.ensure_year(2023)
    harness.services.accounts.grant_role("telegram", str(OFFICE_ID), Role.OFFICE, actor="test")
    people = {
        "stranger": harness.user(3001, "Người lạ"),
        "focal_a": harness.user(1001, "Đầu mối A"),
        "focal_b": harness.user(1002, "Đầu mối B"),
        "office": harness.user(OFFICE_ID, "Văn phòng"),
        "admin": harness.user(ADMIN_ID, "Quản trị"),
    }
    register(harness, people["focal_a"], "huyen-muong-te")
    register(harness, people["focal_b"], "so-y-te")
    return people


async def test_forged_buttons_never_reach_another_units_report(harness: BotHarness) -> None:
    people = await _people(harness)
    a, b = people["focal_a"], people["focal_b"]
    await b.send("/report")
    await b.send("5")
    with harness.db.transaction() as session:
        period = session.exec(
            select(ReportPeriod).where(ReportPeriod.key == "six_month:2023")
        ).one()
        unit_b = session.exec(select(Unit).where(Unit.code == "so-y-te")).one()
        report_b = session.exec(select(Report).where(Report.unit_id == unit_b.id)).one()
        b_step = session.exec(select(FormSession).where(FormSession.chat_id == "1002")).one().step
    before = _answers(harness)
    await a.send("/help")
    own = harness.telegram.last_message(a.user_id)
    forged = [
        f"0|p:{period.id}:{unit_b.id}",  # open B's report
        f"-{report_b.id}|amend",  # amend B's report
        f"{b_step}|o:yes",  # answer with B's current step
        f"{b_step}|submit",
        f"{b_step}|e:1",
        "0|p:999:999",
    ]
    for data in forged:
        await a.press_data(own.message_id, data)
    assert _answers(harness) == before
    with harness.db.transaction() as session:
        sessions = session.exec(select(FormSession)).all()
        assert [(s.chat_id, s.report_id) for s in sessions] == [("1002", report_b.id)]
    # A stranger's presses do nothing either, and A's own form still works.
    stranger = people["stranger"]
    await stranger.send("/help")
    await stranger.press_data(
        harness.telegram.last_message(stranger.user_id).message_id, f"0|p:{period.id}:{unit_b.id}"
    )
    assert _answers(harness) == before
    await a.send("/report")
    await fill(harness, a, DISTRICT_ANSWERS)
    assert harness.telegram.bad_requests == []


async def test_office_cannot_fill_a_units_report_and_focal_points_see_only_their_unit(
    harness: BotHarness,
) -> None:
    people = await _people(harness)
    replies = await people["office"].send("/report")
    assert "Chỉ đầu mối đã đăng ký" in replies[0].plain_text
    whoami = (await people["focal_a"].send("/whoami"))[0].plain_text
    assert "huyen-muong-te" in whoami
    assert "so-y-te" not in whoami


def _answers(harness: BotHarness) -> dict[tuple[int, str], object]:
    with harness.db.transaction() as session:
        return {
            (a.report_id, a.question_key): json.loads(a.value_json)
            for a in session.exec(select(Answer))
        }
