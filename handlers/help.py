"""/help, /whoami, /lang and the reply to anything no other handler took."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, MessageHandler, filters

from bot.context import USER_KEY, BotContext
from domain.commands import Audience, commands_for
from domain.errors import DomainError
from domain.i18n import LANGUAGES, Translator
from domain.identity import UserContext
from handlers.common import esc, identity_of, reply, requires
from handlers.menus import refresh_chat_menu
from storage.models import Role


def help_text(me: UserContext, t: Translator) -> str:
    """The commands this person may use, one a line."""
    lines = [t("What you can do:")]
    for spec in commands_for(me):
        usage = f" {esc(spec.usage)}" if spec.usage else ""
        lines.append(f"/{spec.name}{usage} — {t(spec.description)}")
    if not me.is_registered:
        lines += [
            "",
            t("To register, open the invite link that the standing office sent to your unit."),
        ]
    return "\n".join(lines)


async def help_command(update: Update, context: BotContext) -> None:
    await reply(update, help_text(context.me, context.t))


@requires(Audience.REGISTERED)
async def whoami(update: Update, context: BotContext) -> None:
    """Show unit(s) and role(s), so a focal point can check they are set up right."""
    me, t = context.me, context.t
    lines = [
        t(
            "<b>{name}</b> (Telegram id {id})",
            name=esc(me.identity.display_name),
            id=me.identity.external_id,
        )
    ]
    for unit in me.units:
        lines.append(
            t(
                "Focal point of: {unit} ({code})",
                unit=esc(unit.name(me.language)),
                code=esc(unit.code),
            )
        )
    role_names = {Role.ADMIN: t("administrator"), Role.OFFICE: t("standing office staff")}
    for role in sorted(me.roles):
        lines.append(t("Role: {role}", role=role_names[role]))
    lines.append(
        t("Language: {language}", language=t("Vietnamese") if me.language == "vi" else t("English"))
    )
    await reply(update, "\n".join(lines))


async def lang(update: Update, context: BotContext) -> None:
    """/lang vi|en: switch the language of everything the bot says to this person."""
    me = context.me
    choice = (context.args[0].lower() if context.args else "").strip()
    if choice not in LANGUAGES:
        await reply(
            update, context.t("Choose a language: /lang vi (Tiếng Việt) or /lang en (English).")
        )
        return
    try:
        context.services.accounts.set_language(me.account_id, choice)
    except DomainError as error:
        await reply(update, error.text.render(context.t))
        return
    identity = identity_of(update)
    assert identity is not None and context.user_data is not None
    context.user_data[USER_KEY] = context.services.accounts.load(identity)
    await refresh_chat_menu(context.bot, context.me)
    await reply(update, context.t("Done: I will speak English with you."))


async def fallback(update: Update, context: BotContext) -> None:
    """Anything no handler took: a short pointer to /help, never silence."""
    me, t = context.me, context.t
    if not me.is_registered:
        await reply(
            update,
            t(
                "I can only help registered focal points. Please open the invite link the "
                "standing office sent to your unit, or ask them for one."
            ),
        )
        return
    await reply(update, t("Sorry, I did not understand. Type /help to see what I can do."))


HANDLERS: list[BaseHandler[Update, BotContext, None]] = [
    CommandHandler("help", help_command),
    CommandHandler("whoami", whoami),
    CommandHandler("lang", lang),
]

FALLBACK_HANDLERS: list[BaseHandler[Update, BotContext, None]] = [
    MessageHandler(filters.ALL, fallback),
]
