"""The export's table without a bot: which figures count towards the totals, per kind of unit,
how statuses, lateness and cells read, and how text that looks like a formula is defused.

Fast (no database): this judges domain/export.py in `make mutate`; the end-to-end export
(the /export command, the CLI, the .xlsx) is tests/test_export.py.
"""

from __future__ import annotations

import datetime as dt
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from domain.export import (
    ExportSheet,
    _csv_value,
    _sheet_title,
    looks_like_formula,
    table,
    write_csv,
)
from domain.forms.definition import Form, Question, QuestionType
from domain.i18n import translator_for
from domain.identity import UnitRef
from domain.lifecycle import FORMER_FOCAL_POINT
from domain.periods import PeriodView
from domain.reporting import ReportSnapshot

PERIOD = cast(PeriodView, None)  # table() never reads the period


def _question(key: str, kind: QuestionType) -> Question:
    return Question(key, kind, key, key, f"{key} vi", f"{key} en")


FORM = Form(
    "f",
    1,
    "F",
    "F",
    (
        _question("count", QuestionType.INTEGER),
        _question("amount", QuestionType.DECIMAL),
        _question("share", QuestionType.PERCENTAGE),
        _question("held_on", QuestionType.DATE),
        _question("note", QuestionType.SHORT_TEXT),
        _question("agreed", QuestionType.YES_NO),
    ),
)


def _unit(code: str, kind: str) -> UnitRef:
    return UnitRef(
        id=hash(code) % 1000, code=code, name_vi=f"{code} vi", name_en=f"{code} en", kind=kind
    )


def _snap(
    unit: UnitRef,
    status: str,
    answers: dict[str, Any],
    *,
    late: bool = False,
    by: str | None = "Mai",
) -> ReportSnapshot:
    at = datetime(2023, 6, 4, 10, 30, tzinfo=UTC) if status == "submitted" else None
    return ReportSnapshot(unit, PERIOD, status, 1, at, by if at else None, late, answers, {})


SNAPSHOTS = [
    _snap(
        _unit("d1", "department"),
        "submitted",
        {"count": 3, "amount": 1.5, "share": 40, "note": "2023-06-01", "agreed": True},
    ),
    _snap(
        _unit("d2", "department"), "submitted", {"count": 4, "amount": 2, "share": 60}, late=True
    ),
    _snap(_unit("c1", "commune"), "draft", {"count": 100, "amount": 100.0, "share": 10}),
    _snap(
        _unit("c2", "commune"), "submitted", {"count": 5, "note": "=1+1", "held_on": "2023-06-01"}
    ),
    _snap(_unit("o1", "organisation"), "not_started", {}),
    _snap(_unit("h1", "district"), "not_started", {}),
    _snap(_unit("x1", "elsewhere"), "submitted", {"count": "n/a"}, by=FORMER_FOCAL_POINT),
]
SHEET = ExportSheet("Period", FORM, SNAPSHOTS)


def test_totals_count_only_submitted_figures_per_kind() -> None:
    header, body, totals = table(SHEET, translator_for("en"))
    assert header[:7] == ["Code", "Unit", "Kind", "Status", "Submitted at", "By", "On time"]
    assert header[7:] == [
        "count en",
        "amount en",
        "share en",
        "held_on en",
        "note en",
        "agreed en",
    ]
    assert SHEET.submitted == 4
    by_label = {row[1]: row for row in totals}
    assert list(by_label) == [
        "Total, all units",
        "Total: Department",
        "Total: Organisation",
        "Total: District",
        "Total: Commune",
    ]  # in KIND_ORDER, kinds with no unit (district) left out, unknown kinds only in the total
    for row in totals:
        assert row[0] == row[2] == row[4] == row[5] == row[6] == ""
        assert row[9:] == [None, None, None, None]  # no sum of percentages, dates, text, yes/no
    # The draft's 100s and the non-number "n/a" stay out; integers and decimals add up.
    assert by_label["Total, all units"][3] == "4/7 submitted"
    assert by_label["Total: District"][3] == "0/1 submitted"
    assert by_label["Total, all units"][7:9] == [12, 3.5]
    assert by_label["Total: Department"][3] == "2/2 submitted"
    assert by_label["Total: Department"][7:9] == [7, 3.5]
    assert by_label["Total: Organisation"][3] == "0/1 submitted"
    assert by_label["Total: Organisation"][7:9] == [0, 0]
    assert by_label["Total: Commune"][3] == "1/2 submitted"
    assert by_label["Total: Commune"][7:9] == [5, 0]
    assert len(body) == len(SNAPSHOTS)


