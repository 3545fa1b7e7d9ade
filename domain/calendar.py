"""The yearly calendar as data: report periods, action months and working days.

``content/calendar.yaml`` describes what repeats every year (the 6-month and annual reports, the
two action months and their result reports); :func:`load_calendar` reads it into a
:class:`CalendarConfig`, which turns a year into concrete :class:`Period` and :class:`ActionMonth`
values. Ad-hoc requests (stored in the database by the lead's services) join through
``CalendarConfig.periods(year, extra=...)``.

Deadlines. The plan writes "báo cáo 6 tháng trước ngày 5/6": *before* 5 June. How such a day
becomes an instant is decided in one place, :class:`DeadlineRule`. By default
(``cutoff: start_of_day``) the report is late from 5 June 00:00 Asia/Ho_Chi_Minh, i.e. it is on
time until the end of 4 June, and users read "trước ngày 05/6/2023". ``end_of_day`` is the lenient
reading (on time until the end of 5 June); the text shown stays "trước ngày 05/6/2023".

Working days are Monday to Friday except the Vietnamese public holidays of the ``holidays``
package (Tết, substitute days included), adjusted by the deployment's own lists of extra days off
and make-up working days, since the Government swaps days every year.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays
import yaml

if TYPE_CHECKING:
    from domain.reminder_plan import ReminderPolicy

DEFAULT_CALENDAR = Path(__file__).resolve().parent.parent / "content" / "calendar.yaml"
DEFAULT_TIMEZONE = ZoneInfo("Asia/Ho_Chi_Minh")
SCHEMA_VERSION = 1

Cutoff = Literal["start_of_day", "end_of_day"]
CUTOFFS: tuple[Cutoff, ...] = ("start_of_day", "end_of_day")

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_MONTH_DAY = re.compile(r"^(\d{2})-(\d{2})$")
_SEARCH_LIMIT = 366  # no real calendar has a year without a working day
_ONE_DAY = timedelta(days=1)
_EPSILON = timedelta(microseconds=1)


# --- Working days ------------------------------------------------------------------------------


@lru_cache(maxsize=64)
def _public_holidays(country: str, year: int, language: str = "en_US") -> dict[date, str]:
    """Public holidays (substitute days included) of one year, by date, named in ``language``."""
    found = holidays.country_holidays(country, years=year, language=language)
    return {day: str(name) for day, name in found.items() if day.year == year}


@dataclass(frozen=True)
class WorkingCalendar:
    """Which days a government office works: Monday-Friday minus public holidays, plus swaps."""

    country: str = "VN"
    extra_days_off: frozenset[date] = frozenset()
    extra_working_days: frozenset[date] = frozenset()

    def is_working_day(self, day: date) -> bool:
        """Tell whether ``day`` is a working day."""
        if day in self.extra_working_days:
            return True
        if day.weekday() >= 5 or day in self.extra_days_off:
            return False
        return day not in _public_holidays(self.country, day.year)

    def previous_working_day(self, day: date) -> date:
        """Return ``day`` if it is a working day, else the closest working day before it."""
        return self._walk(day, -1)

    def next_working_day(self, day: date) -> date:
        """Return ``day`` if it is a working day, else the closest working day after it."""
        return self._walk(day, 1)

    def add_working_days(self, day: date, count: int) -> date:
        """Move ``count`` working days forward (back if negative); ``day`` itself is not counted."""
        step = _ONE_DAY if count >= 0 else -_ONE_DAY
        remaining = abs(count)
        current = day
        while remaining:
            current += step
            if self.is_working_day(current):
                remaining -= 1
        return current

    def days_off(self, year: int, language: str = "en_US") -> list[tuple[date, str]]:
        """List the weekdays of ``year`` with no work (public holidays and extra days off)."""
        named = _public_holidays(self.country, year, language)
        found: dict[date, str] = {
            day: name for day, name in named.items() if day.weekday() < 5 and day.year == year
        }
        for day in self.extra_days_off:
            if day.year == year and day.weekday() < 5:
                found.setdefault(day, "")
        return sorted(
            (day, name) for day, name in found.items() if day not in self.extra_working_days
        )

    def _walk(self, day: date, direction: int) -> date:
        current = day
        for _ in range(_SEARCH_LIMIT):
            if self.is_working_day(current):
                return current
            current += timedelta(days=direction)
        raise ValueError(f"no working day within a year of {day.isoformat()}")


_STANDARD_WEEK = WorkingCalendar()


def is_working_day(day: date) -> bool:
    """Tell whether ``day`` is a working day in Vietnam (no deployment-specific swaps)."""
    return _STANDARD_WEEK.is_working_day(day)


def previous_working_day(day: date) -> date:
    """Return ``day`` if it is a working day, else the closest working day before it."""
    return _STANDARD_WEEK.previous_working_day(day)


def next_working_day(day: date) -> date:
    """Return ``day`` if it is a working day, else the closest working day after it."""
    return _STANDARD_WEEK.next_working_day(day)


def add_working_days(day: date, count: int) -> date:
    """Move ``count`` working days from ``day`` (which is not counted)."""
    return _STANDARD_WEEK.add_working_days(day, count)


# --- Deadlines ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeadlineRule:
    """The one place that decides what "trước ngày D" (before day D) means as an instant."""

    cutoff: Cutoff = "start_of_day"
    tz: ZoneInfo = DEFAULT_TIMEZONE

    def due_at(self, before: date) -> datetime:
        """Return the instant from which a report due "before ``before``" is late."""
        day = before if self.cutoff == "start_of_day" else before + _ONE_DAY
        return datetime.combine(day, time(0), tzinfo=self.tz)

    def last_day(self, due_at: datetime) -> date:
        """Return the last local day on which a report due at ``due_at`` is still on time."""
        return (due_at.astimezone(self.tz) - _EPSILON).date()

    def display_date(self, due_at: datetime) -> date:
        """Return the date written after "trước ngày" for a deadline instant."""
        last = self.last_day(due_at)
        return last + _ONE_DAY if self.cutoff == "start_of_day" else last


@dataclass(frozen=True, order=True)
class MonthDay:
    """A day of the year without the year ("06-05"); 29 February is not allowed."""

    month: int
    day: int

    def in_year(self, year: int) -> date:
        return date(year, self.month, self.day)

    def on_or_after(self, start: date) -> date:
        """The first date with this month and day that is not before ``start``."""
        candidate = self.in_year(start.year)
        return candidate if candidate >= start else self.in_year(start.year + 1)

    def __str__(self) -> str:
        return f"{self.month:02d}-{self.day:02d}"


# --- Periods and action months -----------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """One report to collect: the 6-month report of 2023, an ad-hoc request, ..."""

    key: str  # "six_month:2023"; the delivery ledger and the submissions hang on it
    form_key: str  # which form the units fill in
    year: int
    label_vi: str
    label_en: str
    opens_on: date
    due_at: datetime  # aware; a submission at or after this instant is late
    due_display: date  # shown as "trước ngày {due_display}"
    audience: frozenset[str] | None = None  # unit codes; None means every unit

    def __post_init__(self) -> None:
        if self.due_at.tzinfo is None:
            raise ValueError(f"period {self.key!r}: due_at must be an aware datetime")

    def label(self, language: str) -> str:
        """The period's name for a reader of ``language``."""
        return self.label_en if language == "en" and self.label_en else self.label_vi


