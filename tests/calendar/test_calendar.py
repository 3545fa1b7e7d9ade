"""The yearly calendar: periods and deadlines from calendar.yaml, working days, loading errors."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from domain.calendar import (
    DEFAULT_CALENDAR,
    CalendarConfig,
    CalendarError,
    DeadlineRule,
    WorkingCalendar,
    add_working_days,
    is_working_day,
    load_calendar,
    merge_periods,
    next_working_day,
    parse_calendar,
    previous_working_day,
)

VN = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture(scope="module")
def config() -> CalendarConfig:
    return load_calendar(DEFAULT_CALENDAR)


# --- Deadlines -----------------------------------------------------------------------------------


def test_six_month_report_2023_is_due_before_5_june(config: CalendarConfig) -> None:
    six_month = next(p for p in config.periods(2023) if p.form_key == "six_month")
    assert six_month.key == "six_month:2023"
    assert (six_month.label_vi, six_month.label_en) == (
        "6 tháng đầu năm 2023",
        "first half of 2023",
    )
    assert six_month.opens_on == date(2023, 5, 15)
    # "trước ngày 5/6": late from 5 June 00:00 in Vietnam, i.e. on time until the end of 4 June.
    assert six_month.due_at == datetime(2023, 6, 5, tzinfo=VN)
    assert six_month.due_at == datetime(2023, 6, 4, 17, 0, tzinfo=UTC)
    assert six_month.due_display == date(2023, 6, 5)
    assert six_month.due_display.weekday() == 0  # Monday
    assert config.deadline.last_day(six_month.due_at) == date(2023, 6, 4)
    assert six_month.audience is None


def test_periods_of_2023_in_deadline_order(config: CalendarConfig) -> None:
    periods = config.periods(2023)
    assert [(p.key, p.opens_on, p.due_display) for p in periods] == [
        ("six_month:2023", date(2023, 5, 15), date(2023, 6, 5)),
        ("action_month_dv:2023", date(2023, 6, 30), date(2023, 7, 10)),
        ("annual:2023", date(2023, 11, 15), date(2023, 12, 5)),
        ("action_month_ge:2023", date(2023, 12, 15), date(2023, 12, 20)),
    ]
    annual = periods[2]
    assert annual.label_vi == "năm 2023"
    assert annual.due_at == datetime(2023, 12, 5, tzinfo=VN)


def test_action_months_of_2023(config: CalendarConfig) -> None:
    dv, ge = config.action_months(2023)
    assert (dv.key, dv.starts_on, dv.ends_on, dv.middle) == (
        "action_month_dv:2023",
        date(2023, 6, 1),
        date(2023, 6, 30),
        date(2023, 6, 15),
    )
    assert dv.result_period_key == "action_month_dv:2023"
    assert dv.name_vi == "Tháng hành động quốc gia về phòng, chống bạo lực gia đình"
    assert (ge.starts_on, ge.ends_on, ge.middle) == (
        date(2023, 11, 15),
        date(2023, 12, 15),
        date(2023, 11, 30),
    )
    assert ge.starts_on.weekday() == 2  # Wednesday
    assert ge.name("en").startswith("Action Month for Gender Equality")
    assert ge.name("vi").startswith("Tháng hành động vì bình đẳng giới")


def test_lenient_cutoff_accepts_the_whole_named_day() -> None:
    rule = DeadlineRule("end_of_day", VN)
    due_at = rule.due_at(date(2023, 6, 5))
    assert due_at == datetime(2023, 6, 6, tzinfo=VN)
    assert rule.display_date(due_at) == date(2023, 6, 5)
    assert rule.last_day(due_at) == date(2023, 6, 5)


def test_display_date_of_an_instant_inside_a_day() -> None:
    rule = DeadlineRule()
    due_at = datetime(2023, 9, 12, 17, 0, tzinfo=VN)
    assert rule.last_day(due_at) == date(2023, 9, 12)
    assert rule.display_date(due_at) == date(2023, 9, 13)


# --- Ad-hoc periods ------------------------------------------------------------------------------


def test_adhoc_periods_join_their_year(config: CalendarConfig) -> None:
    quick = config.adhoc_period(
        key="adhoc:17",
        form_key="quick",
        title="Báo cáo nhanh",
        opens_on=date(2023, 7, 3),
        due_at=config.deadline.due_at(date(2023, 7, 15)),
        audience=["so-y-te", "so-tu-phap"],
    )
    assert quick.year == 2023
    assert quick.audience == frozenset({"so-y-te", "so-tu-phap"})
    assert quick.due_display == date(2023, 7, 15)
    assert quick.label("vi") == quick.label("en") == "Báo cáo nhanh"
    keys = [p.key for p in config.periods(2023, extra=[quick])]
    assert keys == [
        "six_month:2023",
        "action_month_dv:2023",
        "adhoc:17",
        "annual:2023",
        "action_month_ge:2023",
    ]
    assert "adhoc:17" not in [p.key for p in config.periods(2024, extra=[quick])]


def test_an_extra_period_with_a_calendar_key_replaces_it(config: CalendarConfig) -> None:
    moved = config.adhoc_period(
        key="six_month:2024",
        form_key="six_month",
        title="6 tháng đầu năm 2024",
        opens_on=date(2024, 5, 20),
        due_at=config.deadline.due_at(date(2024, 6, 10)),
    )
    six_month = [p for p in config.periods(2024, extra=[moved]) if p.form_key == "six_month"]
    assert six_month == [moved]
    assert merge_periods([], [moved]) == [moved]


def test_adhoc_period_needs_an_aware_deadline(config: CalendarConfig) -> None:
    with pytest.raises(ValueError, match="aware"):
        config.adhoc_period(
            key="adhoc:1",
            form_key="quick",
            title="x",
            opens_on=date(2023, 7, 3),
            due_at=datetime(2023, 7, 15),  # noqa: DTZ001 (the point of the test)
        )


# --- Working days --------------------------------------------------------------------------------


def test_weekends_are_not_working_days() -> None:
    assert is_working_day(date(2023, 6, 2))  # Friday
    assert not is_working_day(date(2023, 6, 3))  # Saturday
    assert not is_working_day(date(2023, 6, 4))  # Sunday
    assert previous_working_day(date(2023, 6, 4)) == date(2023, 6, 2)
    assert previous_working_day(date(2023, 6, 2)) == date(2023, 6, 2)
    assert next_working_day(date(2023, 6, 3)) == date(2023, 6, 5)


def test_tet_2024_is_off_from_8_to_14_february() -> None:
    # The holidays package gives the civil servants' Tết break of 2024: Thu 8/2 - Wed 14/2.
    for day in range(8, 15):
        assert not is_working_day(date(2024, 2, day)), day
    assert is_working_day(date(2024, 2, 7))
    assert is_working_day(date(2024, 2, 15))
    assert previous_working_day(date(2024, 2, 12)) == date(2024, 2, 7)


def test_april_and_may_2024_with_the_substitute_day() -> None:
    # 29/4/2024 is a day off in the package (swapped with Saturday 4/5, which it does not mark).
    assert not is_working_day(date(2024, 4, 29))
    assert not is_working_day(date(2024, 4, 30))
    assert not is_working_day(date(2024, 5, 1))
    assert is_working_day(date(2024, 5, 2))
    assert not is_working_day(date(2024, 5, 4))
    assert previous_working_day(date(2024, 5, 1)) == date(2024, 4, 26)


def test_national_day_2024_is_two_days() -> None:
    assert not is_working_day(date(2024, 9, 2))  # Monday
    assert not is_working_day(date(2024, 9, 3))  # Tuesday
    assert next_working_day(date(2024, 8, 31)) == date(2024, 9, 4)


def test_adding_working_days_skips_weekends_and_holidays() -> None:
    assert add_working_days(date(2023, 6, 2), 1) == date(2023, 6, 5)
    assert add_working_days(date(2023, 6, 3), 1) == date(2023, 6, 5)
    assert add_working_days(date(2023, 12, 28), 2) == date(2024, 1, 2)  # 1/1/2024 is off
    assert add_working_days(date(2024, 2, 15), -1) == date(2024, 2, 7)
    assert add_working_days(date(2023, 6, 3), 0) == date(2023, 6, 3)


def test_extra_days_off_and_make_up_working_days() -> None:
    working = WorkingCalendar(
        extra_days_off=frozenset({date(2023, 6, 2)}),
        extra_working_days=frozenset({date(2024, 5, 4)}),
    )
    assert not working.is_working_day(date(2023, 6, 2))
    assert working.previous_working_day(date(2023, 6, 4)) == date(2023, 6, 1)
    assert working.is_working_day(date(2024, 5, 4))  # the make-up Saturday
    days_off = dict(working.days_off(2023))
    assert days_off[date(2023, 6, 2)] == ""
    assert date(2023, 1, 23) in days_off  # Tết


def test_days_off_are_named_in_vietnamese() -> None:
    days_off = dict(WorkingCalendar().days_off(2024, "vi"))
    assert days_off[date(2024, 9, 2)] == "Quốc khánh"
    assert date(2024, 2, 10) not in days_off  # a Saturday: off anyway


# --- calendar.yaml -------------------------------------------------------------------------------

MINIMAL = """\
schema_version: 1
periods:
  - key: quarterly
    label_vi: "quý I năm {year}"
    opens: "12-20"
    due_before: "01-10"
  - key: from_2026
    label_vi: "mới {year}"
    opens: "03-01"
    due_before: "03-10"
    from_year: 2026
