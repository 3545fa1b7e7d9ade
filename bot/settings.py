"""Configuration: the one place that reads the environment (and an optional ``.env``)."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///data/vstbpn.sqlite3"
SUPPORTED_LOCALES = ("vi", "en")
DEFAULT_ZALO_API_BASE_URL = "https://bot-api.zaloplatforms.com"
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{8,256}")
_TELEGRAM_SECRET = re.compile(r"[A-Za-z0-9_-]{16,256}")


class ConfigError(Exception):
    """Invalid configuration, described in one line that names the variable."""


class Settings(BaseSettings):
    """Everything the bot needs from its environment, validated once at start."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", populate_by_name=True
    )

    telegram_bot_token: SecretStr | None = Field(default=None, alias="TELEGRAM_BOT_TOKEN")
    telegram_api_base_url: str = Field(
        default="https://api.telegram.org/bot", alias="TELEGRAM_API_BASE_URL"
    )
    telegram_api_base_file_url: str | None = Field(default=None, alias="TELEGRAM_API_BASE_FILE_URL")
    database_url: str = Field(default=DEFAULT_DATABASE_URL, alias="DATABASE_URL")
    admin_ids: Annotated[tuple[int, ...], NoDecode] = Field(default=(), alias="BOT_ADMIN_IDS")
    timezone: str = Field(default="Asia/Ho_Chi_Minh", alias="BOT_TIMEZONE")
    locale: str = Field(default="vi", alias="BOT_LOCALE")
    invite_ttl_days: int = Field(default=14, ge=1, le=365, alias="BOT_INVITE_TTL_DAYS")
    # Announcements' overall pace; Telegram allows about 30/s, leave room for replies.
    broadcast_rate: float = Field(default=25, gt=0, le=1000, alias="BOT_BROADCAST_RATE")
    # How often the scheduler looks for due reminders and retries ones a fault held back.
    reminder_interval_seconds: int = Field(
        default=60, ge=1, le=3600, alias="BOT_REMINDER_INTERVAL_SECONDS"
    )
    # A token bucket per sender before any database work (``domain.fairness``): strangers'
    # floods are dropped, a registered person typing faster than a person can is paced.
    fairness: bool = Field(default=True, alias="BOT_FAIRNESS")
    # Inbound message texts (the inbox's copies of updates) are deleted after this many days.
    retention_days: int = Field(default=90, ge=1, le=3650, alias="BOT_RETENTION_DAYS")
    forms_dir: Path | None = Field(default=None, alias="BOT_FORMS_DIR")
    calendar_file: Path | None = Field(default=None, alias="BOT_CALENDAR_FILE")
    # Telegram webhook mode (`python -m bot run --webhook`, behind a reverse proxy).
    telegram_webhook_url: str | None = Field(default=None, alias="TELEGRAM_WEBHOOK_URL")
    telegram_webhook_secret: SecretStr | None = Field(default=None, alias="TELEGRAM_WEBHOOK_SECRET")
    telegram_webhook_listen: str = Field(default="127.0.0.1:8080", alias="TELEGRAM_WEBHOOK_LISTEN")
    # Zalo (either channel, or both, may be enabled): polling unless ZALO_WEBHOOK_URL is set.
    zalo_bot_token: SecretStr | None = Field(default=None, alias="ZALO_BOT_TOKEN")
    zalo_api_base_url: str = Field(default=DEFAULT_ZALO_API_BASE_URL, alias="ZALO_API_BASE_URL")
    zalo_webhook_url: str | None = Field(default=None, alias="ZALO_WEBHOOK_URL")
    zalo_webhook_secret: SecretStr | None = Field(
        default=None, alias="ZALO_WEBHOOK_SECRET", validate_default=True
    )
    # Loopback by default: a reverse proxy in front terminates TLS for Zalo.
    zalo_webhook_listen: str = Field(default="127.0.0.1:8443", alias="ZALO_WEBHOOK_LISTEN")
    zalo_monthly_message_limit: int = Field(
        default=3000, ge=1, le=10_000_000, alias="ZALO_MONTHLY_MESSAGE_LIMIT"
    )
    # The free plan is reported to allow 50 users per bot; 0 switches the count off.
    zalo_max_users: int = Field(default=50, ge=0, le=1_000_000, alias="ZALO_MAX_USERS")
    # Messages a second on the one Zalo token. Zalo documents no figure: 5/s is a cautious
    # guess that still sends a 3,000-message month's reminders in ten minutes.
    zalo_send_rate: float = Field(default=5, gt=0, le=100, alias="ZALO_SEND_RATE")
    # The bot's page on Zalo, shown with the invite code when Zalo is enabled.
    zalo_bot_url: str | None = Field(default=None, alias="ZALO_BOT_URL")
    # Where people reach the bot's web server: file download links are built on it.
    public_base_url: str | None = Field(default=None, alias="PUBLIC_BASE_URL")
    bot_files_listen: str = Field(default="127.0.0.1:8090", alias="BOT_FILES_LISTEN")

    @field_validator(
        "telegram_bot_token",
        "zalo_bot_token",
        "zalo_webhook_url",
        "zalo_webhook_secret",
        "telegram_webhook_url",
        "telegram_webhook_secret",
        "zalo_bot_url",
        "public_base_url",
        mode="before",
    )
    @classmethod
    def _empty_token_is_none(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("telegram_bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        # "<digits>:<secret>" as @BotFather issues it; never echo the value back.
        if value is not None:
            bot_id, _, secret = value.get_secret_value().strip().partition(":")
            if not (bot_id.isdigit() and secret):
                raise ValueError("must look like 123456789:ABC… as given by @BotFather")
            return SecretStr(value.get_secret_value().strip())
        return value

    @field_validator("zalo_bot_token")
    @classmethod
    def _zalo_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        # "<digits>:<secret>" as Zalo Bot Manager issues it; never echo the value back.
        if value is not None:
            bot_id, _, secret = value.get_secret_value().strip().partition(":")
            if not (bot_id.isdigit() and secret):
                raise ValueError("must look like 1234567890:ABC… as given by Zalo Bot Manager")
            return SecretStr(value.get_secret_value().strip())
        return value

    @field_validator("zalo_webhook_secret")
    @classmethod
    def _zalo_webhook_secret(
        cls, value: SecretStr | None, info: ValidationInfo
    ) -> SecretStr | None:
        if value is None:
            if info.data.get("zalo_webhook_url"):
                raise ValueError("must be set when ZALO_WEBHOOK_URL is set")
            return value
        if not _WEBHOOK_SECRET.fullmatch(value.get_secret_value()):
            raise ValueError("must be 8 to 256 letters, digits, '_' or '-'")
        return value

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _telegram_webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram allows 1-256 of A-Za-z0-9_-; we ask for at least 16 so it cannot be guessed.
        if value is not None and not _TELEGRAM_SECRET.fullmatch(value.get_secret_value()):
            raise ValueError("must be 16 to 256 letters, digits, '_' or '-'")
        return value

    @field_validator("zalo_webhook_listen", "telegram_webhook_listen", "bot_files_listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 <= int(port) < 65536:
            raise ValueError("must be HOST:PORT, e.g. 127.0.0.1:8443")
        return value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_admin_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part.strip() for part in value.replace(";", ",").split(",")]
            try:
                return tuple(int(part) for part in parts if part)
            except ValueError:
                raise ValueError("must be comma-separated Telegram user ids") from None
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        # Read it and load its driver now: one line naming DATABASE_URL, not a traceback at the
        # first connection (a password in it is never echoed back).
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError, NoSuchModuleError

        try:
            url = make_url(value)
            url.get_dialect().import_dbapi()
        except (ArgumentError, ValueError):
            raise ValueError("is not a database URL, e.g. sqlite:///data/vstbpn.sqlite3") from None
        except (NoSuchModuleError, ImportError):
            raise ValueError(
                "names a database this installation has no driver for (SQLite works out of the box)"
            ) from None
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("locale")
    @classmethod
    def _supported_locale(cls, value: str) -> str:
        if value not in SUPPORTED_LOCALES:
            raise ValueError(f"must be one of {', '.join(SUPPORTED_LOCALES)}")
        return value

    @field_validator(
        "telegram_api_base_url",
        "telegram_api_base_file_url",
        "zalo_api_base_url",
        "zalo_webhook_url",
        "telegram_webhook_url",
        "public_base_url",
    )
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("zalo_bot_url")
    @classmethod
    def _https_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("https://"):
            raise ValueError("must start with https://")
        return value

    @field_validator("zalo_bot_url", "public_base_url")
    @classmethod
    def _has_host(cls, value: str | None) -> str | None:
        # Links are built on these: a URL without a host would give broken links, not an error.
        if value is not None and not urlsplit(value).hostname:
            raise ValueError("must be a URL with a host, e.g. https://bot.example.vn")
        return value.rstrip("/") if value is not None else None

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def invite_ttl(self) -> timedelta:
        return timedelta(days=self.invite_ttl_days)

    @property
    def retention(self) -> timedelta:
        return timedelta(days=self.retention_days)

    @property
    def file_base_url(self) -> str:
        """Derive the file URL from the API URL (".../bot" → ".../file/bot") unless set."""
        if self.telegram_api_base_file_url:
            return self.telegram_api_base_file_url
        base = self.telegram_api_base_url.rstrip("/")
        head, _, tail = base.rpartition("/")
        return f"{head}/file/{tail}"

    @property
    def telegram_listen(self) -> tuple[str, int]:
        return _split_host_port(self.telegram_webhook_listen)

    @property
    def telegram_webhook_path(self) -> str:
        """The path the webhook server listens on: the path of TELEGRAM_WEBHOOK_URL."""
        return urlsplit(self.telegram_webhook_url or "").path.lstrip("/") or "telegram"

    @property
    def zalo_webhook_path(self) -> str:
        """The path the webhook server listens on: the path of ZALO_WEBHOOK_URL."""
        return urlsplit(self.zalo_webhook_url or "").path or "/zalo/webhook"

    @property
    def zalo_listen(self) -> tuple[str, int]:
        return _split_host_port(self.zalo_webhook_listen)

    @property
    def files_listen(self) -> tuple[str, int]:
        """Where the bot's file server listens (BOT_FILES_LISTEN)."""
        return _split_host_port(self.bot_files_listen)

    def secrets(self) -> list[str]:
        """Every secret value, for the log redaction filter."""
        values = (
            self.telegram_bot_token,
            self.telegram_webhook_secret,
            self.zalo_bot_token,
            self.zalo_webhook_secret,
        )
        return [value.get_secret_value() for value in values if value is not None]

    def sqlite_path(self) -> Path | None:
        """The SQLite file behind ``database_url``, if it is one."""
        prefix = "sqlite:///"
        if self.database_url.startswith(prefix) and ":memory:" not in self.database_url:
            return Path(self.database_url[len(prefix) :])
        return None


def _split_host_port(value: str) -> tuple[str, int]:
    """``host:port`` (validated) as a pair; brackets of an IPv6 host dropped."""
    host, _, port = value.rpartition(":")
    return host.strip("[]"), int(port)


def load_settings(**overrides: object) -> Settings:
    """Build Settings or raise ConfigError naming the variable (never its secret value)."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "configuration"
        variable = _ENV_NAMES.get(field, field)
        message = error["msg"].removeprefix("Value error, ")
        raise ConfigError(f"{variable}: {message}") from None


_ENV_NAMES = {name: str(info.alias) for name, info in Settings.model_fields.items() if info.alias}
