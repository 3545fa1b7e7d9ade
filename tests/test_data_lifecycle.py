"""The data's whole life, end to end: a focal point removed (/remove, ``focal remove``), an
invite revoked after it was printed, a person forgotten (``people forget``), old inbound texts
pruned after BOT_RETENTION_DAYS; each in the audit log."""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from bot.cli import main
from bot.settings import ConfigError, load_settings
from domain.clock import FixedClock
from domain.export import period_sheet, write_csv
from domain.i18n import translator_for
from domain.identity import ChannelIdentity
from domain.registration import RegistrationError
from scheduler.retention import RetentionJob
from storage.inbox import PENDING, InboundUpdate, Inbox
from storage.models import (
    Account,
    Answer,
    AuditEntry,
    FocalPoint,
    FormSession,
    RegistrationAttempt,
    Report,
    ReportStatus,
    Role,
    RoleGrant,
)
from tests.conftest import ADMIN_ID
from tests.forms_helpers import DISTRICT_ANSWERS, current_question, fill, register
from tests.harness import BotHarness, ChatUser

UNIT = "huyen-muong-te"
LINK = re.compile(r"https://t\.me/\w+\?start=([A-Za-z0-9_-]+)")


def _actions(harness: BotHarness) -> list[tuple[str, str, str]]:
    with harness.db.transaction() as session:
        rows = session.exec(select(AuditEntry).order_by(AuditEntry.id)).all()  # type: ignore[arg-type]
        return [(row.actor, row.action, row.target) for row in rows]


def _active_points(harness: BotHarness) -> list[str]:
    with harness.db.transaction() as session:
        rows = session.exec(
            select(Account.display_name)
            .join(FocalPoint, FocalPoint.account_id == Account.id)  # type: ignore[arg-type]
            .where(FocalPoint.active == True)  # noqa: E712
        ).all()
        return sorted(rows)


async def _focal(harness: BotHarness, user_id: int, name: str) -> ChatUser:
    user = harness.user(user_id, name)
    register(harness, user, UNIT)
    return user


def _cli(monkeypatch: pytest.MonkeyPatch, harness: BotHarness, *argv: str) -> int:
    monkeypatch.setenv("DATABASE_URL", harness.settings.database_url)
    return main(list(argv))


async def test_admin_removes_a_focal_point_who_left(harness: BotHarness) -> None:
    harness.services.periods.ensure_year(2023)
    mai = await _focal(harness, 1001, "Lò Thị Mai")
    lan = await _focal(harness, 1002, "Lò Thị Lan")
    await mai.send("/report")
    await mai.send("3")  # the first question's answer, saved in the unit's draft
    admin = harness.user(ADMIN_ID, "Văn phòng")

    reply = (await admin.send(f"/remove {UNIT} Lò Thị Mai"))[0].plain_text
    assert reply == (
        "Lò Thị Mai (Telegram 1001) không còn là đầu mối của huyen-muong-te. Các câu trả lời "
        "người này đã nhập vẫn được giữ trong báo cáo của đơn vị."
    )
    assert _active_points(harness) == ["Lò Thị Lan"]
    # She can no longer answer for the unit, nor open its report.
    assert current_question(harness, mai) is None
    refused = (await mai.send("/report"))[0].plain_text
    assert "dành cho đầu mối đã đăng ký" in refused
    with harness.db.transaction() as session:
        kept = session.exec(select(Answer)).all()
        assert [(a.question_key, a.value_json) for a in kept] == [("doc_plans_issued", "3")]
        assert session.exec(select(FormSession)).all() == []
    units = "\n".join(m.plain_text for m in await admin.send("/units district"))
    assert "Lò Thị Lan" in units and "Lò Thị Mai" not in units
    assert (f"telegram:{ADMIN_ID}", "focal_point.remove", UNIT) in _actions(harness)
    # Her deputy carries on with the same draft.
    assert "Câu" in (await lan.send("/report"))[-1].plain_text
    assert harness.telegram.bad_requests == []


async def test_remove_lists_the_focal_points_when_the_name_is_not_enough(
    harness: BotHarness,
) -> None:
    await _focal(harness, 1001, "Lò Thị Mai")
    await _focal(harness, 1002, "Lò Thị Lan")
    admin = harness.user(ADMIN_ID, "Văn phòng")
    both = "Lò Thị Mai (Telegram 1001); Lò Thị Lan (Telegram 1002)"

    usage = (await admin.send(f"/remove {UNIT}"))[0].plain_text
    assert usage.startswith("Cách dùng: /remove <mã-đơn-vị> <người>")
    several = (await admin.send(f"/remove {UNIT} lo thi"))[0].plain_text
    assert several == (
        f"Có nhiều đầu mối của {UNIT} khớp với “lo thi”: {both}. Hãy ghi id trong ngoặc."
    )
    nobody = (await admin.send(f"/remove {UNIT} Hoa"))[0].plain_text
    assert nobody == (
        f"{UNIT} không có đầu mối “Hoa”. Các đầu mối của đơn vị: {both}. Hãy ghi id trong ngoặc."
    )
    unknown = (await admin.send("/remove no-such-unit Mai"))[0].plain_text
    assert unknown.startswith("Không có đơn vị nào mã no-such-unit")
    assert _active_points(harness) == ["Lò Thị Lan", "Lò Thị Mai"]

    done = (await admin.send(f"/remove {UNIT} 1002"))[0].plain_text  # by id
    assert done.startswith("Lò Thị Lan (Telegram 1002) không còn là đầu mối")
    assert _active_points(harness) == ["Lò Thị Mai"]

    office = harness.user(2001, "Cán bộ")
    harness.services.accounts.grant_role("telegram", "2001", Role.OFFICE, actor="test")
    refused = (await office.send(f"/remove {UNIT} Mai"))[0].plain_text
    assert "chỉ dành cho quản trị viên" in refused
    assert _active_points(harness) == ["Lò Thị Mai"]
    assert "/remove" in (await admin.send("/help"))[0].plain_text


