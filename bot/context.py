"""A typed callback context: services, the writer and their translator as properties."""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, CallbackContext, ExtBot

from domain.i18n import Translator, translator_for
from domain.identity import UserContext
from domain.services import Services

SERVICES_KEY = "services"
TIMEZONE_KEY = "tz"
USER_KEY = "user"
RUNTIME_KEY = "runtime"  # commands.core.Runtime: what the command layer may use


class BotContext(CallbackContext[ExtBot[None], dict[Any, Any], dict[Any, Any], dict[Any, Any]]):
    """``context.services``, ``context.me`` and ``context.t`` instead of dict look-ups."""

    @property
    def services(self) -> Services:
        services = self.bot_data[SERVICES_KEY]
        assert isinstance(services, Services)
        return services

    @property
    def me(self) -> UserContext:
        """The writer of the current update, loaded by the guard in group -1."""
        assert self.user_data is not None
        user = self.user_data.get(USER_KEY)
        if not isinstance(user, UserContext):
            raise LookupError("no user loaded for this update")
        return user

    @property
    def t(self) -> Translator:
        language = None
        if self.user_data is not None and isinstance(self.user_data.get(USER_KEY), UserContext):
            language = self.me.language
        return translator_for(language, self.bot_data.get(TIMEZONE_KEY))


BotApplication = Application[
    ExtBot[None], BotContext, dict[Any, Any], dict[Any, Any], dict[Any, Any], Any
]