def test_rows_show_status_lateness_time_and_values() -> None:
    t = translator_for("en")
    _header, body, _totals = table(SHEET, t)
    rows = {row[0]: row for row in body}
    d1, d2, c1, c2, o1, x1 = (rows[c] for c in ("d1", "d2", "c1", "c2", "o1", "x1"))
    assert d1[1:7] == ["d1 en", "Department", "Submitted", d1[4], "Mai", "On time"]
    assert d1[4] == datetime(2023, 6, 4, 17, 30, tzinfo=UTC).replace(
        tzinfo=None
    )  # 10:30 UTC in Hanoi, without a zone
    assert d1[4].tzinfo is None
    assert d2[6] == "Late"
    assert c1[2:7] == ["Commune", "In progress", "", "", ""]
    assert c1[7:] == [None] * 6  # a draft's figures are not shown
    assert rows["h1"][2] == "District"
    assert d1[11] == "2023-06-01"  # a text that looks like a date stays text
    assert d1[12] == "Yes"  # a yes/no (a bool, not a number) as the review shows it
    assert o1[2:4] == ["Organisation", "Not started"]
    assert d1[7:10] == [3, 1.5, 40]
    assert c2[10] == dt.date(2023, 6, 1)
    assert c2[11] == "=1+1"
    assert c2[8] is None  # unanswered
    assert x1[2] == "elsewhere"  # an unknown kind as stored
    assert x1[5] == t(FORMER_FOCAL_POINT)
    assert x1[7] == "n/a"


def test_vietnamese_labels() -> None:
    header, body, totals = table(SHEET, translator_for("vi"))
    assert header[7] == "count vi"
    assert body[0][1] == "d1 vi"
    assert body[0][12] == "Có"
    assert totals[0][1] != "Total, all units"


def test_formulas_are_defused_and_dates_written_as_iso() -> None:
    for text in ("=HYPERLINK(1)", "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"):
        assert looks_like_formula(text)
        assert _csv_value(text) == "'" + text
    for value in ("1+1", "a=b", "", 5, -3, None):
        assert not looks_like_formula(value)
        assert _csv_value(value) == value
    assert (
        _csv_value(datetime(2023, 6, 4, 17, 5, tzinfo=UTC).replace(tzinfo=None))
        == "2023-06-04 17:05"
    )
    assert _csv_value(dt.date(2023, 6, 4)) == "2023-06-04"
    csv = write_csv(SHEET, translator_for("en")).decode("utf-8")
    assert csv.startswith("\ufeffCode,Unit,")
    assert ",'=1+1" in csv
    assert "2023-06-04 17:30" in csv


@pytest.mark.parametrize(
    ("title", "taken", "expected"),
    [
        ("6 tháng/2023", [], "6 tháng-2023"),
        ("a[b]:c*d?e\\f", [], "a-b--c-d-e-f"),
        ("", [], "Sheet"),
        ("Xã X", [], "Xã X"),
        ("x" * 40, [], "x" * 31),
        ("Report", ["Report"], "Report (2)"),
        ("Report", ["Report", "Report (2)"], "Report (3)"),
        ("y" * 40, ["y" * 31], "y" * 27 + " (2)"),
    ],
)
def test_sheet_titles(title: str, taken: list[str], expected: str) -> None:
    assert _sheet_title(title, taken) == expected
