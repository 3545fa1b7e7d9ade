"""The pure rules of the reminder plan at their boundaries: which step wins a day, which is due
at the exact instant, which is stale, and naive instants refused by name.

These judge domain/reminder_plan.py in `make mutate`, with tests/calendar/test_reminder_plan.py.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from domain.reminder_plan import (
    ALL_FOCAL_POINTS,
    MISSING_UNITS,
    OFFICE,
    REPORT_REMINDER,
    PlannedReminder,
    _one_per_day,
    _recipients,
    due_steps,
    latest_missed_per_period,
    next_send_at,
    step_urgency,
    steps_to_send,
)

T0 = datetime(2023, 6, 1, 2, 0, tzinfo=UTC)  # 09:00 in Hanoi
NAIVE = T0.replace(tzinfo=None)


def _step(step: str, at: datetime = T0, *, audience: str = MISSING_UNITS) -> PlannedReminder:
    return PlannedReminder(at, "six_month:2023", step, audience, REPORT_REMINDER, at.date())


def test_urgency_orders_every_kind_of_step() -> None:
    order = [
        "am_before_7",
        "am_start",
        "am_mid",
        "open",
        "am_end",
        "before_3",
        "last_day",
        "followup_1",
        "escalation",
        "digest_2",
    ]
    ranks = [step_urgency(step) for step in order]
    assert ranks == sorted(set(ranks)), ranks  # strictly more urgent, one after the other
    assert ranks[0] == 0
    assert step_urgency("something_new") == 0  # an unknown step is the least urgent


def test_focal_points_are_one_set_of_people_and_the_office_another() -> None:
    assert _recipients(OFFICE) == OFFICE
    assert _recipients(MISSING_UNITS) == _recipients(ALL_FOCAL_POINTS) == "units"


def test_one_step_per_day_the_more_urgent_or_else_the_first() -> None:
    open_, last = _step("open"), _step("last_day")
    assert _one_per_day([open_, last]) == [last]
    assert _one_per_day([last, open_]) == [last]
    first, second = _step("before_3"), _step("before_2")  # equally urgent: the first stays
    assert _one_per_day([first, second]) == [first]
    office = _step("escalation", audience=OFFICE)
    assert sorted(_one_per_day([open_, office])) == sorted([open_, office])
    tomorrow = _step("open", T0 + timedelta(days=1))
    assert len(_one_per_day([last, tomorrow])) == 2


def test_due_at_the_exact_instant_and_stale_after_the_max_delay() -> None:
    step = _step("open")
    assert due_steps([step], T0) == [step]
    assert due_steps([step], T0 - timedelta(microseconds=1)) == []
    assert steps_to_send([step], T0, set()) == [step]
    assert steps_to_send([step], T0, {("six_month:2023", "open")}) == []
    week = timedelta(days=7)
    assert steps_to_send([step], T0 + week, set()) == [step]
    assert steps_to_send([step], T0 + week + timedelta(seconds=1), set()) == []
    assert steps_to_send([step], T0 + timedelta(hours=1), set(), max_delay=timedelta(hours=1))
    assert next_send_at([step], T0 - timedelta(seconds=1)) == T0
    assert next_send_at([step], T0) is None


def test_missed_steps_are_those_after_the_last_run_up_to_now() -> None:
    step = _step("open")
    assert latest_missed_per_period([step], T0 - timedelta(hours=1), T0) == [step]
    assert latest_missed_per_period([step], T0, T0 + timedelta(hours=1)) == []  # sent then
    earlier, later = _step("open"), _step("before_3", T0 + timedelta(days=1))
    missed = latest_missed_per_period(
        [later, earlier], T0 - timedelta(days=1), T0 + timedelta(days=2)
    )
    assert missed == [later]


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda: due_steps([], NAIVE), "now"),
        (lambda: steps_to_send([], NAIVE, set()), "now"),
        (lambda: next_send_at([], NAIVE), "now"),
        (lambda: latest_missed_per_period([], NAIVE, T0), "last_run"),
        (lambda: latest_missed_per_period([], T0, NAIVE), "now"),
    ],
)
def test_naive_instants_are_refused_by_name(call: object, name: str) -> None:
    assert callable(call)
    with pytest.raises(ValueError, match=f"^{name} must be an aware datetime$"):
        call()


def test_nominal_day_is_kept() -> None:
    assert _step("open").nominal_on == date(2023, 6, 1)
