"""The reminder planner: the 2023 and 2024 plans day by day, shifting, catch-up, the printout."""

from __future__ import annotations

import time as stopwatch
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.calendar import DEFAULT_CALENDAR, CalendarConfig, Period, load_calendar, parse_calendar
from domain.i18n import translator_for
from domain.reminder_plan import (
    ALL_FOCAL_POINTS,
    DIGEST,
    MISSING_UNITS,
    OFFICE,
    PlannedReminder,
    ReminderPolicy,
    due_steps,
    latest_missed_per_period,
    next_send_at,
    plan_year,
    plan_years,
    render_year,
    steps_to_send,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture(scope="module")
def config() -> CalendarConfig:
    return load_calendar(DEFAULT_CALENDAR)


# Function-scoped, although a plan is the same in every test: mutmut (make mutate) runs only the
# tests in which a function was called, and a module-scoped plan is built in the first test only.
@pytest.fixture
def plan_2023(config: CalendarConfig) -> list[PlannedReminder]:
    return plan_year(config, 2023)


@pytest.fixture
def plan_2024(config: CalendarConfig) -> list[PlannedReminder]:
    return plan_year(config, 2024)


def at8(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, 8, 0, tzinfo=VN)


def steps(plan: list[PlannedReminder], period_key: str) -> dict[str, date]:
    """Step -> day it is sent, digests left out."""
    return {
        reminder.step: reminder.send_at.date()
        for reminder in plan
        if reminder.period_key == period_key and reminder.kind != DIGEST
    }


def only(plan: list[PlannedReminder], period_key: str, step: str) -> PlannedReminder:
    [reminder] = [r for r in plan if r.period_key == period_key and r.step == step]
    return reminder


def adhoc(config: CalendarConfig, key: str, opens_on: date, due_before: date) -> Period:
    return config.adhoc_period(
        key=key,
        form_key="quick",
        title="Báo cáo nhanh",
        opens_on=opens_on,
        due_at=config.deadline.due_at(due_before),
    )


# --- 2023 ----------------------------------------------------------------------------------------


def test_six_month_report_2023(plan_2023: list[PlannedReminder]) -> None:
    assert steps(plan_2023, "six_month:2023") == {
        "open": date(2023, 5, 15),  # Monday
        "before_7": date(2023, 5, 29),  # Monday
        # before_3 (Fri 2/6), before_1 (Sun 4/6 -> Fri 2/6) and last_day (Sun 4/6 -> Fri 2/6)
        # share Friday 2/6: only the most urgent, last_day, is sent.
        "last_day": date(2023, 6, 2),
        "escalation": date(2023, 6, 5),  # Monday: the deadline day is the first late day
        "followup_1": date(2023, 6, 7),
        "followup_2": date(2023, 6, 9),
        "followup_3": date(2023, 6, 13),
        "followup_4": date(2023, 6, 15),
        "followup_5": date(2023, 6, 19),
    }
    last_day = only(plan_2023, "six_month:2023", "last_day")
    assert last_day.nominal_on == date(2023, 6, 4)
    assert (last_day.audience, last_day.kind) == (MISSING_UNITS, "report_reminder")
    escalation = only(plan_2023, "six_month:2023", "escalation")
    assert (escalation.audience, escalation.kind) == (OFFICE, "escalation")


def test_digests_every_working_day_until_the_last_follow_up(
    plan_2023: list[PlannedReminder],
) -> None:
    digests = [r for r in plan_2023 if r.period_key == "six_month:2023" and r.kind == DIGEST]
    assert [r.send_at.date() for r in digests] == [
        date(2023, 6, day) for day in (6, 7, 8, 9, 12, 13, 14, 15, 16, 19)
    ]
    assert digests[0].step == "digest_2023-06-06"
    assert {r.audience for r in digests} == {OFFICE}


def test_domestic_violence_action_month_2023(plan_2023: list[PlannedReminder]) -> None:
    assert steps(plan_2023, "action_month_dv:2023") == {
        "am_before_10": date(2023, 5, 22),
        "am_start": date(2023, 6, 1),
        "am_mid": date(2023, 6, 15),
        "am_end": date(2023, 6, 30),  # the request for the result report: no separate "open"
        "before_7": date(2023, 7, 3),
        "last_day": date(2023, 7, 7),  # before_3 (Fri 7/7) and last_day (Sun 9/7) share Friday
        "escalation": date(2023, 7, 10),
        "followup_1": date(2023, 7, 12),
        "followup_2": date(2023, 7, 14),
        "followup_3": date(2023, 7, 18),
        "followup_4": date(2023, 7, 20),
        "followup_5": date(2023, 7, 24),
    }
    assert only(plan_2023, "action_month_dv:2023", "am_start").audience == ALL_FOCAL_POINTS
    assert only(plan_2023, "action_month_dv:2023", "am_end").audience == MISSING_UNITS


def test_annual_report_2023(plan_2023: list[PlannedReminder]) -> None:
    assert steps(plan_2023, "annual:2023") == {
        "open": date(2023, 11, 15),
        "before_7": date(2023, 11, 28),
        "before_3": date(2023, 12, 1),  # nominal Saturday 2/12
        "last_day": date(2023, 12, 4),  # Monday; before_1 is the same day
        "escalation": date(2023, 12, 5),
        "followup_1": date(2023, 12, 7),
        "followup_2": date(2023, 12, 11),
        "followup_3": date(2023, 12, 13),
        "followup_4": date(2023, 12, 15),
        "followup_5": date(2023, 12, 19),
    }
    assert only(plan_2023, "annual:2023", "before_3").nominal_on == date(2023, 12, 2)


def test_gender_equality_action_month_2023(plan_2023: list[PlannedReminder]) -> None:
    assert steps(plan_2023, "action_month_ge:2023") == {
        "am_before_10": date(2023, 11, 3),  # nominal Sunday 5/11
        "am_start": date(2023, 11, 15),  # Wednesday
        "am_mid": date(2023, 11, 30),
        # am_end (Fri 15/12) and before_3 (Sun 17/12 -> Fri 15/12) share the day: before_3 is
        # later. before_7 (13/12) would come before the result report opens, so there is none.
        "before_3": date(2023, 12, 15),
        "last_day": date(2023, 12, 19),
        "escalation": date(2023, 12, 20),
        "followup_1": date(2023, 12, 22),
        "followup_2": date(2023, 12, 26),
        "followup_3": date(2023, 12, 28),
        "followup_4": date(2024, 1, 2),  # 1/1/2024 is a holiday
        "followup_5": date(2024, 1, 4),
    }
    assert only(plan_2023, "action_month_ge:2023", "am_before_10").nominal_on == date(2023, 11, 5)


def test_every_reminder_goes_out_at_8_on_a_working_day(
    config: CalendarConfig, plan_2023: list[PlannedReminder], plan_2024: list[PlannedReminder]
) -> None:
    for reminder in plan_2023 + plan_2024:
        assert reminder.send_at.utcoffset() == timedelta(hours=7)
        assert reminder.send_at.astimezone(UTC).time().hour == 1
        assert reminder.send_at.time().isoformat() == "08:00:00"
        assert config.working.is_working_day(reminder.send_at.date()), reminder
    assert plan_2023 == sorted(plan_2023)
    assert plan_2023[0].send_at == at8(2023, 5, 15)


@pytest.mark.parametrize("year", range(2020, 2036))
def test_plans_are_well_formed_every_year(config: CalendarConfig, year: int) -> None:
    plan = plan_year(config, year)
    keys = [(r.period_key, r.step) for r in plan]
    assert len(keys) == len(set(keys))
    slots = [
        (r.period_key, r.audience == OFFICE, r.send_at.date()) for r in plan if r.kind != DIGEST
    ]
    assert len(slots) == len(set(slots))
    for reminder in plan:
        assert config.working.is_working_day(reminder.send_at.date())
        if reminder.step != "open":
            assert reminder.send_at.date() <= reminder.nominal_on or reminder.audience == OFFICE


# --- 2024 ----------------------------------------------------------------------------------------


def test_six_month_report_2024(plan_2024: list[PlannedReminder]) -> None:
    assert steps(plan_2024, "six_month:2024") == {
        "open": date(2024, 5, 15),
        "before_7": date(2024, 5, 29),
        "before_3": date(2024, 5, 31),  # nominal Sunday 2/6
        "last_day": date(2024, 6, 4),  # Tuesday; before_1 is the same day
        "escalation": date(2024, 6, 5),
        "followup_1": date(2024, 6, 7),
        "followup_2": date(2024, 6, 11),
        "followup_3": date(2024, 6, 13),
        "followup_4": date(2024, 6, 17),
        "followup_5": date(2024, 6, 19),
    }


def test_action_months_2024_move_off_weekends(plan_2024: list[PlannedReminder]) -> None:
    assert steps(plan_2024, "action_month_dv:2024") == {
        "am_before_10": date(2024, 5, 22),
        "am_start": date(2024, 5, 31),  # Saturday 1/6 -> Friday
        "am_mid": date(2024, 6, 14),  # Saturday 15/6 -> Friday
        "am_end": date(2024, 6, 28),  # Sunday 30/6 -> Friday
        "before_7": date(2024, 7, 3),
        "before_3": date(2024, 7, 5),
        "last_day": date(2024, 7, 9),
        "escalation": date(2024, 7, 10),
        "followup_1": date(2024, 7, 12),
        "followup_2": date(2024, 7, 16),
        "followup_3": date(2024, 7, 18),
        "followup_4": date(2024, 7, 22),
        "followup_5": date(2024, 7, 24),
    }
    ge = steps(plan_2024, "action_month_ge:2024")
    assert ge["am_before_10"] == date(2024, 11, 5)
    assert ge["am_start"] == date(2024, 11, 15)
    assert ge["am_mid"] == date(2024, 11, 29)
    assert ge["am_end"] == date(2024, 12, 13)
    assert "before_7" not in ge  # 13/12 is before the result report opens (Mon 16/12)
    assert ge["before_3"] == date(2024, 12, 17)
    assert ge["followup_4"] == date(2025, 1, 2)


def test_annual_report_2024(plan_2024: list[PlannedReminder]) -> None:
    annual = steps(plan_2024, "annual:2024")
    assert annual["open"] == date(2024, 11, 15)
    assert annual["before_7"] == date(2024, 11, 28)
    assert annual["before_3"] == date(2024, 12, 2)
    assert annual["last_day"] == date(2024, 12, 4)
    assert annual["escalation"] == date(2024, 12, 5)


def test_a_deadline_after_tet_2024_is_reminded_before_the_break(config: CalendarConfig) -> None:
    request = adhoc(config, "adhoc:tet", date(2024, 2, 1), due_before=date(2024, 2, 15))
    plan = plan_year(config, 2024, extra_periods=[request])
    # before_7 (8/2), before_3 (12/2), before_1 and last_day (14/2) all fall in Tết (8-14/2):
    # they move to Wednesday 7/2, where only last_day is kept.
    assert steps(plan, "adhoc:tet") == {
        "open": date(2024, 2, 1),
        "last_day": date(2024, 2, 7),
        "escalation": date(2024, 2, 15),
        "followup_1": date(2024, 2, 19),
        "followup_2": date(2024, 2, 21),
        "followup_3": date(2024, 2, 23),
        "followup_4": date(2024, 2, 27),
        "followup_5": date(2024, 2, 29),
    }
    assert only(plan, "adhoc:tet", "last_day").nominal_on == date(2024, 2, 14)


def test_a_deadline_after_30_april_2024(config: CalendarConfig) -> None:
    request = adhoc(config, "adhoc:may", date(2024, 4, 15), due_before=date(2024, 5, 2))
    plan = plan_year(config, 2024, extra_periods=[request])
    # 29/4 (substitute day), 30/4 and 1/5 are off: before_3, before_1 and last_day go on Fri 26/4.
    assert steps(plan, "adhoc:may") == {
        "open": date(2024, 4, 15),
        "before_7": date(2024, 4, 25),
        "last_day": date(2024, 4, 26),
        "escalation": date(2024, 5, 2),
        "followup_1": date(2024, 5, 6),
        "followup_2": date(2024, 5, 8),
        "followup_3": date(2024, 5, 10),
        "followup_4": date(2024, 5, 14),
        "followup_5": date(2024, 5, 16),
    }


def test_a_deadline_on_national_day_2024(config: CalendarConfig) -> None:
    # Due "before 3/9": the last day (2/9) is a holiday, and so is 3/9, the first late day.
    request = adhoc(config, "adhoc:sep", date(2024, 8, 19), due_before=date(2024, 9, 3))
    plan = plan_year(config, 2024, extra_periods=[request])
    assert steps(plan, "adhoc:sep") == {
        "open": date(2024, 8, 19),
        "before_7": date(2024, 8, 27),
        "last_day": date(2024, 8, 30),  # Mon 2/9 -> Sun -> Sat -> Friday 30/8
        "escalation": date(2024, 9, 4),  # Tue 3/9 is off too
        "followup_1": date(2024, 9, 6),
        "followup_2": date(2024, 9, 10),
        "followup_3": date(2024, 9, 12),
        "followup_4": date(2024, 9, 16),
        "followup_5": date(2024, 9, 18),
    }


def test_the_opening_moves_forward_not_back(config: CalendarConfig) -> None:
    # Opening on Saturday 31/8/2024: the form cannot be filled in before it opens, so the
    # announcement waits for the next working day, Wednesday 4/9 (after National Day).
    request = adhoc(config, "adhoc:open", date(2024, 8, 31), due_before=date(2024, 9, 20))
    plan = plan_year(config, 2024, extra_periods=[request])
    opening = only(plan, "adhoc:open", "open")
    assert (opening.send_at, opening.nominal_on) == (at8(2024, 9, 4), date(2024, 8, 31))
    assert steps(plan, "adhoc:open")["before_7"] == date(2024, 9, 13)


def test_a_short_request_has_no_early_reminders(config: CalendarConfig) -> None:
    request = adhoc(config, "adhoc:short", date(2023, 9, 6), due_before=date(2023, 9, 8))
    plan = plan_year(config, 2023, extra_periods=[request])
    assert steps(plan, "adhoc:short") == {
        "open": date(2023, 9, 6),
        "last_day": date(2023, 9, 7),  # before_1 is the same day; before_3 and 7 are too early
        "escalation": date(2023, 9, 8),
        "followup_1": date(2023, 9, 12),
        "followup_2": date(2023, 9, 14),
        "followup_3": date(2023, 9, 18),
        "followup_4": date(2023, 9, 20),
        "followup_5": date(2023, 9, 22),
    }


def test_ad_hoc_periods_of_another_year_are_left_out(config: CalendarConfig) -> None:
    request = adhoc(config, "adhoc:2024", date(2024, 3, 1), due_before=date(2024, 3, 15))
    assert plan_year(config, 2023, extra_periods=[request]) == plan_year(config, 2023)
    both = plan_years(config, [2023, 2024], extra_periods=[request])
    assert {r.period_key for r in both} >= {"six_month:2023", "six_month:2024", "adhoc:2024"}
    assert both == sorted(both)


# --- Policy from the YAML ------------------------------------------------------------------------

POLICY_YAML = """\
deadline:
  cutoff: end_of_day
working_days:
  extra_days_off: [2023-06-01]
  extra_working_days: [2023-06-03]
periods:
  - key: six_month
    label_vi: "6 tháng đầu năm {year}"
    opens: "05-15"
    due_before: "06-05"
reminders:
  send_time: "09:30"
  reports:
    on_open: false
    days_before: [3]
    followup_every_working_days: 1
    followup_max: 2
  escalation:
    digest_days: 3
"""


def test_the_policy_comes_from_the_yaml() -> None:
    config = parse_calendar(POLICY_YAML)
    assert config.policy == ReminderPolicy(
        send_time=config.policy.send_time,
        report_on_open=False,
        report_days_before=(3,),
        followup_every=1,
        followup_max=2,
        digest_days=3,
    )
    assert config.policy.send_time.isoformat() == "09:30:00"
    plan = plan_year(config, 2023)
    assert {r.send_at.time().isoformat() for r in plan} == {"09:30:00"}
    # end_of_day: on time until the end of Monday 5/6, late from 6/6. The make-up Saturday 3/6
    # is a working day, so before_3 (Fri 2/6) stays where it is and nothing moves to Thu 1/6.
    assert steps(plan, "six_month:2023") == {
        "before_3": date(2023, 6, 2),
        "last_day": date(2023, 6, 5),
        "escalation": date(2023, 6, 6),
        "followup_1": date(2023, 6, 7),
        "followup_2": date(2023, 6, 8),
    }
    digests = [r.send_at.date() for r in plan if r.kind == DIGEST]
    assert digests == [date(2023, 6, 7), date(2023, 6, 8), date(2023, 6, 9)]


def test_extra_day_off_moves_reminders_back() -> None:
    config = parse_calendar(POLICY_YAML.replace("[2023-06-01]", "[2023-06-02]"))
    assert steps(plan_year(config, 2023), "six_month:2023")["before_3"] == date(2023, 6, 1)


# --- Catch-up ------------------------------------------------------------------------------------


def sent_until(plan: list[PlannedReminder], instant: datetime) -> set[tuple[str, str]]:
    return {(r.period_key, r.step) for r in plan if r.send_at <= instant}


def test_after_three_days_down_only_the_latest_step_per_period_is_sent(
    plan_2023: list[PlannedReminder],
) -> None:
    # The bot ran until Thursday 1/6 evening, then was down Friday to Sunday; Monday 5/6 9:00:
    already = sent_until(plan_2023, datetime(2023, 6, 1, 20, 0, tzinfo=VN))
    now = datetime(2023, 6, 5, 9, 0, tzinfo=VN)
    to_send = steps_to_send(plan_2023, now, already)
    assert [(r.period_key, r.step, r.audience) for r in to_send] == [
        ("six_month:2023", "last_day", MISSING_UNITS),
        ("six_month:2023", "escalation", OFFICE),
    ]
    # Down from Wednesday 31/5: am_start of the action month is missed too, last_day supersedes
    # before_7 (never sent) and each period/audience gets one step.
    already = sent_until(plan_2023, datetime(2023, 5, 28, 20, 0, tzinfo=VN))
    to_send = steps_to_send(plan_2023, datetime(2023, 6, 2, 9, 0, tzinfo=VN), already)
    assert [(r.period_key, r.step) for r in to_send] == [
        ("action_month_dv:2023", "am_start"),
        ("six_month:2023", "last_day"),
    ]
    late = latest_missed_per_period(
        plan_2023, datetime(2023, 5, 28, 20, 0, tzinfo=VN), datetime(2023, 6, 2, 9, 0, tzinfo=VN)
    )
    assert late == to_send


def test_nothing_is_sent_twice_and_superseded_steps_stay_unsent(
    plan_2023: list[PlannedReminder],
) -> None:
    now = datetime(2023, 6, 2, 9, 0, tzinfo=VN)
    already = {("six_month:2023", "last_day"), ("action_month_dv:2023", "am_start")}
    # before_7 was never sent, but last_day (later) was: before_7 is not sent now.
    assert steps_to_send(plan_2023, now, already) == []
    # At 7:59 the day's step is not due yet.
    early = datetime(2023, 6, 2, 7, 59, tzinfo=VN)
    assert [r.step for r in steps_to_send(plan_2023, early, {("six_month:2023", "before_7")})] == [
        "am_start"
    ]


def test_stale_steps_are_not_sent_after_a_long_outage(plan_2023: list[PlannedReminder]) -> None:
    # A bot started on 1 November must not remind anyone of the June report.
    assert steps_to_send(plan_2023, datetime(2023, 11, 1, 9, 0, tzinfo=VN), set()) == []
    to_send = steps_to_send(plan_2023, datetime(2023, 11, 3, 9, 0, tzinfo=VN), set())
    assert [(r.period_key, r.step) for r in to_send] == [("action_month_ge:2023", "am_before_10")]
    longer = steps_to_send(
        plan_2023, datetime(2023, 7, 1, 9, 0, tzinfo=VN), set(), max_delay=timedelta(days=30)
    )
    assert ("six_month:2023", "followup_5") in {(r.period_key, r.step) for r in longer}


def test_due_steps_and_the_next_one(plan_2023: list[PlannedReminder]) -> None:
    now = datetime(2023, 5, 22, 8, 0, tzinfo=VN)
    assert [r.step for r in due_steps(plan_2023, now)] == ["open", "am_before_10"]
    assert next_send_at(plan_2023, now) == at8(2023, 5, 29)
    assert next_send_at(plan_2023, datetime(2024, 2, 1, tzinfo=VN)) is None
    with pytest.raises(ValueError, match="aware"):
        due_steps(plan_2023, datetime(2023, 5, 22, 8, 0))  # noqa: DTZ001 (the point of the test)


def test_planning_does_not_depend_on_the_number_of_units(config: CalendarConfig) -> None:
    units = [f"unit-{number}" for number in range(10_000)]
    requests = [
        config.adhoc_period(
            key=f"adhoc:{number}",
            form_key="quick",
            title="Báo cáo nhanh",
            opens_on=date(2023, 1, 2) + timedelta(days=number),
            due_at=config.deadline.due_at(date(2023, 1, 20) + timedelta(days=number)),
            audience=units,
        )
        for number in range(300)
    ]
    started = stopwatch.perf_counter()
    plan = plan_year(config, 2023, extra_periods=requests)
    elapsed = stopwatch.perf_counter() - started
    assert len({r.period_key for r in plan}) == 304  # 300 requests and the 4 yearly periods
    assert elapsed < 2.0


# --- The printout --------------------------------------------------------------------------------


def test_printout_2023_in_vietnamese(config: CalendarConfig) -> None:
    text = render_year(config, 2023, translator_for("vi"))
    assert "05/6/2023" in text
    assert "05/12/2023" in text
    assert "Tháng hành động quốc gia về phòng, chống bạo lực gia đình" in text
    assert "Tháng hành động vì bình đẳng giới" in text
    assert "6 tháng đầu năm 2023" in text
    assert "08:00 thứ Sáu, 03/11/2023" in text  # am_before_10 of the GE month
    assert "(am_before_10)" in text
    assert "Quốc khánh" in text  # the days off, named by the holidays package
    assert "<" not in text  # plain text, no HTML
    # One line per reminder (a run of digests is one line), in date order.
    plan = plan_year(config, 2023)
    reminder_lines = [line for line in text.splitlines() if line.startswith("- 08:00")]
    digest_runs = {r.period_key for r in plan if r.kind == DIGEST}
    assert len(reminder_lines) == len([r for r in plan if r.kind != DIGEST]) + len(digest_runs)


def test_printout_in_english(config: CalendarConfig) -> None:
    text = render_year(config, 2023, translator_for("en"))
    assert "first half of 2023" in text
    assert "5 Jun 2023" in text
    assert "Monday, 15 May 2023" in text
    assert "Action Month for Gender Equality" in text
