"""Run the bot for real: long polling against Telegram or TELEGRAM_API_BASE_URL."""

from __future__ import annotations

from bot.app import allowed_updates, build_application
from bot.logging_setup import configure_logging
from bot.runtime import open_database, services_for
from bot.settings import Settings


def run_polling(settings: Settings) -> None:
    assert settings.telegram_bot_token is not None
    configure_logging([settings.telegram_bot_token.get_secret_value()])
    db = open_database(settings)
    services = services_for(settings, db)
    services.units.ensure_default_catalogue()
    application = build_application(settings, services)
    application.run_polling(allowed_updates=allowed_updates())