@dataclass(frozen=True)
class ActionMonth:
    """One action month of one year; its result report (if any) is the period with the same key."""

    key: str  # "action_month_ge:2023"
    year: int
    name_vi: str
    name_en: str
    starts_on: date
    ends_on: date
    result_period_key: str | None

    @property
    def middle(self) -> date:
        """The middle day of the month: 15/6 for 1/6-30/6, 30/11 for 15/11-15/12."""
        return self.starts_on + timedelta(days=(self.ends_on - self.starts_on).days // 2)

    def name(self, language: str) -> str:
        return self.name_en if language == "en" and self.name_en else self.name_vi


@dataclass(frozen=True)
class PeriodSpec:
    """A report that comes back every year, as ``calendar.yaml`` describes it."""

    form_key: str
    label_vi: str  # may use {year}
    label_en: str
    opens: MonthDay | None  # None: an action month's result report opens when the month ends
    due_before: MonthDay
    from_year: int | None = None
    to_year: int | None = None
    line: int = 0

    def applies_to(self, year: int) -> bool:
        return (self.from_year is None or year >= self.from_year) and (
            self.to_year is None or year <= self.to_year
        )

    def period(self, year: int, rule: DeadlineRule, opens_on: date | None = None) -> Period:
        """The period of ``year``; its deadline is the first ``due_before`` after the opening."""
        if opens_on is None:
            if self.opens is None:
                raise ValueError(f"period {self.form_key!r} needs an opening day")
            opens_on = self.opens.in_year(year)
        due_before = self.due_before.on_or_after(opens_on + _ONE_DAY)
        due_at = rule.due_at(due_before)
        return Period(
            key=f"{self.form_key}:{year}",
            form_key=self.form_key,
            year=year,
            label_vi=self.label_vi.format(year=year),
            label_en=self.label_en.format(year=year),
            opens_on=opens_on,
            due_at=due_at,
            due_display=rule.display_date(due_at),
        )


@dataclass(frozen=True)
class ActionMonthSpec:
    """An action month that comes back every year, with its optional result report."""

    key: str
    name_vi: str
    name_en: str
    start: MonthDay
    end: MonthDay
    result_report: PeriodSpec | None = None
    from_year: int | None = None
    to_year: int | None = None
    line: int = 0

    def applies_to(self, year: int) -> bool:
        return (self.from_year is None or year >= self.from_year) and (
            self.to_year is None or year <= self.to_year
        )

    def action_month(self, year: int) -> ActionMonth:
        starts_on = self.start.in_year(year)
        return ActionMonth(
            key=f"{self.key}:{year}",
            year=year,
            name_vi=self.name_vi,
            name_en=self.name_en,
            starts_on=starts_on,
            ends_on=self.end.on_or_after(starts_on),
            result_period_key=f"{self.key}:{year}" if self.result_report else None,
        )


def merge_periods(periods: Iterable[Period], extra: Iterable[Period]) -> list[Period]:
    """Join ad-hoc periods to the calendar's; an extra period with a calendar key replaces it.

    Replacing lets the office move one year's deadline (say the 2024 plan asks for the 6-month
    report before 10/6) by storing a ``six_month:2024`` period, without editing the YAML.
    """
    by_key = {period.key: period for period in periods}
    for period in extra:
        by_key[period.key] = period
    return sorted(by_key.values(), key=lambda period: (period.due_at, period.key))


@dataclass(frozen=True)
class CalendarConfig:
    """The deployment's calendar and reminder policy, as loaded from ``calendar.yaml``."""

    period_specs: tuple[PeriodSpec, ...]
    action_month_specs: tuple[ActionMonthSpec, ...]
    policy: ReminderPolicy
    deadline: DeadlineRule = field(default_factory=DeadlineRule)
    working: WorkingCalendar = field(default_factory=WorkingCalendar)
    source: str = ""

    @property
    def tz(self) -> ZoneInfo:
        return self.deadline.tz

    def periods(self, year: int, extra: Iterable[Period] = ()) -> list[Period]:
        """The report periods of ``year`` (extra periods of that year joined), by deadline."""
        regular = [
            spec.period(year, self.deadline) for spec in self.period_specs if spec.applies_to(year)
        ]
        for month_spec in self.action_month_specs:
            result = month_spec.result_report
            if result is None or not month_spec.applies_to(year):
                continue
            month = month_spec.action_month(year)
            opens_on = result.opens.on_or_after(month.starts_on) if result.opens else month.ends_on
            regular.append(result.period(year, self.deadline, opens_on))
        return merge_periods(regular, (period for period in extra if period.year == year))

    def action_months(self, year: int) -> list[ActionMonth]:
        """The action months of ``year``, by start."""
        months = [
            spec.action_month(year) for spec in self.action_month_specs if spec.applies_to(year)
        ]
        return sorted(months, key=lambda month: (month.starts_on, month.key))

    def adhoc_period(
        self,
        *,
        key: str,
        form_key: str,
        title: str,
        opens_on: date,
        due_at: datetime,
        audience: Iterable[str] | None = None,
        year: int | None = None,
        due_display: date | None = None,
    ) -> Period:
        """Build a :class:`Period` for an ad-hoc request stored in the database.

        ``due_display`` defaults to what :class:`DeadlineRule` shows for ``due_at``; store day
        deadlines (``config.deadline.due_at(day)``) so the "trước ngày" text stays exact.
        """
        if due_at.tzinfo is None:
            raise ValueError("due_at must be an aware datetime")
        return Period(
            key=key,
            form_key=form_key,
            year=year if year is not None else opens_on.year,
            label_vi=title,
            label_en=title,
            opens_on=opens_on,
            due_at=due_at,
            due_display=due_display or self.deadline.display_date(due_at),
            audience=frozenset(audience) if audience is not None else None,
        )


# --- Loading calendar.yaml ---------------------------------------------------------------------


class CalendarError(Exception):
    """A calendar file that cannot be used; ``problems`` are "file:line: message" lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _LineLoader(yaml.SafeLoader):
    """A YAML loader that remembers on which line each mapping starts (key ``__line__``)."""


def _construct_mapping_with_line(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = {str(key): value for key, value in loader.construct_mapping(node, deep=True).items()}
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping_with_line,
)


class ProblemLog:
    """Collects "file:line: message" problems while a calendar file is read, to report them all."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.problems: list[str] = []

    def add(self, line: int, message: str) -> None:
        self.problems.append(f"{self.name}:{line}: {message}")

    def section(self, parent: Mapping[str, Any], key: str, line: int) -> dict[str, Any]:
        """The mapping under ``key`` (empty if absent); a problem if it is not a mapping."""
        value = parent.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.add(line, f"'{key}' must be a mapping")
            return {}
        return value

    def check_keys(self, mapping: Mapping[str, Any], allowed: Iterable[str], what: str) -> None:
        known = set(allowed) | {"__line__"}
        for key in mapping:
            if key not in known:
                expected = ", ".join(sorted(known - {"__line__"}))
                self.add(line_of(mapping), f"{what}: unknown key '{key}' (expected: {expected})")

    def boolean(self, mapping: Mapping[str, Any], key: str, default: bool, what: str) -> bool:
        value = mapping.get(key, default)
        if not isinstance(value, bool):
            self.add(line_of(mapping), f"{what}: '{key}' must be true or false, not {value!r}")
            return default
        return value

    def integer(
        self, mapping: Mapping[str, Any], key: str, default: int, what: str, *, minimum: int = 0
    ) -> int:
        value = mapping.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            self.add(
                line_of(mapping),
                f"{what}: '{key}' must be a whole number >= {minimum}, not {value!r}",
            )
            return default
        return value

    def day_counts(
        self, mapping: Mapping[str, Any], key: str, default: tuple[int, ...], what: str
    ) -> tuple[int, ...]:
        value = mapping.get(key, list(default))
        if not isinstance(value, list) or not all(
            isinstance(item, int) and not isinstance(item, bool) and item > 0 for item in value
        ):
            self.add(
                line_of(mapping),
                f"{what}: '{key}' must be a list of whole numbers of days > 0, not {value!r}",
            )
            return default
        if len(set(value)) != len(value):
            self.add(line_of(mapping), f"{what}: '{key}' lists the same number twice")
        return tuple(sorted(set(value), reverse=True))


def line_of(mapping: Mapping[str, Any]) -> int:
    """The line a mapping started on in the YAML file (0 if unknown)."""
    line = mapping.get("__line__", 0)
    return line if isinstance(line, int) else 0


def load_calendar(path: Path = DEFAULT_CALENDAR) -> CalendarConfig:
    """Read and check ``calendar.yaml``; raise :class:`CalendarError` listing every problem."""
    name = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CalendarError([f"{name}: cannot read: {exc}"]) from None
    return parse_calendar(text, name=name)


def parse_calendar(text: str, *, name: str = "calendar.yaml") -> CalendarConfig:
    """Check the text of a calendar file and build its :class:`CalendarConfig`."""
    # The policy is the planner's business; it is imported here, not at the top, because the
    # planner imports this module.
    from domain.reminder_plan import parse_policy

    try:
        document = yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise CalendarError([f"{name}{line}: not valid YAML: {problem}"]) from None
    if not isinstance(document, dict):
        raise CalendarError([f"{name}:1: expected a mapping with 'periods' and 'action_months'"])
    log = ProblemLog(name)
    log.check_keys(
        document,
        (
            "schema_version",
            "timezone",
            "deadline",
            "working_days",
            "periods",
            "action_months",
            "reminders",
        ),
        "calendar",
    )
    version = document.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        log.add(
            line_of(document), f"schema_version {version!r} is not supported (use {SCHEMA_VERSION})"
        )
    tz = _timezone(document, log)
    deadline = _deadline_rule(log.section(document, "deadline", line_of(document)), tz, log)
    working = _working_calendar(log.section(document, "working_days", line_of(document)), log)
    period_specs = _period_specs(document.get("periods"), line_of(document), log)
    month_specs = _action_month_specs(document.get("action_months"), line_of(document), log)
    _check_unique_keys(document, log)
    policy = parse_policy(log.section(document, "reminders", line_of(document)), log)
    if log.problems:
        raise CalendarError(log.problems)
    return CalendarConfig(
        period_specs=tuple(period_specs),
        action_month_specs=tuple(month_specs),
        policy=policy,
        deadline=deadline,
        working=working,
        source=name,
    )


def _timezone(document: Mapping[str, Any], log: ProblemLog) -> ZoneInfo:
    value = document.get("timezone", "Asia/Ho_Chi_Minh")
    try:
        return ZoneInfo(str(value))
    except (ZoneInfoNotFoundError, ValueError):
        log.add(line_of(document), f"unknown timezone {value!r} (e.g. Asia/Ho_Chi_Minh)")
        return DEFAULT_TIMEZONE


def _deadline_rule(section: Mapping[str, Any], tz: ZoneInfo, log: ProblemLog) -> DeadlineRule:
    log.check_keys(section, ("cutoff",), "deadline")
    cutoff = section.get("cutoff", "start_of_day")
    if cutoff not in CUTOFFS:
        log.add(
            line_of(section),
            f"deadline: cutoff must be one of {', '.join(CUTOFFS)}, not {cutoff!r}",
        )
        return DeadlineRule(tz=tz)
    return DeadlineRule(cast(Cutoff, cutoff), tz)


def _working_calendar(section: Mapping[str, Any], log: ProblemLog) -> WorkingCalendar:
    log.check_keys(section, ("country", "extra_days_off", "extra_working_days"), "working_days")
    country = str(section.get("country", "VN"))
    try:
        holidays.country_holidays(country)
    except NotImplementedError:
        log.add(
            line_of(section),
            f"working_days: the holidays package does not know country {country!r}",
        )
        country = "VN"
    days_off = _dates(section, "extra_days_off", log)
    working = _dates(section, "extra_working_days", log)
    for day in sorted(days_off & working):
        log.add(
            line_of(section), f"working_days: {day.isoformat()} is both a day off and a working day"
        )
    return WorkingCalendar(country, days_off, working)


def _dates(section: Mapping[str, Any], key: str, log: ProblemLog) -> frozenset[date]:
    value = section.get(key) or []
    if not isinstance(value, list):
        log.add(line_of(section), f"working_days: '{key}' must be a list of dates (YYYY-MM-DD)")
        return frozenset()
    found: set[date] = set()
    for item in value:
        if isinstance(item, date) and not isinstance(item, datetime):
            found.add(item)
            continue
        try:
            found.add(date.fromisoformat(str(item)))
        except ValueError:
            log.add(line_of(section), f"working_days: {key}: {item!r} is not a date (YYYY-MM-DD)")
    return frozenset(found)


def _month_day(value: Any, line: int, what: str, log: ProblemLog) -> MonthDay | None:
    match = _MONTH_DAY.match(str(value)) if isinstance(value, str) else None
    if match is None:
        log.add(line, f'{what} must be a quoted "MM-DD" day, e.g. "06-05", not {value!r}')
        return None
    month, day = int(match.group(1)), int(match.group(2))
    try:
        date(2023, month, day)  # a common year: 29 February would not come back every year
    except ValueError:
        log.add(line, f"{what} {value!r} is not a day that exists every year")
        return None
    return MonthDay(month, day)


def _text(
    mapping: Mapping[str, Any], key: str, what: str, log: ProblemLog, *, required: bool
) -> str:
    value = mapping.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            log.add(line_of(mapping), f"{what}: '{key}' is required")
        return ""
    if not isinstance(value, str):
        log.add(line_of(mapping), f"{what}: '{key}' must be text")
        return ""
    return value.strip()


def _label(
    mapping: Mapping[str, Any], key: str, what: str, log: ProblemLog, *, required: bool
) -> str:
    text = _text(mapping, key, what, log, required=required)
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        log.add(line_of(mapping), f"{what}: '{key}' is not a valid template: {exc}")
        return text
    if fields - {"year"}:
        unknown = ", ".join(sorted(fields - {"year"}))
        log.add(line_of(mapping), f"{what}: '{key}' may only use {{year}}, not {unknown}")
    return text


def _key(mapping: Mapping[str, Any], what: str, log: ProblemLog) -> str:
    key = mapping.get("key")
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        log.add(
            line_of(mapping),
            f"{what}: key {key!r} must be a lower-case letter, then up to 39 letters,"
            " digits or '_'",
        )
        return ""
    return key


def _year_range(
    mapping: Mapping[str, Any], what: str, log: ProblemLog
) -> tuple[int | None, int | None]:
    bounds: list[int | None] = []
    for name in ("from_year", "to_year"):
        value = mapping.get(name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or not 2000 <= value <= 2100
        ):
            log.add(
                line_of(mapping), f"{what}: '{name}' must be a year such as 2026, not {value!r}"
            )
            value = None
        bounds.append(value)
    first, last = bounds
    if first is not None and last is not None and first > last:
        log.add(line_of(mapping), f"{what}: from_year {first} is after to_year {last}")
    return first, last


def _items(value: Any, section: str, parent_line: int, log: ProblemLog) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        log.add(parent_line, f"'{section}' must be a list")
        return []
    items = [item for item in value if isinstance(item, dict)]
    if len(items) != len(value):
        log.add(parent_line, f"every entry of '{section}' must be a mapping")
    return items


_PERIOD_KEYS = ("key", "label_vi", "label_en", "opens", "due_before", "from_year", "to_year")
_RESULT_KEYS = ("label_vi", "label_en", "opens", "due_before")
_MONTH_KEYS = ("key", "name_vi", "name_en", "start", "end", "result_report", "from_year", "to_year")


def _period_specs(value: Any, parent_line: int, log: ProblemLog) -> list[PeriodSpec]:
    specs: list[PeriodSpec] = []
    for item in _items(value, "periods", parent_line, log):
        line = line_of(item)
        key = _key(item, "period", log)
        what = f"period '{item.get('key')}'"
        log.check_keys(item, _PERIOD_KEYS, what)
        label_vi = _label(item, "label_vi", what, log, required=True)
        label_en = _label(item, "label_en", what, log, required=False)
        opens = _month_day(item.get("opens"), line, f"{what}: opens", log)
        due = _month_day(item.get("due_before"), line, f"{what}: due_before", log)
        first, last = _year_range(item, what, log)
        if key and opens and due:
            specs.append(PeriodSpec(key, label_vi, label_en, opens, due, first, last, line))
    return specs


def _action_month_specs(value: Any, parent_line: int, log: ProblemLog) -> list[ActionMonthSpec]:
    specs: list[ActionMonthSpec] = []
    for item in _items(value, "action_months", parent_line, log):
        line = line_of(item)
        key = _key(item, "action month", log)
        what = f"action month '{item.get('key')}'"
        log.check_keys(item, _MONTH_KEYS, what)
        name_vi = _text(item, "name_vi", what, log, required=True)
        name_en = _text(item, "name_en", what, log, required=False)
        start = _month_day(item.get("start"), line, f"{what}: start", log)
        end = _month_day(item.get("end"), line, f"{what}: end", log)
        first, last = _year_range(item, what, log)
        result = _result_report(item, key, what, log)
        if key and start and end:
            specs.append(
                ActionMonthSpec(key, name_vi, name_en, start, end, result, first, last, line)
            )
    return specs


def _result_report(
    item: Mapping[str, Any], key: str, what: str, log: ProblemLog
) -> PeriodSpec | None:
    raw = item.get("result_report")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        log.add(line_of(item), f"{what}: 'result_report' must be a mapping (or left out)")
        return None
    where = f"{what}: result_report"
    log.check_keys(raw, _RESULT_KEYS, where)
    label_vi = _label(raw, "label_vi", where, log, required=True)
    label_en = _label(raw, "label_en", where, log, required=False)
    opens = None
    if raw.get("opens") is not None:
        opens = _month_day(raw.get("opens"), line_of(raw), f"{where}: opens", log)
    due = _month_day(raw.get("due_before"), line_of(raw), f"{where}: due_before", log)
    if not key or due is None:
        return None
    return PeriodSpec(key, label_vi, label_en, opens, due, line=line_of(raw))


def _check_unique_keys(document: Mapping[str, Any], log: ProblemLog) -> None:
    """Periods and action months share one key space (a result report is a period)."""
    seen: dict[str, int] = {}
    for section in ("periods", "action_months"):
        items = document.get(section)
        for item in items if isinstance(items, list) else []:
            key = item.get("key") if isinstance(item, dict) else None
            if not isinstance(key, str):
                continue
            if key in seen:
                log.add(line_of(item), f"key '{key}' is already used on line {seen[key]}")
            else:
                seen[key] = line_of(item)
