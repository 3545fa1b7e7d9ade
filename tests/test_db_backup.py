"""Backups while the bot works: ``db backup`` under load gives a file ``db check`` passes and
that holds every report submitted before it began; ``db restore`` refuses a live database or
an unsound backup; ``db check`` finds a torn file; SQLite commits are synced (FULL)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlmodel import select

from bot.cli import main
from storage.db import make_engine
from storage.lock import DatabaseLock
from storage.models import ReportVersion
from tests.forms_helpers import DISTRICT_ANSWERS, answer, current_question, register
from tests.harness import BotHarness, ChatUser

DISTRICTS = (
    "tp-lai-chau",
    "huyen-tam-duong",
    "huyen-muong-te",
    "huyen-sin-ho",
    "huyen-phong-tho",
    "huyen-than-uyen",
    "huyen-tan-uyen",
    "huyen-nam-nhun",
)
MAX_BACKUPS = 25


async def _submit(user: ChatUser, harness: BotHarness, on_answer: asyncio.Event | None) -> None:
    """Fill in the whole 6-month report and send it; ``on_answer`` is set after each answer."""
    await user.send("/report")
    for _ in range(200):
        key = current_question(harness, user)
        if key is None or key.startswith("<"):
            break
        await answer(user, DISTRICT_ANSWERS[key])
        if current_question(harness, user) == "<confirm>":
            await user.press("Có, giữ nguyên")
        if on_answer is not None:
            on_answer.set()
    await user.press("Gửi báo cáo")


def _versions(path: Path) -> dict[tuple[int, int], str]:
    """(report, version) → answers of every submitted version stored in the file at ``path``."""
    with sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True) as connection:
        rows = connection.execute("SELECT report_id, version, answers_json FROM report_version")
        return {(report, version): answers for report, version, answers in rows}


async def test_backup_under_load_holds_every_submitted_report(
    harness: BotHarness,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    harness.services.periods.ensure_year(2023)
    users = []
    for number, code in enumerate(DISTRICTS):
        user = harness.user(1001 + number, f"Đầu mối {number}")
        register(harness, user, code)
        users.append(user)
    for user in users[:3]:  # three units have sent their report already
        await _submit(user, harness, None)
    live = harness.settings.sqlite_path()
    assert live is not None
    monkeypatch.setenv("DATABASE_URL", harness.settings.database_url)

    # The five others fill theirs in at once while backups are taken, one after the other.
    answered = asyncio.Event()
    filling = asyncio.gather(*(_submit(user, harness, answered) for user in users[3:]))
    await answered.wait()
    backups = 0
    while not filling.done() and backups < MAX_BACKUPS:
        sent_before = _versions(live)
        target = tmp_path / "backups" / f"b{backups}.sqlite3"
        assert await asyncio.to_thread(main, ["db", "backup", str(target)]) == 0
        assert main(["db", "check", str(target)]) == 0
        copied = _versions(target)
        missing = set(sent_before) - set(copied)
        assert not missing, f"backup {backups} lacks reports sent before it began: {missing}"
        assert all(copied[key] == answers for key, answers in sent_before.items())
        backups += 1
    await filling
    assert backups >= 2  # taken while the others were filling in their reports
    assert len(_versions(live)) == len(DISTRICTS)  # the bot lost nothing meanwhile

    final = tmp_path / "final.sqlite3"
    assert main(["db", "backup", str(final)]) == 0
    said = capsys.readouterr().out.splitlines()[-1]
    assert said.startswith(f"{final}: ") and "8 submitted reports" in said
    assert _versions(final) == _versions(live)
    assert not final.with_name(final.name + "-wal").exists()  # one self-contained file
    with harness.db.transaction() as session:
        assert len(session.exec(select(ReportVersion)).all()) == len(DISTRICTS)


def test_restore_refuses_a_live_database_and_an_unsound_backup(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    database = tmp_path / "bot.sqlite3"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{database}")
    assert main(["units", "list"]) == 0
    backup = tmp_path / "backup.sqlite3"
    assert main(["db", "backup", str(backup)]) == 0
    capsys.readouterr()

    bot = DatabaseLock(database)  # what a running bot holds (``serve`` takes it at start)
    assert bot.serve(wait=False)
    try:
        assert main(["db", "restore", str(backup)]) == 1
        assert "a bot is running on" in capsys.readouterr().err
    finally:
        bot.release()

    torn = tmp_path / "torn.sqlite3"
    data = bytearray(backup.read_bytes())
    page = 4096
    data[3 * page : 5 * page] = b"\x5a" * (2 * page)  # two pages of the file overwritten
    torn.write_bytes(bytes(data))
    assert main(["db", "check", str(torn)]) == 1
    assert "NOT sound" in capsys.readouterr().err
    assert main(["db", "restore", str(torn)]) == 1
    assert "is not a sound backup" in capsys.readouterr().err
    not_ours = tmp_path / "other.sqlite3"
    sqlite3.connect(not_ours).execute("CREATE TABLE t (x)").connection.close()
    assert main(["db", "restore", str(not_ours)]) == 1
    assert "is not a sound backup" in capsys.readouterr().err

    assert main(["db", "restore", str(backup)]) == 0  # no bot: done, the old file kept
    said = capsys.readouterr().out
    assert said.startswith(f"{database} restored from {backup}: 49 units")
    kept = [p for p in tmp_path.iterdir() if p.name.startswith("bot.sqlite3.before-restore-")]
    assert len(kept) == 1 and main(["db", "check", str(kept[0])]) == 0
    assert main(["db", "check"]) == 0


def test_sqlite_commits_are_synced(tmp_path: Path) -> None:
    """``synchronous=FULL``: what the bot acknowledged survives a power cut."""
    engine = make_engine(f"sqlite:///{tmp_path / 'sync.sqlite3'}")
    with engine.connect() as connection:
        level = connection.exec_driver_sql("PRAGMA synchronous").scalar()
        mode = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
    engine.dispose()
    assert (level, mode) == (2, "wal")  # 2 = FULL
