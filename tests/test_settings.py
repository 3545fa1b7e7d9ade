"""Configuration: one clear line naming the variable, exit status 2, no secret echoed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import ConfigError, load_settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("TELEGRAM_BOT_TOKEN", "not-a-token-SECRET", "TELEGRAM_BOT_TOKEN"),
        ("BOT_ADMIN_IDS", "12,abc", "BOT_ADMIN_IDS"),
        ("BOT_TIMEZONE", "Mars/Olympus", "BOT_TIMEZONE"),
        ("BOT_LOCALE", "fr", "BOT_LOCALE"),
        ("TELEGRAM_API_BASE_URL", "ftp://x", "TELEGRAM_API_BASE_URL"),
    ],
)
def test_invalid_variable_is_named(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert str(error.value).startswith(expected)
    assert "SECRET" not in str(error.value)


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_ADMIN_IDS", " 5, 7 ")
    settings = load_settings()
    assert settings.admin_ids == (5, 7)
    assert settings.timezone == "Asia/Ho_Chi_Minh"
    assert settings.locale == "vi"
    assert settings.telegram_bot_token is None
    assert settings.database_url == "sqlite:///data/vstbpn.sqlite3"


def test_cli_exits_2_with_one_line_and_no_traceback(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "TELEGRAM_BOT_TOKEN": "123:SECRET", "BOT_TIMEZONE": "Nowhere"}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "units", "list"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "BOT_TIMEZONE" in result.stderr
    assert "Traceback" not in result.stderr
    assert "SECRET" not in result.stderr + result.stdout
