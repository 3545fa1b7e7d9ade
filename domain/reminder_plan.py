"""The reminder policy and the pure planner: calendar + policy -> dated reminder steps.

:func:`plan_year` turns a year of the calendar (report periods, action months, ad-hoc periods)
into :class:`PlannedReminder` rows: *when* (``send_at``), *about what* (``period_key``), *which
step* (``step``, a stable id) and *to whom* (``audience``: a class of recipients, never a unit).
Planning is per period; which units still miss a report is decided at send time, so planning a
province of 10,000 units costs what planning one does.

The rules, in the order the planner applies them:

1. Report steps: ``open`` when the period opens, ``before_7``/``before_3``/``before_1`` days
   before the deadline day (the day written after "trước ngày"), ``last_day`` on the last day a
   report is on time (4 June for "trước ngày 5/6" with the default cutoff), then
   ``followup_1``..``followup_5`` every 2 working days after the deadline. All go to
   ``missing_units``: the sender skips units that have submitted.
2. Action-month steps: ``am_before_10`` (prepare your activities), ``am_start``, ``am_mid`` (the
   middle day of the month) to ``all_focal_points``, and ``am_end`` on the last day: the request
   for the result report, so it goes to ``missing_units`` of the result period, which shares the
   action month's key (``action_month_dv:2023``). Because ``am_end`` is that request, the result
   period has no separate ``open`` step.
3. Only working days, at ``send_time`` local time (08:00 Asia/Ho_Chi_Minh). A step whose day is a
   Saturday, Sunday or public holiday moves to the *previous* working day (a reminder early is
   better than one after the fact), except ``open``, which moves to the *next* working day: the
   form is not open before its opening day, so announcing it earlier would invite submissions
   that cannot be made. A report step that lands before the (shifted) opening day or at/after the
   deadline instant is dropped: a 5-day window has no "7 days left" reminder.
4. If two steps of one period for the same recipients (the units, whether ``missing_units`` or
   ``all_focal_points``; or the office) land on the same day, only the later step (by nominal
   day, then by urgency) is kept: ``before_1`` and ``last_day`` both nominally on Sunday 4/6/2023
   move to Friday 2/6, where ``before_3`` already is; ``last_day`` stays.
5. Escalation: on the first working day whose send time is after the deadline instant (5/6/2023
   for "trước ngày 5/6"), the standing office gets the list of units still missing
   (``escalation``); then a ``digest_YYYY-MM-DD`` every working day until the last follow-up (or
   for ``digest_days`` working days). Follow-ups come every 2 working days counted from that
   escalation day. The sender skips a follow-up or digest when nothing is missing.

Catch-up. The scheduler calls :func:`steps_to_send` on every tick with the steps it has already
processed. Per (period, audience) only the *latest* due step is returned; earlier due steps that
were never sent are superseded (after three days of downtime a unit gets "last day" once, not
"7 days left", "3 days left" and "last day" in one burst). Steps older than ``max_delay`` are not
sent at all (a bot started in November does not remind anyone of June).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from itertools import groupby
from typing import TYPE_CHECKING, Any

from domain.calendar import ActionMonth, CalendarConfig, Period, ProblemLog, line_of
from domain.i18n import N_

if TYPE_CHECKING:
    from domain.i18n import Translator

# Audiences: classes of recipients, resolved to chats at send time.
MISSING_UNITS = "missing_units"  # focal points of units that have not submitted the period
ALL_FOCAL_POINTS = "all_focal_points"  # every focal point (action-month announcements)
OFFICE = "office"  # the standing office (escalations and digests)

# Kinds: what the message is about; the sender picks its template by kind and step.
REPORT_REMINDER = "report_reminder"
ACTION_MONTH = "action_month"
ESCALATION = "escalation"
DIGEST = "digest"

STEP_OPEN = "open"
STEP_LAST_DAY = "last_day"
STEP_AM_START = "am_start"
STEP_AM_MID = "am_mid"
STEP_AM_END = "am_end"
STEP_ESCALATION = "escalation"
DEFAULT_MAX_DELAY = timedelta(days=7)

_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class ReminderPolicy:
    """When reminders go out; ``calendar.yaml``'s ``reminders:`` section, these are the defaults."""

    send_time: time = time(8, 0)
    report_on_open: bool = True
    report_days_before: tuple[int, ...] = (7, 3, 1)
    report_last_day: bool = True
    followup_every: int = 2  # working days
    followup_max: int = 5
    action_month_days_before: tuple[int, ...] = (10,)
    action_month_on_start: bool = True
    action_month_mid: bool = True
    action_month_on_end: bool = True
    escalation: bool = True
    digest_days: int | None = None  # working days of digests; None: until the last follow-up


