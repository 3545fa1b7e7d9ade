"""Reminders over HTTP with a controlled clock: once per step, catch-up, escalation, /remind."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from sqlmodel import select

from domain.clock import FixedClock
from storage.models import Account, ReminderDelivery
from tests.conftest import ADMIN_ID, VN
from tests.forms_helpers import DISTRICT_ANSWERS, fill, register
from tests.harness import BotHarness, ChatUser

ROOT = Path(__file__).resolve().parent.parent
UNITS = {1001: "huyen-muong-te", 1002: "so-y-te", 1003: "hoi-lhpn-tinh"}


async def _setup(harness: BotHarness, clock: FixedClock) -> dict[int, ChatUser]:
    clock.set(datetime(2023, 5, 10, 9, 0, tzinfo=VN))
    users = {}
    for user_id, code in UNITS.items():
        user = harness.user(user_id, f"Đầu mối {code}")
        register(harness, user, code)
        users[user_id] = user
    admin = harness.user(ADMIN_ID, "Văn phòng")
    await admin.send("/help")
    return users


def _inbox(harness: BotHarness, user_id: int, since: int = 0) -> list[str]:
    return [m.plain_text for m in harness.telegram.sent[since:] if m.chat_id == user_id]


async def test_one_message_per_step_across_restart_and_concurrent_ticks(
    harness: BotHarness, clock: FixedClock
) -> None:
    await _setup(harness, clock)
    clock.set(datetime(2023, 5, 15, 8, 0, tzinfo=VN))
    mark = len(harness.telegram.sent)
    await asyncio.gather(harness.run_reminders(), harness.run_reminders())
    for user_id in UNITS:
        inbox = _inbox(harness, user_id, mark)
        assert len(inbox) == 1, inbox
        assert "Đã mở kỳ báo cáo 6 tháng đầu năm 2023" in inbox[0]
        assert "trước ngày 05/6/2023" in inbox[0]
        assert "chưa bắt đầu" in inbox[0]
    await harness.restart()
    summary = await harness.run_reminders()
    assert summary.sent == 0
    assert sum(len(_inbox(harness, u, mark)) for u in UNITS) == 3
    with harness.db.transaction() as session:
        rows = session.exec(select(ReminderDelivery)).all()
        assert sorted((r.step, r.status) for r in rows) == [("open", "sent")] * 3
    button = harness.telegram.messages_to(1001)[-1].buttons[0][0]
    assert button[0] == "Mở báo cáo"
    assert harness.telegram.bad_requests == []


async def test_reminders_stop_after_submission_and_name_what_is_missing(
    harness: BotHarness, clock: FixedClock
) -> None:
    users = await _setup(harness, clock)
    harness.services.periods.ensure_year(2023)
    clock.set(datetime(2023, 5, 16, 9, 0, tzinfo=VN))
    await users[1001].send("/report")
    await fill(harness, users[1001], DISTRICT_ANSWERS)
    await users[1001].press("Gửi báo cáo")
    await users[1002].send("/report")
    await users[1002].send("3")  # a draft with one answer
    clock.set(datetime(2023, 5, 29, 8, 0, tzinfo=VN))
    mark = len(harness.telegram.sent)
    await harness.run_reminders()

    def report_reminders(user_id: int) -> list[str]:
        return [t for t in _inbox(harness, user_id, mark) if "6 tháng đầu năm" in t]

    assert report_reminders(1001) == []
    assert "Còn 7 ngày" in report_reminders(1002)[0]
    assert "đang làm, còn" in report_reminders(1002)[0]
    assert "chưa bắt đầu" in report_reminders(1003)[0]
    # the action month is announced to every focal point, submitted or not
    assert any("Tháng hành động" in t for t in _inbox(harness, 1001, mark))


async def test_catch_up_after_downtime_sends_one_message_per_unit(
    harness: BotHarness, clock: FixedClock
) -> None:
    await _setup(harness, clock)
    clock.set(datetime(2023, 5, 26, 9, 0, tzinfo=VN))  # down since before 'open' on 15/5
    await harness.run_reminders()  # catches up on 'open' (and the DV action-month notice)
    clock.set(datetime(2023, 6, 2, 10, 0, tzinfo=VN))  # down from 27/5 to 2/6: missed 29/5
    mark = len(harness.telegram.sent)
    await harness.run_reminders()
    for user_id in UNITS:
        inbox = _inbox(harness, user_id, mark)
        reminders = [text for text in inbox if "6 tháng đầu năm 2023" in text]
        assert len(reminders) == 1, inbox
        assert "Hôm nay là ngày cuối" in reminders[0]


async def test_escalation_lists_exactly_the_missing_units(
    harness: BotHarness, clock: FixedClock
) -> None:
    users = await _setup(harness, clock)
    harness.services.periods.ensure_year(2023)
    clock.set(datetime(2023, 5, 16, 9, 0, tzinfo=VN))
    await users[1001].send("/report")
    await fill(harness, users[1001], DISTRICT_ANSWERS)
    await users[1001].press("Gửi báo cáo")
    clock.set(datetime(2023, 6, 5, 8, 0, tzinfo=VN))
    mark = len(harness.telegram.sent)
    await harness.run_reminders()
    office = [t for t in _inbox(harness, ADMIN_ID, mark) if "chưa nộp" in t]
    assert len(office) == 1
    listed = {line.split("(")[-1].split(")")[0] for line in office[0].splitlines() if "•" in line}
    active = {u.code for u in harness.services.units.list_units()}
    assert listed == active - {"huyen-muong-te"}
    assert "33/34 đơn vị chưa nộp" in office[0]


async def test_remind_command_once_a_day(harness: BotHarness, clock: FixedClock) -> None:
    await _setup(harness, clock)
    harness.services.periods.ensure_year(2023)
    clock.set(datetime(2023, 5, 22, 10, 0, tzinfo=VN))
    admin = harness.user(ADMIN_ID, "Văn phòng")
    mark = len(harness.telegram.sent)
    answer = await admin.send("/remind six_month:2023")
    assert "đã nhắc 3 đơn vị" in answer[0].plain_text
    assert all(len(_inbox(harness, u, mark)) == 1 for u in UNITS)
    again = await admin.send("/remind six_month:2023")
    assert "đã nhắc 0 đơn vị" in again[0].plain_text
    assert "Đã nhắc trong hôm nay" in again[0].plain_text
    assert all(len(_inbox(harness, u, mark)) == 1 for u in UNITS)
    clock.set(datetime(2023, 5, 23, 10, 0, tzinfo=VN))
    await admin.send("/remind six_month:2023")
    assert all(len(_inbox(harness, u, mark)) == 2 for u in UNITS)
    focal = harness.user(1001, "x")
    refused = await focal.send("/remind")
    assert "chỉ dành cho cơ quan thường trực" in refused[0].plain_text


async def test_blocked_focal_point_is_reported_to_the_office(
    harness: BotHarness, clock: FixedClock
) -> None:
    await _setup(harness, clock)
    harness.telegram.block_user(1003, notify=False)  # found out only when sending
    clock.set(datetime(2023, 5, 15, 8, 0, tzinfo=VN))
    mark = len(harness.telegram.sent)
    summary = await harness.run_reminders()
    assert summary.blocked_units == ["hoi-lhpn-tinh"]
    office = _inbox(harness, ADMIN_ID, mark)
    assert any(
        "Hội Liên hiệp Phụ nữ tỉnh" in text and "không liên lạc được" in text for text in office
    )
    with harness.db.transaction() as session:
        account = session.exec(select(Account).where(Account.external_id == "1003")).one()
        assert account.unreachable_at is not None
    clock.set(datetime(2023, 5, 29, 8, 0, tzinfo=VN))
    mark = len(harness.telegram.sent)
    await harness.run_reminders()  # no second warning, no attempt to the blocked chat
    assert not [t for t in _inbox(harness, ADMIN_ID, mark) if "không liên lạc được" in t]


async def test_blocking_the_bot_tells_the_office_at_once(
    harness: BotHarness, clock: FixedClock
) -> None:
    await _setup(harness, clock)
    mark = len(harness.telegram.sent)
    harness.telegram.block_user(1002)  # Telegram sends a my_chat_member 'kicked' update
    await harness.telegram.wait_until(
        lambda: any("không liên lạc được" in t for t in _inbox(harness, ADMIN_ID, mark))
    )
    assert "Sở Y tế" in _inbox(harness, ADMIN_ID, mark)[-1]


async def test_calendar_command_shows_vietnamese_dates(
    harness: BotHarness, clock: FixedClock
) -> None:
    users = await _setup(harness, clock)
    text = (await users[1001].send("/calendar 2023"))[0].plain_text
    assert "trước ngày 05/6/2023" in text
    assert "trước ngày 05/12/2023" in text
    assert "thứ Tư, 15/11/2023 – thứ Sáu, 15/12/2023" in text


def test_cli_calendar_matches_the_plan(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'c.sqlite3'}",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "calendar", "--year", "2023"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # Section IV.3 of the plan: 6-month report before 5/6, annual report before 5/12.
    assert (
        "6 tháng đầu năm 2023: mở nhận từ thứ Hai, 15/5/2023; hạn nộp trước ngày 05/6/2023" in out
    )
    assert "năm 2023: mở nhận từ thứ Tư, 15/11/2023; hạn nộp trước ngày 05/12/2023" in out
    # Section II.3: the June action month and 15/11-15/12.
    assert "từ thứ Năm, 01/6/2023 đến thứ Sáu, 30/6/2023" in out
    assert "từ thứ Tư, 15/11/2023 đến thứ Sáu, 15/12/2023" in out
    assert "08:00 thứ Hai, 29/5/2023: 6 tháng đầu năm 2023: trước hạn 7 ngày (before_7)" in out
