"""Run the bot for real: long polling against Telegram or TELEGRAM_API_BASE_URL."""

from __future__ import annotations

from bot.app import WARM_CHARTS_KEY, allowed_updates, build_application
from bot.logging_setup import configure_logging
from bot.runtime import open_database, services_for
from bot.settings import Settings


def run_webhook(settings: Settings) -> None:
    """Receive updates on a webhook behind a reverse proxy; Telegram's secret header is required.

    PTB's webhook server answers 403 to a request without the right
    ``X-Telegram-Bot-Api-Secret-Token`` header, so only Telegram can deliver updates.
    """
    assert settings.telegram_bot_token is not None
    assert settings.telegram_webhook_url is not None
    assert settings.telegram_webhook_secret is not None
    configure_logging(settings.secrets())
    db = open_database(settings)
    services = services_for(settings, db)
    services.units.ensure_default_catalogue()
    application = build_application(settings, services)
    application.bot_data[WARM_CHARTS_KEY] = True
    host, port = settings.telegram_listen
    application.run_webhook(
        listen=host,
        port=port,
        url_path=settings.telegram_webhook_path,
        webhook_url=settings.telegram_webhook_url,
        secret_token=settings.telegram_webhook_secret.get_secret_value(),
        allowed_updates=allowed_updates(),
    )


def run_polling(settings: Settings) -> None:
    """Telegram alone, or Telegram and Zalo in one process when a Zalo token is set."""
    if settings.zalo_bot_token is not None:
        from bot.zalo_runner import run_channels

        run_channels(settings)
        return
    assert settings.telegram_bot_token is not None
    configure_logging(settings.secrets())
    db = open_database(settings)
    services = services_for(settings, db)
    services.units.ensure_default_catalogue()
    application = build_application(settings, services)
    application.bot_data[WARM_CHARTS_KEY] = True
    application.run_polling(allowed_updates=allowed_updates())