@dataclass(frozen=True, order=True)
class PlannedReminder:
    """One step of the plan: sent at ``send_at`` to ``audience`` about ``period_key``."""

    send_at: datetime  # aware, at the policy hour local time
    period_key: str  # "six_month:2023", "action_month_ge:2023"
    step: str  # stable id, part of the delivery ledger's unique key
    audience: str  # MISSING_UNITS | ALL_FOCAL_POINTS | OFFICE
    kind: str  # REPORT_REMINDER | ACTION_MONTH | ESCALATION | DIGEST
    nominal_on: date  # the day before shifting to a working day


# --- Planning ----------------------------------------------------------------------------------


def plan_year(
    config: CalendarConfig, year: int, *, extra_periods: Iterable[Period] = ()
) -> list[PlannedReminder]:
    """Plan every reminder of the periods and action months of ``year``, sorted by ``send_at``.

    Extra (ad-hoc) periods join when their ``year`` is ``year``. Follow-ups of a December
    deadline run into January: they belong to the year of their period.
    """
    periods = config.periods(year, extra=extra_periods)
    months = config.action_months(year)
    announced_by_month = {
        month.result_period_key
        for month in months
        if month.result_period_key and config.policy.action_month_on_end
    }
    candidates: list[PlannedReminder] = []
    for period in periods:
        candidates.extend(
            _report_steps(config, period, with_open=period.key not in announced_by_month)
        )
    for month in months:
        candidates.extend(_action_month_steps(config, month))
    return sorted(_one_per_day(candidates))


def plan_years(
    config: CalendarConfig, years: Iterable[int], *, extra_periods: Iterable[Period] = ()
) -> list[PlannedReminder]:
    """Plan several years at once (the scheduler plans last year and this one), by ``send_at``."""
    extra = list(extra_periods)
    plan: list[PlannedReminder] = []
    for year in sorted(set(years)):
        plan.extend(plan_year(config, year, extra_periods=extra))
    return sorted(plan)


def _send_at(config: CalendarConfig, day: date) -> datetime:
    return datetime.combine(day, config.policy.send_time, tzinfo=config.tz)


def _report_steps(
    config: CalendarConfig, period: Period, *, with_open: bool
) -> list[PlannedReminder]:
    policy, working = config.policy, config.working
    open_day = working.next_working_day(period.opens_on)
    steps: list[PlannedReminder] = []

    def add(
        step: str,
        nominal: date,
        day: date,
        audience: str = MISSING_UNITS,
        kind: str = REPORT_REMINDER,
    ) -> None:
        steps.append(
            PlannedReminder(_send_at(config, day), period.key, step, audience, kind, nominal)
        )

    # Before the deadline: only while the period is open and the report is not yet late.
    before: list[tuple[str, date]] = [
        (f"before_{days}", period.due_display - timedelta(days=days))
        for days in policy.report_days_before
    ]
    if policy.report_last_day:
        before.append((STEP_LAST_DAY, config.deadline.last_day(period.due_at)))
    if with_open and policy.report_on_open and _send_at(config, open_day) < period.due_at:
        add(STEP_OPEN, period.opens_on, open_day)
    for step, nominal in before:
        day = working.previous_working_day(nominal)
        if day >= open_day and _send_at(config, day) < period.due_at:
            add(step, nominal, day)

    # After the deadline: the office first, then the late units every few working days.
    first_late = working.next_working_day(period.due_at.astimezone(config.tz).date())
    if _send_at(config, first_late) <= period.due_at:
        first_late = working.add_working_days(first_late, 1)
    followup_days = [
        working.add_working_days(first_late, policy.followup_every * number)
        for number in range(1, policy.followup_max + 1)
    ]
    for number, day in enumerate(followup_days, start=1):
        add(f"followup_{number}", day, day)
    if policy.escalation:
        add(STEP_ESCALATION, first_late, first_late, OFFICE, ESCALATION)
        for day in _digest_days(config, first_late, followup_days):
            add(f"digest_{day.isoformat()}", day, day, OFFICE, DIGEST)
    return steps