"""


def test_minimal_file_takes_the_defaults() -> None:
    config = parse_calendar(MINIMAL)
    assert config.tz == VN
    assert config.deadline.cutoff == "start_of_day"
    assert config.action_months(2023) == []
    [period] = config.periods(2025)
    # A deadline day earlier in the year than the opening falls in the next year.
    assert period.key == "quarterly:2025"
    assert (period.opens_on, period.due_display) == (date(2025, 12, 20), date(2026, 1, 10))
    assert [p.key for p in config.periods(2026)] == ["from_2026:2026", "quarterly:2026"]


def test_shipped_file_loads(tmp_path: Path) -> None:
    copy = tmp_path / "calendar.yaml"
    copy.write_text(DEFAULT_CALENDAR.read_text(encoding="utf-8"), encoding="utf-8")
    config = load_calendar(copy)
    assert config.source == "calendar.yaml"
    assert config.working.extra_days_off == frozenset()
    assert [spec.form_key for spec in config.period_specs] == ["six_month", "annual"]


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CalendarError, match=r"nope\.yaml: cannot read"):
        load_calendar(tmp_path / "nope.yaml")


def test_broken_yaml_names_the_line() -> None:
    with pytest.raises(CalendarError) as caught:
        parse_calendar("periods:\n  - key: six_month\n    label_vi: [unclosed\n")
    [problem] = caught.value.problems
    assert problem.startswith("calendar.yaml:4: not valid YAML")


def test_every_problem_is_listed_with_its_line() -> None:
    text = """\
