"""ZALO_* configuration: either channel or both; one line naming the variable, no secret."""

from __future__ import annotations

import pytest

from bot.settings import ConfigError, load_settings


def test_zalo_alone_and_defaults() -> None:
    settings = load_settings(TELEGRAM_BOT_TOKEN="", ZALO_BOT_TOKEN="12345:zalo-secret")
    assert settings.telegram_bot_token is None
    assert settings.zalo_bot_token is not None
    assert settings.zalo_api_base_url == "https://bot-api.zaloplatforms.com"
    assert settings.zalo_webhook_url is None  # polling
    assert settings.zalo_monthly_message_limit == 3000
    assert settings.zalo_max_users == 50
    assert settings.zalo_send_rate == 5
    assert settings.zalo_listen == ("127.0.0.1", 8443)  # behind a reverse proxy by default
    assert settings.zalo_bot_url is None and settings.public_base_url is None
    assert settings.files_listen == ("127.0.0.1", 8090)
    assert settings.secrets() == ["12345:zalo-secret"]


def test_links_pace_and_caps() -> None:
    settings = load_settings(
        ZALO_BOT_TOKEN="12345:zalo-secret",
        ZALO_MAX_USERS="0",
        ZALO_SEND_RATE="2.5",
        ZALO_BOT_URL="https://zalo.me/1234567890/",
        PUBLIC_BASE_URL="http://bot.example.vn:8090/",
        BOT_FILES_LISTEN="[::]:9000",
    )
    assert settings.zalo_max_users == 0  # no cap
    assert settings.zalo_send_rate == 2.5
    assert settings.zalo_bot_url == "https://zalo.me/1234567890"
    assert settings.public_base_url == "http://bot.example.vn:8090"
    assert settings.files_listen == ("::", 9000)
    blank = load_settings(ZALO_BOT_URL=" ", PUBLIC_BASE_URL="")
    assert blank.zalo_bot_url is None and blank.public_base_url is None


def test_webhook_settings() -> None:
    settings = load_settings(
        ZALO_BOT_TOKEN="12345:zalo-secret",
        ZALO_WEBHOOK_URL="https://bot.example.vn/hooks/zalo",
        ZALO_WEBHOOK_SECRET="a-good_secret-123",
        ZALO_WEBHOOK_LISTEN="127.0.0.1:8081",
    )
    assert settings.zalo_webhook_path == "/hooks/zalo"
    assert settings.zalo_listen == ("127.0.0.1", 8081)
    assert "a-good_secret-123" in settings.secrets()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"ZALO_BOT_TOKEN": "not-a-token"}, "ZALO_BOT_TOKEN: must look like"),
        ({"ZALO_WEBHOOK_URL": "https://x.vn/z"}, "ZALO_WEBHOOK_SECRET: must be set when"),
        ({"ZALO_WEBHOOK_SECRET": "short"}, "ZALO_WEBHOOK_SECRET: must be 8 to 256"),
        ({"ZALO_API_BASE_URL": "bot-api.zapps.me"}, "ZALO_API_BASE_URL: must start with"),
        ({"ZALO_MONTHLY_MESSAGE_LIMIT": "0"}, "ZALO_MONTHLY_MESSAGE_LIMIT:"),
        ({"ZALO_MAX_USERS": "-1"}, "ZALO_MAX_USERS:"),
        ({"ZALO_MAX_USERS": "many"}, "ZALO_MAX_USERS:"),
        ({"ZALO_SEND_RATE": "0"}, "ZALO_SEND_RATE:"),
        ({"ZALO_SEND_RATE": "fast"}, "ZALO_SEND_RATE:"),
        ({"ZALO_BOT_URL": "http://zalo.me/123"}, "ZALO_BOT_URL: must start with https://"),
        ({"ZALO_BOT_URL": "zalo.me/123"}, "ZALO_BOT_URL: must start with https://"),
        ({"ZALO_BOT_URL": "https://"}, "ZALO_BOT_URL: must be a URL with a host"),
        ({"PUBLIC_BASE_URL": "bot.example.vn"}, "PUBLIC_BASE_URL: must start with http"),
        ({"PUBLIC_BASE_URL": "https:///files"}, "PUBLIC_BASE_URL: must be a URL with a host"),
        ({"BOT_FILES_LISTEN": "8090"}, "BOT_FILES_LISTEN: must be HOST:PORT"),
        ({"ZALO_WEBHOOK_LISTEN": "127.0.0.1:99999"}, "ZALO_WEBHOOK_LISTEN: must be HOST:PORT"),
    ],
)
def test_bad_values_name_the_variable(values: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        load_settings(**values)
    assert "not-a-token" not in str(error.value) and "short" not in str(error.value)
