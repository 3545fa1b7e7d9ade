"""Configuration: the one place that reads the environment (and an optional ``.env``)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///data/vstbpn.sqlite3"
SUPPORTED_LOCALES = ("vi", "en")


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
    forms_dir: Path | None = Field(default=None, alias="BOT_FORMS_DIR")
    calendar_file: Path | None = Field(default=None, alias="BOT_CALENDAR_FILE")

    @field_validator("telegram_bot_token", mode="before")
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

    @field_validator("telegram_api_base_url", "telegram_api_base_file_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def invite_ttl(self) -> timedelta:
        return timedelta(days=self.invite_ttl_days)

    @property
    def file_base_url(self) -> str:
        """Derive the file URL from the API URL (".../bot" → ".../file/bot") unless set."""
        if self.telegram_api_base_file_url:
            return self.telegram_api_base_file_url
        base = self.telegram_api_base_url.rstrip("/")
        head, _, tail = base.rpartition("/")
        return f"{head}/file/{tail}"

    def sqlite_path(self) -> Path | None:
        """The SQLite file behind ``database_url``, if it is one."""
        prefix = "sqlite:///"
        if self.database_url.startswith(prefix) and ":memory:" not in self.database_url:
            return Path(self.database_url[len(prefix) :])
        return None


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
