"""Office commands: /answers, /export, /reopen, /adhoc."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from telegram import InputFile, Update
from telegram.ext import BaseHandler, CommandHandler

from bot.context import DATA_SOURCE_KEY, BotContext
from bot.isolated import ExportJob, build_export, run_isolated
from domain.commands import Audience
from domain.errors import DomainError
from domain.forms import engine
from domain.periods import PeriodView
from handlers.common import esc, reply, requires
from handlers.render import MAX_MESSAGE_CHARS, split_text


def _period(context: BotContext, text: str | None) -> PeriodView | None:
    return context.services.periods.resolve(text)


@requires(Audience.OFFICE)
async def answers(update: Update, context: BotContext) -> None:
    """/answers <unit-code> [period]: a unit's answers for a period."""
    t, args = context.t, context.args or []
    if not args:
        await reply(
            update,
            t("Usage: /answers &lt;unit-code&gt; [period], e.g. /answers so-y-te six_month:2023"),
        )
        return
    period = _period(context, args[1] if len(args) > 1 else None)
    if period is None:
        await reply(update, t("There is no such report period. /periods lists them."))
        return
    try:
        snapshot = context.services.reporting.snapshot(args[0].lower(), period)
    except DomainError as error:
        await reply(update, error.text.render(t))
        return
    language = context.me.language
    form = context.services.reporting.form(period.form_key)
    status = {
        "submitted": t(
            "submitted (version {version}) on {when} by {person}",
            version=snapshot.version,
            when=t.datetime(snapshot.submitted_at) if snapshot.submitted_at else "",
            person=snapshot.submitted_by or "",
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
    header = (
        f"<b>{esc(snapshot.unit.name(language))}</b> — {esc(period.label(language))}\n{esc(status)}"
    )
    chunks = split_text("\n".join(lines) or t("No answers yet."), MAX_MESSAGE_CHARS - 400)
    await reply(update, f"{header}\n\n{esc(chunks[0])}")
    for chunk in chunks[1:]:
        await reply(update, esc(chunk))


@requires(Audience.OFFICE)
async def export(update: Update, context: BotContext) -> None:
    """/export [period]: the consolidated .xlsx."""
    t = context.t
    period = _period(context, context.args[0] if context.args else None)
    if period is None:
        await reply(update, t("There is no such report period. /periods lists them."))
        return
    job = ExportJob(
        context.bot_data[DATA_SOURCE_KEY],
        period.key,
        context.me.language,
        context.services.clock.now(),
    )
    result = await run_isolated(build_export, job)  # seconds for 10,000 units: not in the bot
    message = update.effective_message
    assert message is not None
    await message.reply_document(
        InputFile(result.content, filename=f"{period.key.replace(':', '-')}.xlsx"),
        caption=t(
            "{period}: {done} of {total} units have submitted.",
            period=esc(period.label(context.me.language)),
            done=result.submitted,
            total=result.total,
        ),
    )


@requires(Audience.OFFICE)
async def periods(update: Update, context: BotContext) -> None:
    """/periods: the report periods and their keys (for /answers, /export)."""
    t = context.t
    lines = [t("Report periods:")]
    for period in context.services.periods.all():
        lines.append(
            f"<code>{esc(period.key)}</code> — {esc(period.label(context.me.language))} "
            + t("(due before {due})", due=t.short_date(period.due_display))
        )
    await reply(update, "\n".join(lines[:80]))


@requires(Audience.ADMIN)
async def reopen(update: Update, context: BotContext) -> None:
    """/reopen <unit-code> [period] [days]: let a unit amend after the deadline."""
    t, args = context.t, context.args or []
    if not args:
        await reply(update, t("Usage: /reopen &lt;unit-code&gt; [period] [days, default 7]"))
        return
    period = _period(context, args[1] if len(args) > 1 else None)
    if period is None:
        await reply(update, t("There is no such report period. /periods lists them."))
        return
    days = int(args[2]) if len(args) > 2 and args[2].isdigit() else 7
    until = context.services.clock.now() + timedelta(days=days)
    try:
        context.services.reporting.reopen(
            args[0].lower(), period, until, actor=context.me.identity.actor
        )
    except DomainError as error:
        await reply(update, error.text.render(t))
        return
    await reply(
        update,
        t(
            "Reopened {code} for {period} until {until}.",
            code=esc(args[0]),
            period=esc(period.label(context.me.language)),
            until=t.datetime(until),
        ),
    )


@requires(Audience.ADMIN)
async def adhoc(update: Update, context: BotContext) -> None:
    """/adhoc <dd/mm/yyyy> <title>: an ad-hoc report request to every unit."""
    t, args = context.t, context.args or []
    due = _parse_date(args[0]) if args else None
    if due is None or len(args) < 2:
        await reply(
            update,
            t(
                "Usage: /adhoc &lt;deadline dd/mm/yyyy&gt; &lt;title&gt;, "
                "e.g. /adhoc 15/7/2023 Báo cáo nhanh"
            ),
        )
        return
    try:
        period = context.services.periods.add_ad_hoc(
            title=" ".join(args[1:]), due_display=due, actor=context.me.identity.actor
        )
    except DomainError as error:
        await reply(update, error.text.render(t))
        return
    await reply(
        update,
        t(
            "Ad-hoc request <code>{key}</code> created: {title}, due before {due}.",
            key=esc(period.key),
            title=esc(period.label_vi),
            due=t.short_date(period.due_display),
        ),
    )


def _parse_date(text: str) -> date | None:
    for fmt in ("%d/%m/%Y", "%d-%m-%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).date()  # noqa: DTZ007 (a calendar date, no time)
        except ValueError:
            continue
    return None


HANDLERS: list[BaseHandler[Update, BotContext, None]] = [
    CommandHandler("answers", answers),
    CommandHandler("export", export),
    CommandHandler("periods", periods),
    CommandHandler("reopen", reopen),
    CommandHandler("adhoc", adhoc),
]