async def test_revoked_invite_no_longer_works_and_cli_lists_and_removes(
    harness: BotHarness,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    clock.set(datetime.now(UTC))  # the command line runs on the real clock
    today = f"{clock.now():%Y-%m-%d}"
    admin = harness.user(ADMIN_ID, "Văn phòng")
    printed = (await admin.send(f"/invite {UNIT}"))[0].plain_text
    match = LINK.search(printed)
    assert match
    capsys.readouterr()
    assert _cli(monkeypatch, harness, "invites", "list") == 0
    listing = capsys.readouterr().out.splitlines()
    assert re.match(rf"\s+1 {UNIT}\s+open\s+by telegram:{ADMIN_ID} on {today}", listing[0])
    assert listing[-1] == "1 open invites"

    assert _cli(monkeypatch, harness, "invites", "revoke", "1") == 0
    assert capsys.readouterr().out.strip() == (
        f"invite 1 for {UNIT} is revoked: it no longer works"
    )
    mai = harness.user(1001, "Lò Thị Mai")
    refused = (await mai.send(f"/start {match.group(1)}"))[0].plain_text
    assert "hết hạn" in refused  # the printed letter's link is dead
    assert _active_points(harness) == []
    assert _cli(monkeypatch, harness, "invites", "revoke", "1") == 1
    assert "Invite 1 is already revoked" in capsys.readouterr().err
    assert _cli(monkeypatch, harness, "invites", "list") == 0
    assert capsys.readouterr().out.strip() == "0 open invites"
    assert _cli(monkeypatch, harness, "invites", "list", "--all") == 0
    assert f"revoked {today}" in capsys.readouterr().out

    register(harness, mai, UNIT)
    assert _cli(monkeypatch, harness, "focal", "list", "--unit", UNIT) == 0
    assert f"{UNIT:24} Lò Thị Mai (Telegram 1001)" in capsys.readouterr().out
    assert _cli(monkeypatch, harness, "focal", "remove", UNIT, "lo", "thi", "mai") == 0
    assert capsys.readouterr().out.strip() == (
        f"Lò Thị Mai (Telegram 1001) is no longer a focal point of {UNIT}"
    )
    assert _active_points(harness) == []
    actions = _actions(harness)
    assert ("cli", "invite.revoke", UNIT) in actions
    assert ("cli", "focal_point.remove", UNIT) in actions


async def test_forget_erases_the_person_and_keeps_the_units_report(
    harness: BotHarness,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    harness.services.periods.ensure_year(2023)
    admin = harness.user(ADMIN_ID, "Văn phòng")
    code = LINK.search((await admin.send(f"/invite {UNIT}"))[0].plain_text)
    assert code
    mai = harness.user(1001, "Lò Thị Mai")
    harness.telegram.add_user(1001, "Lò Thị Mai", username="mai_muongte")
    await mai.send(f"/start {code.group(1)}")  # her name, username and id in the inbox
    await mai.send("/report")
    await fill(harness, mai, DISTRICT_ANSWERS)
    await mai.press("Gửi báo cáo")
    await mai.send("Em đã gửi báo cáo, hẹn gặp chị Hoa thứ Năm")
    harness.services.accounts.grant_role("telegram", "1001", Role.OFFICE, actor="test")
    with harness.db.transaction() as session:
        (account,) = session.exec(select(Account).where(Account.external_id == "1001")).all()
        account_id = account.id
    capsys.readouterr()

    # Without --yes: says what would happen, changes nothing.
    assert _cli(monkeypatch, harness, "people", "forget", "telegram:1001") == 1
    assert "would forget Lò Thị Mai (telegram 1001)" in capsys.readouterr().err
    assert _active_points(harness) == ["Lò Thị Mai"]

    assert _cli(monkeypatch, harness, "people", "forget", "telegram:1001", "--yes") == 0
    said = capsys.readouterr().out
    assert said.startswith(
        f"forgot Lò Thị Mai (telegram 1001): now telegram:forgotten-{account_id}"
    )
    assert "1 submitted reports kept" in said

    # Nothing stored names her any more: not her name, username, id or what she typed. (The
    # unit's report is the unit's: its contact answer, her name included, stays with it.)
    for needle in ("Lò Thị Mai", "mai_muongte", "hẹn gặp chị Hoa", "telegram:1001"):
        assert _cells_containing(harness, needle) == [], needle
    with harness.db.transaction() as session:
        account = session.get_one(Account, account_id)
        assert (account.display_name, account.external_id) == ("", f"forgotten-{account_id}")
        assert account.forgotten_at is not None
        assert session.exec(select(RoleGrant).where(RoleGrant.external_id == "1001")).all() == []
        report = session.exec(select(Report)).one()
        assert report.status == ReportStatus.SUBMITTED  # the unit's report stays, whole
        assert report.submitted_by_account_id == account_id
    answers = "\n".join(m.plain_text for m in await admin.send(f"/answers {UNIT}"))
    assert "bởi một đầu mối cũ" in answers or "một đầu mối cũ" in answers
    assert "1.250" in answers or "1250" in answers
    vi = translator_for("vi", harness.services.tz)
    period = harness.services.periods.resolve("six_month:2023")
    assert period is not None
    sheet = period_sheet(harness.services.reporting, period, "vi")
    rows = list(csv.reader(io.StringIO(write_csv(sheet, vi).decode("utf-8-sig"))))
    by = rows[0].index(vi("By"))
    (row,) = [row for row in rows if row and row[0] == UNIT]
    assert row[by] == "một đầu mối cũ"  # the export names no one either
    actions = _actions(harness)
    assert ("cli", "person.forget", f"telegram:forgotten-{account_id}") in actions
    assert (f"telegram:forgotten-{account_id}", "focal_point.register", UNIT) in actions

    # She is a stranger now: writing again makes a new, empty account.
    again = (await mai.send("/whoami"))[0].plain_text
    assert "dành cho đầu mối đã đăng ký" in again
    assert _cli(monkeypatch, harness, "people", "forget", "telegram:1001", "--yes") == 0
    assert _cli(monkeypatch, harness, "people", "forget", "telegram:777", "--yes") == 1
    assert "Nobody with id telegram:777" in capsys.readouterr().err


def _cells_containing(harness: BotHarness, needle: str) -> list[str]:
    """Every stored value (any table but the unit's report, any text column) with ``needle``."""
    path = harness.settings.sqlite_path()
    assert path is not None
    found: list[str] = []
    with sqlite3.connect(path) as connection:
        tables = [
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        for table in set(tables) - {"answer", "report_version"}:
            for row in connection.execute(f'SELECT * FROM "{table}"'):
                found += [
                    f"{table}: {cell}" for cell in row if isinstance(cell, str) and needle in cell
                ]
    return found


async def test_inbound_texts_are_pruned_after_the_retention(
    harness: BotHarness, clock: FixedClock
) -> None:
    mai = harness.user(1001, "Lò Thị Mai")
    await mai.send("một tin nhắn cũ")  # handled: done, kept a day for redeliveries
    stale = Inbox(harness.db, clock.now, "zalo")  # a channel no process serves any more
    stale.add("zalo-1", json.dumps({"user_id": "z1", "text": "chưa xử lý"}))
    identity = ChannelIdentity("telegram", "3001", "3001", "Guesser")
    for _ in range(2):
        with pytest.raises(RegistrationError):  # a wrong code: refused, and remembered
            harness.services.registration.register(identity, "x" * 32)
    job = RetentionJob(harness.services.lifecycle, harness.services.tz)

    clock.advance(timedelta(days=2))
    assert await mai.send("một tin nhắn mới")
    first = await job.run()  # the handled message of two days ago goes (a day is enough)
    assert first is not None and (first.updates, first.attempts) == (1, 0)
    clock.advance(timedelta(days=87))
    second = await job.run()  # the other handled one; the unhandled one is 89 days old
    assert second is not None and (second.updates, second.attempts) == (1, 0)
    assert _inbox(harness) == [("zalo-1", PENDING)]
    clock.advance(timedelta(days=2))
    third = await job.run()  # 91 days: past BOT_RETENTION_DAYS, whatever its state
    assert third is not None and (third.updates, third.attempts) == (1, 2)
    assert _inbox(harness) == []
    with harness.db.transaction() as session:
        assert session.exec(select(RegistrationAttempt)).all() == []
    assert ("system", "retention.prune", "90 days") in _actions(harness)
    nothing = await job.run()
    assert nothing is not None and nothing.total == 0


def _inbox(harness: BotHarness) -> list[tuple[str, str]]:
    with harness.db.transaction() as session:
        return [(row.ref, row.status) for row in session.exec(select(InboundUpdate)).all()]


def test_retention_days_is_validated(tmp_path: Path) -> None:
    assert load_settings().retention == timedelta(days=90)
    assert load_settings(BOT_RETENTION_DAYS="30").retention == timedelta(days=30)
    for wrong in ("0", "-5", "abc", "100000"):
        with pytest.raises(ConfigError) as error:
            load_settings(BOT_RETENTION_DAYS=wrong)
        assert str(error.value).startswith("BOT_RETENTION_DAYS: ")
    del tmp_path
