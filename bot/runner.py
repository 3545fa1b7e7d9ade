"""Run the bot for real: long polling against Telegram or TELEGRAM_API_BASE_URL, or a webhook.

Both go through ``bot.zalo_runner.serve`` (with Zalo too when ZALO_BOT_TOKEN is set), so that
every channel's update loop is watched, ``python -m bot health`` can read a heartbeat and the
process holds the database's lock: see ``bot.supervision``. The exit status is the process's:
0 after a stop asked for, non-zero when an update loop kept stopping or a token was refused.
"""

from __future__ import annotations

from bot.settings import Settings


def run_webhook(settings: Settings) -> int:
    """Receive updates on a webhook behind a reverse proxy; Telegram's secret header is required.

    PTB's webhook server answers 403 to a request without the right
    ``X-Telegram-Bot-Api-Secret-Token`` header, so only Telegram can deliver updates.
    """
    assert settings.telegram_bot_token is not None
    assert settings.telegram_webhook_url is not None
    assert settings.telegram_webhook_secret is not None
    from bot.zalo_runner import run_channels

    return run_channels(settings, telegram_webhook=True)


def run_polling(settings: Settings) -> int:
    """Telegram alone, or Telegram and Zalo in one process when a Zalo token is set."""
    from bot.zalo_runner import run_channels

    return run_channels(settings)