def _digest_days(
    config: CalendarConfig, escalation_day: date, followup_days: Sequence[date]
) -> list[date]:
    limit = config.policy.digest_days
    days: list[date] = []
    day = escalation_day
    while True:
        day = config.working.add_working_days(day, 1)
        if limit is None and (not followup_days or day > followup_days[-1]):
            return days
        if limit is not None and len(days) >= limit:
            return days
        days.append(day)


def _action_month_steps(config: CalendarConfig, month: ActionMonth) -> list[PlannedReminder]:
    policy, working = config.policy, config.working
    nominal: list[tuple[str, date, str]] = [
        (f"am_before_{days}", month.starts_on - timedelta(days=days), ALL_FOCAL_POINTS)
        for days in policy.action_month_days_before
    ]
    if policy.action_month_on_start:
        nominal.append((STEP_AM_START, month.starts_on, ALL_FOCAL_POINTS))
    if policy.action_month_mid:
        nominal.append((STEP_AM_MID, month.middle, ALL_FOCAL_POINTS))
    if policy.action_month_on_end:
        end_audience = MISSING_UNITS if month.result_period_key else ALL_FOCAL_POINTS
        nominal.append((STEP_AM_END, month.ends_on, end_audience))
    return [
        PlannedReminder(
            _send_at(config, working.previous_working_day(day)),
            month.key,
            step,
            audience,
            ACTION_MONTH,
            day,
        )
        for step, day, audience in nominal
    ]


def _recipients(audience: str) -> str:
    """Focal points are one set of people whether all of them or the late ones are meant."""
    return OFFICE if audience == OFFICE else "units"


def step_urgency(step: str) -> int:
    """Rank steps that fall on the same day: the higher, the more urgent (kept)."""
    for prefix, rank in (
        ("am_before_", 0),
        (STEP_AM_START, 1),
        (STEP_AM_MID, 2),
        (STEP_OPEN, 3),
        (STEP_AM_END, 4),
        ("before_", 10),
        (STEP_LAST_DAY, 20),
        ("followup_", 30),
        (STEP_ESCALATION, 40),
        ("digest_", 50),
    ):
        if step.startswith(prefix):
            return rank
    return 0


def _priority(reminder: PlannedReminder) -> tuple[date, int]:
    return reminder.nominal_on, step_urgency(reminder.step)


def _one_per_day(candidates: Iterable[PlannedReminder]) -> list[PlannedReminder]:
    kept: dict[tuple[str, str, date], PlannedReminder] = {}
    for reminder in candidates:
        slot = (reminder.period_key, _recipients(reminder.audience), reminder.send_at.date())
        current = kept.get(slot)
        if current is None or _priority(reminder) > _priority(current):
            kept[slot] = reminder
    return list(kept.values())


# --- Sending: what is due now ------------------------------------------------------------------


def _require_aware(instant: datetime, name: str) -> None:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime")


def due_steps(plan: Iterable[PlannedReminder], now: datetime) -> list[PlannedReminder]:
    """Return the steps whose time has come (``send_at <= now``), in plan order."""
    _require_aware(now, "now")
    return [reminder for reminder in plan if reminder.send_at <= now]


def _latest_per_group(reminders: Iterable[PlannedReminder]) -> list[PlannedReminder]:
    def group(reminder: PlannedReminder) -> tuple[str, str]:
        return reminder.period_key, reminder.audience

    latest = [
        max(members, key=lambda reminder: (reminder.send_at, step_urgency(reminder.step)))
        for _, members in groupby(sorted(reminders, key=group), key=group)
    ]
    return sorted(latest)


def latest_missed_per_period(
    plan: Iterable[PlannedReminder], last_run: datetime, now: datetime
) -> list[PlannedReminder]:
    """Return, per (period, audience), the latest step due in ``(last_run, now]``."""
    _require_aware(last_run, "last_run")
    _require_aware(now, "now")
    return _latest_per_group(reminder for reminder in plan if last_run < reminder.send_at <= now)


def steps_to_send(
    plan: Iterable[PlannedReminder],
    now: datetime,
    already_sent: set[tuple[str, str]],
    *,
    max_delay: timedelta = DEFAULT_MAX_DELAY,
) -> list[PlannedReminder]:
    """Return the steps to send now: per (period, audience) the latest due step, if not yet sent.

    ``already_sent`` holds the (period_key, step) pairs the scheduler has processed (its ledger
    records each delivery under (unit or focal point, period, step)). Earlier due steps that were
    never sent are superseded by the latest one and never returned; if the latest was sent,
    nothing is returned for that period and audience. Steps due more than ``max_delay`` ago are
    stale and skipped. Call it on every tick: it is pure and cheap.
    """
    _require_aware(now, "now")
    latest = _latest_per_group(reminder for reminder in plan if reminder.send_at <= now)
    return [
        reminder
        for reminder in latest
        if (reminder.period_key, reminder.step) not in already_sent
        and now - reminder.send_at <= max_delay
    ]


