"""The office's overview: /status (with a chart), /units, /audit."""

from __future__ import annotations

from telegram import InputFile, Update
from telegram.ext import BaseHandler, CommandHandler

from bot.context import BotContext
from bot.isolated import build_status_chart, run_isolated
from domain.audit_view import recent_actions
from domain.commands import Audience
from domain.overview import (
    KINDS,
    STATES,
    CampaignStatus,
    campaign_status,
    kind_labels,
    state_labels,
)
from domain.units import roster
from handlers.common import esc, reply, requires
from handlers.render import MAX_MESSAGE_CHARS, split_text


@requires(Audience.OFFICE)
async def status(update: Update, context: BotContext) -> None:
    """/status [period]: on time, late, in progress, not started per kind; who is missing."""
    t, language = context.t, context.me.language
    period = context.services.periods.resolve(context.args[0] if context.args else None)
    if period is None:
        await reply(update, t("There is no such report period. /periods lists them."))
        return
    overview = campaign_status(
        period, context.services.reporting.snapshots(period, submitted_answers=False)
    )
    states, kinds = state_labels(t), kind_labels(t)
    lines = [
        f"<b>{esc(period.label(language))}</b> — "
        + t("due before {due}", due=t.short_date(period.due_display)),
        "",
    ]
    for kind in KINDS:
        if kind in overview.counts:
            counts = overview.counts[kind]
            parts = ", ".join(f"{states[s]} {counts[s]}" for s in STATES)
            lines.append(f"<b>{kinds[kind]}</b>: {parts}")
    totals = overview.totals
    lines.append(
        "<b>" + t("All units") + "</b>: " + ", ".join(f"{states[s]} {totals[s]}" for s in STATES)
    )
    if overview.missing:
        missing_title = t("Still missing ({count}):", count=len(overview.missing))
        lines += ["", f"<b>{missing_title}</b>"]
        lines += [
            f"• {esc(s.unit.name(language))} ({esc(s.unit.code)}) — {states[s.status]}"
            for s in overview.missing
        ]
    chunks = split_text("\n".join(lines), MAX_MESSAGE_CHARS)
    for chunk in chunks:
        await reply(update, chunk)
    message = update.effective_message
    assert message is not None
    chart_data = CampaignStatus(period, overview.counts)  # the counts are all it draws
    chart = await run_isolated(build_status_chart, chart_data, language)
    await message.reply_photo(
        InputFile(chart, filename="status.png"),
        caption=esc(period.label(language)),
    )


@requires(Audience.OFFICE)
async def units(update: Update, context: BotContext) -> None:
    """/units [kind]: units, their focal points, last activity and reachability."""
    t, language = context.t, context.me.language
    kind = context.args[0].lower() if context.args else None
    if kind is not None and kind not in KINDS:
        await reply(update, t("Kinds: {kinds}.", kinds=", ".join(KINDS)))
        return
    lines: list[str] = []
    without = 0
    for unit in roster(context.services.db, kind):
        name = f"<b>{esc(unit.name(language))}</b> <code>{esc(unit.code)}</code>"
        if not unit.focal_points:
            without += 1
            lines.append(f"⚠️ {name}: " + t("no focal point — /invite {code}", code=esc(unit.code)))
            continue
        people = []
        for point in unit.focal_points:
            seen = t.short_date(point.last_seen_at) if point.last_seen_at else "—"
            mark = "" if point.reachable else " ⛔ " + t("unreachable")
            people.append(
                t(
                    "{name} ({channel}, last seen {seen}){mark}",
                    name=esc(point.name),
                    channel=point.channel,
                    seen=seen,
                    mark=mark,
                )
            )
        lines.append(f"✅ {name}: " + "; ".join(people))
    lines.insert(
        0, t("{count} units, {without} without a focal point.", count=len(lines), without=without)
    )
    for chunk in split_text("\n".join(lines), MAX_MESSAGE_CHARS):
        await reply(update, chunk)


@requires(Audience.OFFICE)
async def audit(update: Update, context: BotContext) -> None:
    """/audit [n]: the last admin actions."""
    t = context.t
    limit = int(context.args[0]) if context.args and context.args[0].isdigit() else 20
    entries = recent_actions(context.services.db, limit)
    if not entries:
        await reply(update, t("No actions recorded yet."))
        return
    lines = [
        f"{t.datetime(entry.at)} — {esc(entry.actor)}: "
        f"<code>{esc(entry.action)}</code> {esc(entry.target)}"
        for entry in entries
    ]
    for chunk in split_text("\n".join(lines), MAX_MESSAGE_CHARS):
        await reply(update, chunk)


HANDLERS: list[BaseHandler[Update, BotContext, None]] = [
    CommandHandler("status", status),
    CommandHandler("units", units),
    CommandHandler("audit", audit),
]
