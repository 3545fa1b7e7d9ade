"""/calendar for everyone registered, /remind for the office."""

from __future__ import annotations

from datetime import date

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.context import BotContext
from domain.commands import Audience
from handlers.common import esc, reply, requires
from handlers.notifier import TelegramNotifier


@requires(Audience.REGISTERED)
async def calendar(update: Update, context: BotContext) -> None:
    """/calendar [year]: deadlines and action months (what is still to come, by default)."""
    t, services = context.t, context.services
    today = services.clock.now().astimezone(services.tz).date()
    year = int(context.args[0]) if context.args and context.args[0].isdigit() else None
    years = [year] if year else [today.year, today.year + 1]
    language = context.me.language
    deadlines: list[tuple[date, str]] = []
    months: list[tuple[date, str]] = []
    for each in years:
        for period in services.calendar.periods(each):
            if year or period.due_display >= today:
                deadlines.append(
                    (
                        period.due_display,
                        t(
                            "{report}: open from {opens}, due before {due}",
                            report=esc(period.label(language)),
                            opens=t.short_date(period.opens_on),
                            due=t.short_date(period.due_display),
                        ),
                    )
                )
        for month in services.calendar.action_months(each):
            if year or month.ends_on >= today:
                months.append(
                    (
                        month.starts_on,
                        t(
                            "{name}: {start} – {end}",
                            name=esc(month.name(language)),
                            start=t.date(month.starts_on),
                            end=t.date(month.ends_on),
                        ),
                    )
                )
    title = t("Calendar {year}", year=year) if year else t("Coming up")
    deadlines_title, months_title = t("Report deadlines:"), t("Action months:")
    lines = [f"<b>{title}</b>", "", f"<b>{deadlines_title}</b>"]
    lines += [f"• {text}" for _, text in sorted(deadlines)[:12]] or [t("none")]
    lines += ["", f"<b>{months_title}</b>"]
    lines += [f"• {text}" for _, text in sorted(months)[:6]] or [t("none")]
    await reply(update, "\n".join(lines))


@requires(Audience.OFFICE)
async def remind(update: Update, context: BotContext) -> None:
    """/remind [period]: remind the units that have not submitted, now (once a day per unit)."""
    t = context.t
    period = context.services.periods.resolve(context.args[0] if context.args else None)
    if period is None:
        await reply(update, t("There is no such report period. /periods lists them."))
        return
    reminded, already = await context.services.reminders.remind_now(
        period, TelegramNotifier(context.bot), actor=context.me.identity.actor
    )
    text = t(
        "{period}: reminded {count} units that have not submitted.",
        period=esc(period.label(context.me.language)),
        count=len(reminded),
    )
    if already:
        text += "\n" + t(
            "Already reminded today (not sent again): {units}", units=esc(", ".join(already))
        )
    await reply(update, text)


HANDLERS: list[BaseHandler[Update, BotContext, None]] = [
    CommandHandler("calendar", calendar),
    CommandHandler("remind", remind),
]
