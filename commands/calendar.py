"""/calendar for everyone registered, /remind for the office."""

from __future__ import annotations

from datetime import date

from commands.args import bounded_int
from commands.core import Request, command
from commands.people import say
from commands.texts import NO_PERIOD
from domain.commands import Audience
from domain.conversation import Outcome
from domain.i18n import N_
from domain.rich import Rich, bold, join

# Years the calendar can be asked about; outside, the reply says so instead of failing.
FIRST_YEAR, LAST_YEAR = 2000, 2100


@command(
    "calendar",
    N_("Deadlines and action months"),
    Audience.REGISTERED,
    usage="[year]",
    aliases=("lich",),
)
async def calendar(req: Request) -> Outcome:
    """Deadlines and action months (what is still to come, by default)."""
    t, services, language = req.t, req.services, req.language
    today = services.clock.now().astimezone(services.tz).date()
    year: int | None = None
    if req.args:
        year = bounded_int(req.args[0], FIRST_YEAR, LAST_YEAR)
        if year is None:
            return say(
                t(
                    "Please give a year between {first} and {last}, e.g. /calendar 2024.",
                    first=FIRST_YEAR,
                    last=LAST_YEAR,
                )
            )
    deadlines: list[tuple[date, str]] = []
    months: list[tuple[date, str]] = []
    for each in [year] if year else [today.year, today.year + 1]:
        for period in services.calendar.periods(each):
            if year or period.due_display >= today:
                line = t(
                    "{report}: open from {opens}, due before {due}",
                    report=period.label(language),
                    opens=t.short_date(period.opens_on),
                    due=t.short_date(period.due_display),
                )
                deadlines.append((period.due_display, line))
        for month in services.calendar.action_months(each):
            if year or month.ends_on >= today:
                line = t(
                    "{name}: {start} – {end}",
                    name=month.name(language),
                    start=t.date(month.starts_on),
                    end=t.date(month.ends_on),
                )
                months.append((month.starts_on, line))
    title = t("Calendar {year}", year=year) if year else t("Coming up")
    lines: list[str | Rich] = [bold(title), "", bold(t("Report deadlines:"))]
    lines += [f"• {text}" for _, text in sorted(deadlines)[:12]] or [t("none")]
    lines += ["", bold(t("Action months:"))]
    lines += [f"• {text}" for _, text in sorted(months)[:6]] or [t("none")]
    return say(join("\n", lines))


@command("remind", N_("Remind units that have not submitted"), Audience.OFFICE, usage="[period]")
async def remind(req: Request) -> Outcome:
    """Remind the units that have not submitted, now, on each person's channel."""
    t = req.t
    period = req.services.periods.resolve(req.args[0] if req.args else None)
    if period is None:
        return say(t(NO_PERIOD))
    reminded, already = await req.services.reminders.remind_now(
        period, req.runtime.router, actor=req.actor
    )
    text = t(
        "{period}: reminded {count} units that have not submitted.",
        period=period.label(req.language),
        count=len(reminded),
    )
    if already:
        text += "\n" + t(
            "Already reminded today (not sent again): {units}", units=", ".join(already)
        )
    return say(text)
