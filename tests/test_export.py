"""The consolidated export: read back with openpyxl, totals checked against the answers."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from openpyxl import load_workbook

from domain.clock import FixedClock
from tests.conftest import ADMIN_ID, VN
from tests.forms_helpers import DISTRICT_ANSWERS, fill, register
from tests.harness import BotHarness

ROOT = Path(__file__).resolve().parent.parent


async def _submit(
    harness: BotHarness, user_id: int, unit: str, overrides: dict[str, object]
) -> None:
    user = harness.user(user_id, f"Người {user_id}")
    register(harness, user, unit)
    await user.send("/report")
    await fill(harness, user, {**DISTRICT_ANSWERS, **overrides})
    await user.press("Gửi báo cáo")


async def test_export_has_a_row_per_unit_totals_and_the_missing_sheet(
    harness: BotHarness, clock: FixedClock
) -> None:
    harness.services.periods.ensure_year(2023)
    clock.set(datetime(2023, 5, 20, 9, 0, tzinfo=VN))
    await _submit(harness, 1001, "huyen-muong-te", {"comm_sessions": "45"})
    await _submit(harness, 1002, "huyen-sin-ho", {"comm_sessions": "10"})
    await _submit(harness, 1003, "so-y-te", {"comm_sessions": "7"})
    draft = harness.user(1004, "Nháp")
    register(harness, draft, "tinh-doan")
    await draft.send("/report")
    await draft.send("99")

    admin = harness.user(ADMIN_ID, "Văn phòng")
    replies = await admin.send("/export six_month:2023")
    document = replies[-1]
    assert document.method == "sendDocument"
    assert document.file_name == "six_month-2023.xlsx"
    assert "3/34 đơn vị đã nộp" in document.plain_text
    assert document.file_bytes is not None
    workbook = load_workbook(io.BytesIO(document.file_bytes))
    sheet = workbook[workbook.sheetnames[0]]
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    assert header[:7] == (
        "Mã",
        "Đơn vị",
        "Loại",
        "Tình trạng",
        "Thời điểm nộp",
        "Người nộp",
        "Đúng hạn",
    )
    by_code = {row[0]: row for row in rows[1:] if row[0]}
    assert len(by_code) == 34
    column = header.index("Buổi tuyên truyền, phổ biến pháp luật")
    assert by_code["huyen-muong-te"][column] == 45
    assert by_code["huyen-muong-te"][3] == "Đã nộp"
    assert by_code["huyen-muong-te"][6] == "Đúng hạn"
    assert by_code["tinh-doan"][3] == "Đang làm"
    assert by_code["tinh-doan"][column] is None  # a draft's figures stay out
    totals = {row[1]: row for row in rows[1:] if not row[0]}
    assert totals["Tổng cộng, tất cả đơn vị"][column] == 62
    assert totals["Cộng: Huyện, thành phố"][column] == 55
    assert totals["Cộng: Sở, ban, ngành"][column] == 7
    assert totals["Tổng cộng, tất cả đơn vị"][3] == "3/34 đã nộp"
    budget = header.index("Tổng kinh phí đã sử dụng")
    assert totals["Tổng cộng, tất cả đơn vị"][budget] == 45_000_000
    missing = workbook["Chưa nộp"]
    missing_codes = {row[1] for row in missing.iter_rows(min_row=2, values_only=True)}
    assert len(missing_codes) == 31
    assert "tinh-doan" in missing_codes
    assert "so-y-te" not in missing_codes


async def test_answers_command_shows_a_units_answers(
    harness: BotHarness, clock: FixedClock
) -> None:
    harness.services.periods.ensure_year(2023)
    clock.set(datetime(2023, 5, 20, 9, 0, tzinfo=VN))
    await _submit(harness, 1001, "huyen-muong-te", {})
    admin = harness.user(ADMIN_ID, "Văn phòng")
    text = "\n".join(
        m.plain_text for m in await admin.send("/answers huyen-muong-te six_month:2023")
    )
    assert "Huyện Mường Tè" in text
    assert "đã nộp (bản 1)" in text
    assert "1.250" in text
    focal = harness.user(1001, "x")
    refused = await focal.send("/answers so-y-te")
    assert "chỉ dành cho cơ quan thường trực" in refused[0].plain_text


def test_cli_export_xlsx_and_csv(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'e.sqlite3'}",
    }
    base = [sys.executable, "-m", "bot"]
    subprocess.run(
        [*base, "units", "import", str(ROOT / "content" / "units_laichau.yaml")],
        env=env,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [*base, "periods", "list", "--year", "2023"], env=env, check=True, capture_output=True
    )
    for name in ("out.xlsx", "out.csv"):
        result = subprocess.run(
            [*base, "export", "--period", "six_month:2023", "--out", str(tmp_path / name)],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert "0/34 units submitted" in result.stdout
    workbook = load_workbook(tmp_path / "out.xlsx")
    assert workbook.sheetnames == ["6 tháng đầu năm 2023", "Chưa nộp"]
    csv_text = (tmp_path / "out.csv").read_text(encoding="utf-8-sig")
    assert csv_text.splitlines()[0].startswith("Mã,Đơn vị,Loại,Tình trạng")
