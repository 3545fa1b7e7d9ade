"""Command menus (setMyCommands) per role and language. Cosmetic: handlers re-check roles."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, BotCommandScopeAllPrivateChats, BotCommandScopeChat
from telegram.error import TelegramError

from commands.dispatch import commands_for
from domain.commands import Audience
from domain.i18n import LANGUAGES, translator_for
from domain.identity import UserContext

log = logging.getLogger(__name__)


def _menu(audience: Audience, language: str) -> list[BotCommand]:
    t = translator_for(language)
    return [BotCommand(spec.name, t(spec.description)[:256]) for spec in commands_for(audience)]


async def set_default_menus(bot: Bot) -> None:
    """The menu every private chat sees, in Vietnamese and (for English apps) in English."""
    scope = BotCommandScopeAllPrivateChats()
    await bot.set_my_commands(_menu(Audience.REGISTERED, "vi"), scope=scope)
    for language in LANGUAGES:
        if language != "vi":
            await bot.set_my_commands(
                _menu(Audience.REGISTERED, language), scope=scope, language_code=language
            )


async def refresh_chat_menu(bot: Bot, user: UserContext) -> None:
    """Give office staff and admins their own menu in their chosen language."""
    if user.is_admin:
        audience = Audience.ADMIN
    elif user.is_office:
        audience = Audience.OFFICE
    else:
        audience = None
    scope = BotCommandScopeChat(int(user.identity.chat_id))
    try:
        if audience is None:
            await bot.delete_my_commands(scope=scope)
        else:
            await bot.set_my_commands(_menu(audience, user.language), scope=scope)
    except TelegramError as error:  # a menu is never worth failing the user's request
        log.warning("could not set the menu of chat %s: %s", user.identity.chat_id, error)