def next_send_at(plan: Iterable[PlannedReminder], now: datetime) -> datetime | None:
    """Return when the next step after ``now`` is due (to sleep until then), or None."""
    _require_aware(now, "now")
    return min((reminder.send_at for reminder in plan if reminder.send_at > now), default=None)


# --- Reading the policy from calendar.yaml -----------------------------------------------------

_POLICY_KEYS = ("send_time", "reports", "action_months", "escalation")
_REPORT_KEYS = ("on_open", "days_before", "last_day", "followup_every_working_days", "followup_max")
_MONTH_KEYS = ("days_before_start", "on_start", "mid_month", "on_end")
_ESCALATION_KEYS = ("enabled", "digest_days")


def parse_policy(section: Mapping[str, Any], log: ProblemLog) -> ReminderPolicy:
    """Read the ``reminders:`` section (missing keys take the defaults); problems go to ``log``."""
    default = ReminderPolicy()
    log.check_keys(section, _POLICY_KEYS, "reminders")
    line = line_of(section)
    reports = log.section(section, "reports", line)
    months = log.section(section, "action_months", line)
    escalation = log.section(section, "escalation", line)
    log.check_keys(reports, _REPORT_KEYS, "reminders: reports")
    log.check_keys(months, _MONTH_KEYS, "reminders: action_months")
    log.check_keys(escalation, _ESCALATION_KEYS, "reminders: escalation")
    followup_max = log.integer(reports, "followup_max", default.followup_max, "reminders: reports")
    digest_days = escalation.get("digest_days")
    if digest_days is not None:
        digest_days = log.integer(escalation, "digest_days", 0, "reminders: escalation")
    return ReminderPolicy(
        send_time=_send_time(section, default.send_time, log),
        report_on_open=log.boolean(
            reports, "on_open", default.report_on_open, "reminders: reports"
        ),
        report_days_before=log.day_counts(
            reports, "days_before", default.report_days_before, "reminders: reports"
        ),
        report_last_day=log.boolean(
            reports, "last_day", default.report_last_day, "reminders: reports"
        ),
        followup_every=log.integer(
            reports,
            "followup_every_working_days",
            default.followup_every,
            "reminders: reports",
            minimum=1,
        ),
        followup_max=followup_max,
        action_month_days_before=log.day_counts(
            months,
            "days_before_start",
            default.action_month_days_before,
            "reminders: action_months",
        ),
        action_month_on_start=log.boolean(
            months, "on_start", default.action_month_on_start, "reminders: action_months"
        ),
        action_month_mid=log.boolean(
            months, "mid_month", default.action_month_mid, "reminders: action_months"
        ),
        action_month_on_end=log.boolean(
            months, "on_end", default.action_month_on_end, "reminders: action_months"
        ),
        escalation=log.boolean(escalation, "enabled", default.escalation, "reminders: escalation"),
        digest_days=digest_days,
    )


def _send_time(section: Mapping[str, Any], default: time, log: ProblemLog) -> time:
    value = section.get("send_time")
    if value is None:
        return default
    match = _TIME.match(value) if isinstance(value, str) else None
    if match is None:
        log.add(
            line_of(section),
            f'reminders: send_time must be a quoted "HH:MM" time, e.g. "08:00", not {value!r}',
        )
        return default
    return time(int(match.group(1)), int(match.group(2)))


# --- The printout ------------------------------------------------------------------------------

_AUDIENCE_LABELS = {
    MISSING_UNITS: N_("units that have not submitted"),
    ALL_FOCAL_POINTS: N_("all focal points"),
    OFFICE: N_("standing office"),
}
_STEP_LABELS = {
    STEP_OPEN: N_("report opens"),
    STEP_LAST_DAY: N_("last day"),
    STEP_AM_START: N_("action month starts"),
    STEP_AM_MID: N_("middle of the action month"),
    STEP_AM_END: N_("action month ends: send the result report"),
    STEP_ESCALATION: N_("list of late units"),
}