timezone: Mars/Olympus
deadline:
  cutoff: noon
working_days:
  extra_days_off: [2025-05-02, "soon"]
periods:
  - key: six_month
    label_vi: "6 tháng {nam}"
    opens: "13-05"
    due_before: 06-05
    colour: red
  - key: six_month
    label_vi: "again"
    opens: "05-15"
    due_before: "06-05"
action_months:
  - key: Bad-Key
    name_vi: "x"
    start: "02-29"
    end: "03-10"
reminders:
  send_time: 8:00
  reports:
    days_before: [7, -1]
  escalation:
    enabled: maybe
"""
    with pytest.raises(CalendarError) as caught:
        parse_calendar(text, name="lich.yaml")
    problems = caught.value.problems
    expected = [
        "lich.yaml:1: unknown timezone 'Mars/Olympus'",
        "lich.yaml:3: deadline: cutoff must be one of start_of_day, end_of_day, not 'noon'",
        "lich.yaml:5: working_days: extra_days_off: 'soon' is not a date",
        "lich.yaml:7: period 'six_month': unknown key 'colour'",
        "lich.yaml:7: period 'six_month': 'label_vi' may only use {year}, not nam",
        "lich.yaml:7: period 'six_month': opens '13-05' is not a day that exists every year",
        "lich.yaml:12: key 'six_month' is already used on line 7",
        "lich.yaml:17: action month: key 'Bad-Key' must be a lower-case letter",
        "lich.yaml:17: action month 'Bad-Key': start '02-29' is not a day that exists every year",
        'lich.yaml:22: reminders: send_time must be a quoted "HH:MM" time',
        "lich.yaml:24: reminders: reports: 'days_before' must be a list of whole numbers",
        "lich.yaml:26: reminders: escalation: 'enabled' must be true or false",
    ]
    for start in expected:
        assert any(problem.startswith(start) for problem in problems), (start, problems)
    # due_before: 06-05 unquoted is still read as the text "06-05" by YAML, which is fine.
    assert not any(": due_before " in problem for problem in problems)
