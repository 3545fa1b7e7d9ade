"""``python -m bot invite`` says how to use the invite on the channels this deployment serves."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main


def _invite(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    **env: str,
) -> str:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["units", "list"]) == 0  # creates the database and loads the catalogue
    capsys.readouterr()
    assert (
        main(["invite", "so-y-te", *(["--bot-username", "vstbpn_bot"] if "TG" in env else [])]) == 0
    )
    return str(capsys.readouterr().out)


def test_zalo_only_prints_the_code_to_type_and_no_telegram_link(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = _invite(
        monkeypatch,
        tmp_path,
        capsys,
        ZALO_BOT_TOKEN="1234:zalo-token-value",
    )
    assert "t.me" not in out
    assert "Zalo" in out and "Department of Health" in out
    code = out.strip().splitlines()[-1].strip()
    assert 32 <= len(code) <= 64 and " " not in code


def test_telegram_prints_the_deep_link(
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out = _invite(monkeypatch, tmp_path, capsys, TG="1")
    assert "https://t.me/vstbpn_bot?start=" in out
    assert "Zalo" not in out