def _step_label(step: str, translator: Translator) -> str:
    t = translator
    if step in _STEP_LABELS:
        return t(_STEP_LABELS[step])
    number = step.rsplit("_", 1)[-1]
    if step.startswith("am_before_"):
        days = int(number)
        return t.ngettext(
            "{days} day before the action month", "{days} days before the action month", days
        ).format(days=days)
    if step.startswith("before_"):
        days = int(number)
        return t.ngettext(
            "{days} day before the deadline", "{days} days before the deadline", days
        ).format(days=days)
    if step.startswith("followup_"):
        return t("follow-up {number}", number=number)
    return step


def render_year(
    config: CalendarConfig,
    year: int,
    translator: Translator,
    *,
    extra_periods: Iterable[Period] = (),
) -> str:
    """Print the year's deadlines, action months, days off and planned reminders as plain text."""
    t = translator
    extra = list(extra_periods)
    periods = config.periods(year, extra=extra)
    months = config.action_months(year)
    lines = [t("Reporting calendar {year}", year=year), "", t("Report deadlines:")]
    lines += [f"- {line}" for line in _deadline_lines(config, periods, t)]
    lines += ["", t("Action months:")]
    lines += [
        "- "
        + t(
            "{name}: {start} to {end}",
            name=month.name(t.language),
            start=t.date(month.starts_on),
            end=t.date(month.ends_on),
        )
        for month in months
    ] or ["- " + t("none")]
    lines += ["", t("Days off (no reminders are sent):")]
    holiday_language = "vi" if t.language == "vi" else "en_US"
    extra_day_off = t("extra day off")
    lines += [
        f"- {t.date(day)}: {name or extra_day_off}"
        for day, name in config.working.days_off(year, holiday_language)
    ]
    lines += [
        "",
        t(
            "Planned reminders (at {time}, on working days only):",
            time=config.policy.send_time.strftime("%H:%M"),
        ),
    ]
    subjects = {period.key: period.label(t.language) for period in periods}
    month_names = {month.key: month.name(t.language) for month in months}
    plan = plan_year(config, year, extra_periods=extra)
    lines += [f"- {line}" for line in _reminder_lines(config, plan, subjects, month_names, t)]
    return "\n".join(lines) + "\n"


def _deadline_lines(config: CalendarConfig, periods: Iterable[Period], t: Translator) -> list[str]:
    return [
        t(
            "{report}: opens {opens}; due before {due} (on time until the end of {last_day})",
            report=period.label(t.language),
            opens=t.date(period.opens_on),
            due=t.short_date(period.due_display),
            last_day=t.short_date(config.deadline.last_day(period.due_at)),
        )
        for period in periods
    ]


def _reminder_lines(
    config: CalendarConfig,
    plan: Sequence[PlannedReminder],
    subjects: Mapping[str, str],
    month_names: Mapping[str, str],
    t: Translator,
) -> list[str]:
    digests: dict[str, list[PlannedReminder]] = {}
    for reminder in plan:
        if reminder.kind == DIGEST:
            digests.setdefault(reminder.period_key, []).append(reminder)
    lines: list[str] = []
    for reminder in plan:
        subject = subjects.get(reminder.period_key, reminder.period_key)
        if reminder.kind == ACTION_MONTH and reminder.step != STEP_AM_END:
            subject = month_names.get(reminder.period_key, subject)
        if reminder.kind == DIGEST:
            # A run of daily digests is one line: every working day from the first to the last.
            run = digests[reminder.period_key]
            if reminder is run[0]:
                lines.append(
                    t.ngettext(
                        "{first} to {last}: {subject}: daily list of late units"
                        " ({count} working day), to {audience}",
                        "{first} to {last}: {subject}: daily list of late units"
                        " ({count} working days), to {audience}",
                        len(run),
                    ).format(
                        first=t.datetime(run[0].send_at),
                        last=t.date(run[-1].send_at),
                        subject=subject,
                        count=len(run),
                        audience=t(_AUDIENCE_LABELS[OFFICE]),
                    )
                )
            continue
        line = t(
            "{when}: {subject}: {step} ({step_id}), to {audience}",
            when=t.datetime(reminder.send_at),
            subject=subject,
            step=_step_label(reminder.step, t),
            step_id=reminder.step,
            audience=t(_AUDIENCE_LABELS[reminder.audience]),
        )
        if reminder.nominal_on != reminder.send_at.astimezone(config.tz).date():
            line += " " + t("(moved from {date})", date=t.date(reminder.nominal_on))
        lines.append(line)
    return lines
