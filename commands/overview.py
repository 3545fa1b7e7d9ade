"""The office's overview: /status (with a chart), /units, /audit."""

from __future__ import annotations

from commands.args import bounded_int
from commands.core import Request, command
from commands.people import say
from commands.texts import NO_PERIOD
from domain.audit_view import recent_actions
from domain.commands import Audience
from domain.conversation import FileOut, Outcome, Reply
from domain.i18n import N_
from domain.overview import (
    KINDS,
    STATES,
    CampaignStatus,
    campaign_status,
    kind_labels,
    state_labels,
)
from domain.rich import Rich, bold, code, join
from domain.units import roster

AUDIT_DEFAULT, AUDIT_MAX, AUDIT_MAX_PAGE = 20, 50, 10_000


@command(
    "status", N_("Where the reporting stands, with a chart"), Audience.OFFICE, usage="[period]"
)
async def status(req: Request) -> Outcome:
    """On time, late, in progress, not started per kind; who is missing; the channels' state."""
    t, language, services = req.t, req.language, req.services
    period = services.periods.resolve(req.args[0] if req.args else None)
    if period is None:
        return say(t(NO_PERIOD))
    overview = campaign_status(
        period, services.reporting.snapshots(period, submitted_answers=False)
    )
    states, kinds = state_labels(t), kind_labels(t)
    lines: list[str | Rich] = [
        bold(period.label(language))
        + " — "
        + t("due before {due}", due=t.short_date(period.due_display)),
        "",
    ]
    for kind in KINDS:
        if kind in overview.counts:
            counts = overview.counts[kind]
            lines.append(
                bold(kinds[kind]) + ": " + ", ".join(f"{states[s]} {counts[s]}" for s in STATES)
            )
    totals = overview.totals
    lines.append(
        bold(t("All units")) + ": " + ", ".join(f"{states[s]} {totals[s]}" for s in STATES)
    )
    if overview.missing:
        lines += ["", bold(t("Still missing ({count}):", count=len(overview.missing)))]
        lines += [
            f"• {s.unit.name(language)} ({s.unit.code}) — {states[s.status]}"
            for s in overview.missing
        ]
    for describe in req.runtime.status_lines:
        extra = describe(t)
        if extra:
            lines += ["", *extra]
    replies = [Reply(join("\n", lines), expects_text=False)]
    if req.runtime.workshop is not None:
        chart_data = CampaignStatus(period, overview.counts)  # the counts are all it draws
        chart = await req.runtime.workshop.status_chart(chart_data, language)
        replies.append(
            Reply(
                "",
                expects_text=False,
                file=FileOut("status.png", chart, picture=True, caption=period.label(language)),
            )
        )
    return Outcome(replies)


@command("units", N_("Units, focal points and reachability"), Audience.OFFICE, usage="[kind]")
async def units(req: Request) -> Outcome:
    """Units, their focal points (with their channel), last activity and reachability."""
    t, language = req.t, req.language
    kind = req.args[0].lower() if req.args else None
    if kind is not None and kind not in KINDS:
        return say(t("Kinds: {kinds}.", kinds=", ".join(KINDS)))
    lines: list[str | Rich] = []
    without = 0
    for unit in roster(req.services.db, kind):
        name = bold(unit.name(language)) + " " + code(unit.code)
        if not unit.focal_points:
            without += 1
            lines.append("⚠️ " + name + ": " + t("no focal point — /invite {code}", code=unit.code))
            continue
        people = []
        for point in unit.focal_points:
            seen = t.short_date(point.last_seen_at) if point.last_seen_at else "—"
            mark = "" if point.reachable else " ⛔ " + t("unreachable")
            people.append(
                t(
                    "{name} ({channel}, last seen {seen}){mark}",
                    name=point.name,
                    channel=point.channel,
                    seen=seen,
                    mark=mark,
                )
            )
        lines.append("✅ " + name + ": " + "; ".join(people))
    header = t("{count} units, {without} without a focal point.", count=len(lines), without=without)
    return say(join("\n", [header, *lines]))


@command("audit", N_("Recent admin actions"), Audience.OFFICE, usage="[n] [page]")
async def audit(req: Request) -> Outcome:
    """The last admin actions, at most 50 a page: a long log is read page by page, never
    built into one huge reply."""
    t = req.t
    limit, page = AUDIT_DEFAULT, 1
    if req.args:
        wanted = bounded_int(req.args[0], 1, AUDIT_MAX)
        if wanted is None:
            return say(t("Please give a number from 1 to {max}, e.g. /audit 20.", max=AUDIT_MAX))
        limit = wanted
    if len(req.args) > 1:
        wanted = bounded_int(req.args[1], 1, AUDIT_MAX_PAGE)
        if wanted is None:
            return say(
                t(
                    "Please give a page from 1 to {max}, e.g. /audit 20 2 for the 20 before "
                    "the last 20.",
                    max=AUDIT_MAX_PAGE,
                )
            )
        page = wanted
    found = recent_actions(req.services.db, limit + 1, skip=(page - 1) * limit)
    entries = found[:limit]
    if not entries:
        return say(t("No actions recorded yet.") if page == 1 else t("No older actions."))
    lines: list[str | Rich] = [
        f"{t.datetime(entry.at)} — {entry.actor}: " + code(entry.action) + f" {entry.target}"
        for entry in entries
    ]
    if len(found) > limit and page < AUDIT_MAX_PAGE:
        lines.append(t("Older actions: /audit {n} {page}", n=limit, page=page + 1))
    return say(join("\n", lines))
