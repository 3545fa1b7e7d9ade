"""Office commands: /answers, /export, /periods; the admin's /reopen and /adhoc."""

from __future__ import annotations

from datetime import timedelta

from commands.args import bounded_int, parse_date
from commands.core import Request, command
from commands.people import say
from commands.texts import NO_PERIOD
from domain.commands import Audience
from domain.conversation import FileOut, Outcome, Reply
from domain.errors import DomainError
from domain.forms import engine
from domain.i18n import N_
from domain.lifecycle import person_name
from domain.periods import PeriodView
from domain.rich import Rich, bold, code, join

REOPEN_DEFAULT_DAYS, REOPEN_MAX_DAYS = 7, 366


def _period(req: Request, index: int) -> PeriodView | None:
    return req.services.periods.resolve(req.args[index] if len(req.args) > index else None)


@command("periods", N_("Report periods and their keys"), Audience.OFFICE)
async def periods(req: Request) -> Outcome:
    """The report periods and their keys (for /answers, /export, /status)."""
    t = req.t
    lines: list[str | Rich] = [t("Report periods:")]
    for period in req.services.periods.all()[:80]:
        lines.append(
            code(period.key)
            + f" — {period.label(req.language)} "
            + t("(due before {due})", due=t.short_date(period.due_display))
        )
    return say(join("\n", lines))


@command("answers", N_("A unit's answers"), Audience.OFFICE, usage="<unit-code> [period]")
async def answers(req: Request) -> Outcome:
    """A unit's answers for a period."""
    t = req.t
    if not req.args:
        return say(t("Usage: /answers <unit-code> [period], e.g. /answers so-y-te six_month:2023"))
    period = _period(req, 1)
    if period is None:
        return say(t(NO_PERIOD))
    try:
        snapshot = req.services.reporting.snapshot(req.args[0].lower(), period)
    except DomainError as error:
        return say(error.text.render(t))
    language = req.language
    form = req.services.reporting.form(period.form_key)
    status = {
        "submitted": t(
            "submitted (version {version}) on {when} by {person}",
            version=snapshot.version,
            when=t.datetime(snapshot.submitted_at) if snapshot.submitted_at else "",
            person=person_name(snapshot.submitted_by, t),
        ),
        "draft": t("in progress (draft)"),
        "not_started": t("not started"),
    }[snapshot.status]
    if snapshot.late:
        status += " — " + t("late")
    lines = [
        f"{label}: {value}"
        for label, value in engine.review_lines(
            form, snapshot.unit.kind, snapshot.answers, language
        )
    ]
    header = bold(snapshot.unit.name(language)) + f" — {period.label(language)}\n{status}"
    return say(header + "\n\n" + ("\n".join(lines) or t("No answers yet.")))


@command("export", N_("Excel file of every unit's report"), Audience.OFFICE, usage="[period]")
async def export(req: Request) -> Outcome:
    """The consolidated .xlsx (built in a child process: seconds for 10,000 units)."""
    t = req.t
    period = _period(req, 0)
    if period is None:
        return say(t(NO_PERIOD))
    workshop = req.runtime.workshop
    if workshop is None:
        return say(t("Exports are not available here; try again later."))
    result = await workshop.export(period.key, req.language, req.services.clock.now())
    caption = t(
        "{period}: {done} of {total} units have submitted.",
        period=period.label(req.language),
        done=result.submitted,
        total=result.total,
    )
    name = f"{period.key.replace(':', '-')}.xlsx"
    return Outcome(
        [Reply("", expects_text=False, file=FileOut(name, result.content, caption=caption))]
    )


@command(
    "reopen",
    N_("Let a unit amend after the deadline"),
    Audience.ADMIN,
    usage="<unit-code> [period] [days]",
)
async def reopen(req: Request) -> Outcome:
    """Let a unit amend its report after the deadline, for some days."""
    t, args = req.t, req.args
    if not args:
        return say(t("Usage: /reopen <unit-code> [period] [days, default 7]"))
    period = _period(req, 1)
    if period is None:
        return say(t(NO_PERIOD))
    days = bounded_int(args[2], 1, REOPEN_MAX_DAYS) if len(args) > 2 else REOPEN_DEFAULT_DAYS
    if days is None:
        return say(t("Please give a number of days from 1 to {max}.", max=REOPEN_MAX_DAYS))
    until = req.services.clock.now() + timedelta(days=days)
    try:
        req.services.reporting.reopen(args[0].lower(), period, until, actor=req.actor)
    except DomainError as error:
        return say(error.text.render(t))
    return say(
        t.rich(
            "Reopened {code} for {period} until {until}.",
            code=code(args[0]),
            period=period.label(req.language),
            until=t.datetime(until),
        )
    )


@command("adhoc", N_("Request an ad-hoc report"), Audience.ADMIN, usage="<dd/mm/yyyy> <title>")
async def adhoc(req: Request) -> Outcome:
    """An ad-hoc report request to every unit."""
    t, args = req.t, req.args
    due = parse_date(args[0]) if args else None
    if due is None or len(args) < 2:
        return say(
            t("Usage: /adhoc <deadline dd/mm/yyyy> <title>, e.g. /adhoc 15/7/2023 Báo cáo nhanh")
        )
    try:
        period = req.services.periods.add_ad_hoc(
            title=" ".join(args[1:]), due_display=due, actor=req.actor
        )
    except DomainError as error:
        return say(error.text.render(t))
    return say(
        t.rich(
            "Ad-hoc request {key} created: {title}, due before {due}.",
            key=code(period.key),
            title=period.label_vi,
            due=t.short_date(period.due_display),
        )
    )
