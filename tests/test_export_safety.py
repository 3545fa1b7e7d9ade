"""Exports the office can open safely: text that looks like a formula stays text.

An answer (or a person's Telegram name) such as ``=HYPERLINK("http://x","bấm")`` used to be
written as a live formula. Each file is read back: the .xlsx with openpyxl (the cell's type
and quote prefix), the .csv with the csv module (the leading ``'``); numbers must still be
numbers and dates real dates, or the office could not add or sort them.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any

import pytest
from openpyxl import load_workbook
from openpyxl.cell import Cell

from domain.clock import FixedClock
from domain.export import ExportSheet, period_sheet, write_csv, write_xlsx
from domain.forms.definition import Form, Question, QuestionType
from domain.i18n import translator_for
from domain.identity import UnitRef
from domain.periods import PeriodView
from domain.reporting import ReportSnapshot
from domain.services import Services
from tests.conftest import ADMIN_ID, VN
from tests.forms_helpers import DISTRICT_ANSWERS, fill, register
from tests.harness import BotHarness

VI = translator_for("vi", VN)
HOSTILE = [
    '=HYPERLINK("http://x","bấm")',
    "=1+1",
    "+1+1",
    "-2+3",
    "@SUM(A1:A9)",
    "\t=1+1",
    "\r=1+1",
]
SUBMITTED = datetime(2023, 5, 20, 9, 30, tzinfo=VN)


def _question(key: str, qtype: QuestionType) -> Question:
    return Question(key, qtype, key, key, key, key, max_length=500)


FORM = Form(
    "safety",
    1,
    "An toàn",
    "Safety",
    (
        *(_question(f"text_{index}", QuestionType.LONG_TEXT) for index in range(len(HOSTILE))),
        _question("count", QuestionType.INTEGER),
        _question("change", QuestionType.DECIMAL),
        _question("held_on", QuestionType.DATE),
    ),
)


def _sheet(services: Services) -> ExportSheet:
    period = services.periods.by_key("six_month:2023")
    assert isinstance(period, PeriodView)
    answers: dict[str, Any] = {f"text_{i}": text for i, text in enumerate(HOSTILE)}
    answers |= {"count": 1200, "change": -2.5, "held_on": "2023-06-05"}
    snapshot = ReportSnapshot(
        unit=UnitRef(1, "=cmd|' /C calc'!A0", "-Huyện", "@Unit", "district"),
        period=period,
        status="submitted",
        version=1,
        submitted_at=SUBMITTED,
        submitted_by="+84 912 345 678",
        late=False,
        answers=answers,
        answered_by={},
    )
    return ExportSheet("Kỳ", FORM, [snapshot])


@pytest.fixture
def sheet(services: Services) -> ExportSheet:
    services.periods.ensure_year(2023)
    return _sheet(services)


def _row(sheet: ExportSheet) -> dict[str, Cell]:
    content = write_xlsx([sheet], VI, generated_at=SUBMITTED)
    workbook = load_workbook(io.BytesIO(content))
    rows = list(workbook[workbook.sheetnames[0]].iter_rows())
    header = [cell.value for cell in rows[0]]
    return dict(zip(header, rows[1], strict=True))


def test_xlsx_writes_formula_like_text_as_text(sheet: ExportSheet) -> None:
    row = _row(sheet)
    for index, text in enumerate(HOSTILE):
        cell = row[f"text_{index}"]
        assert cell.value == text.replace("\r", "\n")  # XML reads a CR back as a line feed
        assert cell.data_type == "s", text  # not "f": Excel shows it, never runs it
        assert cell.quotePrefix, text
    for column, text in (("Mã", "=cmd|' /C calc'!A0"), ("Đơn vị", "-Huyện")):
        assert (row[column].value, row[column].data_type) == (text, "s")
        assert row[column].quotePrefix
    assert row["Người nộp"].value == "+84 912 345 678"
    assert row["Người nộp"].quotePrefix


def test_xlsx_keeps_numbers_numbers_and_dates_dates(sheet: ExportSheet) -> None:
    row = _row(sheet)
    assert (row["count"].value, row["count"].data_type) == (1200, "n")
    assert (row["change"].value, row["change"].data_type) == (-2.5, "n")  # a real negative
    assert not row["change"].quotePrefix
    assert row["held_on"].is_date
    assert row["held_on"].value == SUBMITTED.replace(month=6, day=5, hour=0, minute=0, tzinfo=None)
    assert row["held_on"].number_format == "DD/MM/YYYY"
    submitted = row["Thời điểm nộp"]
    assert submitted.is_date
    assert submitted.value == SUBMITTED.replace(tzinfo=None)  # the office's local time
    assert submitted.number_format == "DD/MM/YYYY HH:MM"


def test_csv_prefixes_formula_like_text_and_keeps_numbers(sheet: ExportSheet) -> None:
    text = write_csv(sheet, VI).decode("utf-8-sig")
    header, row, *_totals = list(csv.reader(io.StringIO(text)))
    values = dict(zip(header, row, strict=True))
    for index, hostile in enumerate(HOSTILE):
        assert values[f"text_{index}"] == "'" + hostile
    assert values["Mã"] == "'=cmd|' /C calc'!A0"
    assert values["Người nộp"] == "'+84 912 345 678"
    assert values["count"] == "1200"
    assert values["change"] == "-2.5"  # a number, not text: no prefix
    assert values["held_on"] == "2023-06-05"
    assert values["Thời điểm nộp"] == "2023-05-20 09:30"
    for cell in (*header, *row):
        assert not cell.startswith(("=", "+", "@", "\t", "\r")), cell
        assert not cell.startswith("-") or _is_number(cell), cell


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


async def test_an_answer_typed_as_a_formula_reaches_the_office_as_text(
    harness: BotHarness, clock: FixedClock
) -> None:
    """End to end: typed in the chat, exported by /export, opened by the office."""
    harness.services.periods.ensure_year(2023)
    clock.set(datetime(2023, 5, 20, 9, 0, tzinfo=VN))
    focal = harness.user(1001, '=HYPERLINK("http://x","bấm")')
    register(harness, focal, "huyen-muong-te")
    await focal.send("/report")
    hostile = {
        "difficulties": '=HYPERLINK("http://x","bấm")',
        "recommendations": "+1+1",
        "reporter_contact": "@SUM(A1:A9)",
        "female_key_leader_titles": "-2+3",
    }
    await fill(harness, focal, {**DISTRICT_ANSWERS, **hostile})
    await focal.press("Gửi báo cáo")

    admin = harness.user(ADMIN_ID, "Văn phòng")
    document = (await admin.send("/export six_month:2023"))[-1]
    assert document.file_bytes is not None
    workbook = load_workbook(io.BytesIO(document.file_bytes))
    rows = list(workbook[workbook.sheetnames[0]].iter_rows())
    header = [cell.value for cell in rows[0]]
    mine = next(row for row in rows[1:] if row[0].value == "huyen-muong-te")
    by_label = dict(zip(header, mine, strict=True))
    form = harness.services.reporting.form("six_month")
    for key, text in hostile.items():
        cell = by_label[form.question(key).label_vi]
        assert (cell.value, cell.data_type, cell.quotePrefix) == (text, "s", True)
    by = by_label["Người nộp"]
    assert (by.value, by.data_type) == ('=HYPERLINK("http://x","bấm")', "s")
    sessions = by_label[form.question("comm_sessions").label_vi]
    assert (sessions.value, sessions.data_type) == (45, "n")
    assert by_label["Thời điểm nộp"].is_date

    period = harness.services.periods.by_key("six_month:2023")
    assert period is not None
    csv_text = write_csv(period_sheet(harness.services.reporting, period, "vi"), VI)
    assert b"'=HYPERLINK(" in csv_text
    assert b",=HYPERLINK(" not in csv_text and b'"=HYPERLINK(' not in csv_text
    assert date(2023, 5, 20).isoformat().encode() in csv_text
