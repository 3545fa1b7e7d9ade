"""Consolidated figures for the office: an .xlsx (or .csv) of every unit's report.

Only submitted versions count towards the totals: a draft is shown with its status but its
figures stay out of what the office reports upwards.

Every text in the file came from someone (an answer, a person's Telegram name, a unit's
name): text that starts like a formula (``=HYPERLINK(…)``, ``+1+1``, ``-2+3``, ``@SUM(…)``, a
tab, a carriage return) would run when the office opens the file, so it is written as text
(a string cell marked with a quote prefix in .xlsx, a leading ``'`` in .csv). Numbers stay
numbers and dates real date cells, so the office can still add and sort them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from domain.forms.definition import Form, Question
from domain.forms.parsing import format_value
from domain.i18n import Translator
from domain.lifecycle import person_name
from domain.periods import PeriodView
from domain.reporting import ReportingService, ReportSnapshot

NUMERIC_TYPES = {"integer", "decimal", "percentage"}
SUMMABLE_TYPES = {"integer", "decimal"}  # a sum of percentages means nothing
KIND_ORDER = ("department", "organisation", "district", "commune")
# What spreadsheet programs read as the start of a formula (OWASP's "CSV injection" list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DATE_FORMAT = "DD/MM/YYYY"
DATETIME_FORMAT = "DD/MM/YYYY HH:MM"


def looks_like_formula(value: object) -> bool:
    """Whether a spreadsheet would run this text instead of showing it."""
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


@dataclass(frozen=True)
class ExportSheet:
    title: str
    form: Form
    snapshots: Sequence[ReportSnapshot]

    @property
    def submitted(self) -> int:
        return sum(1 for snapshot in self.snapshots if snapshot.status == "submitted")


def period_sheet(reporting: ReportingService, period: PeriodView, language: str) -> ExportSheet:
    """One period's export: every unit it concerns, with its latest answers."""
    return ExportSheet(
        period.label(language), reporting.form(period.form_key), reporting.snapshots(period)
    )


def _kind_label(kind: str, t: Translator) -> str:
    labels = {
        "department": t("Department"),
        "organisation": t("Organisation"),
        "district": t("District"),
        "commune": t("Commune"),
    }
    return labels.get(kind, kind)


def _status_label(snapshot: ReportSnapshot, t: Translator) -> str:
    return {
        "submitted": t("Submitted"),
        "draft": t("In progress"),
        "not_started": t("Not started"),
    }[snapshot.status]


def _cell_value(question: Question, value: Any, language: str) -> Any:
    """A number stays a number and a date a date; anything else as the review shows it."""
    if value is None:
        return None
    if question.type in NUMERIC_TYPES and isinstance(value, int | float):
        return value
    if question.type == "date" and isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    return format_value(question, value, language)


def table(sheet: ExportSheet, t: Translator) -> tuple[list[str], list[list[Any]], list[list[Any]]]:
    """Header, one row per unit, and the totals rows (all units, then per unit kind)."""
    language = t.language
    questions = list(sheet.form.questions)
    header = [
        t("Code"),
        t("Unit"),
        t("Kind"),
        t("Status"),
        t("Submitted at"),
        t("By"),
        t("On time"),
        *[question.label(language) for question in questions],
    ]
    body: list[list[Any]] = []
    for snap in sheet.snapshots:
        submitted = snap.status == "submitted"
        on_time = "" if not submitted else (t("Late") if snap.late else t("On time"))
        # Local time without a zone: spreadsheet cells have none.
        when = snap.submitted_at.astimezone(t.tz).replace(tzinfo=None) if snap.submitted_at else ""
        values = [
            _cell_value(q, snap.answers.get(q.key), language) if submitted else None
            for q in questions
        ]
        body.append(
            [
                snap.unit.code,
                snap.unit.name(language),
                _kind_label(snap.unit.kind, t),
                _status_label(snap, t),
                when,
                person_name(snap.submitted_by, t),  # "a former focal point" translated
                on_time,
                *values,
            ]
        )
    totals: list[list[Any]] = []
    groups: list[tuple[str, list[ReportSnapshot]]] = [
        (t("Total, all units"), list(sheet.snapshots))
    ]
    for kind in KIND_ORDER:
        members = [s for s in sheet.snapshots if s.unit.kind == kind]
        if members:
            groups.append((t("Total: {kind}", kind=_kind_label(kind, t)), members))
    for label, members in groups:
        done = [s for s in members if s.status == "submitted"]
        row: list[Any] = [
            "",
            label,
            "",
            t("{done}/{total} submitted", done=len(done), total=len(members)),
            "",
            "",
            "",
        ]
        for question in questions:
            if question.type in SUMMABLE_TYPES:
                numbers = [
                    s.answers[question.key]
                    for s in done
                    if isinstance(s.answers.get(question.key), int | float)
                ]
                row.append(sum(numbers))
            else:
                row.append(None)
        totals.append(row)
    return header, body, totals


def write_xlsx(sheets: Sequence[ExportSheet], t: Translator, *, generated_at: datetime) -> bytes:
    """One sheet per period/form, plus the units that have not submitted.

    In openpyxl's write-only mode the rows stream into the file instead of living as one
    object per cell (10,000 units x 48 columns): the bot's memory stays flat and it is faster.
    Column widths and frozen panes must then be set before the first row.
    """
    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    shade = PatternFill("solid", fgColor="DDEBF7")
    wrap = Alignment(wrap_text=True, vertical="top")
    for sheet in sheets:
        header, body, totals = table(sheet, t)
        ws = workbook.create_sheet(_sheet_title(sheet.title, workbook.sheetnames))
        ws.freeze_panes = "C2"
        for index, width in enumerate([16, 40, 14, 14, 22, 22, 10], start=1):
            ws.column_dimensions[get_column_letter(index)].width = width
        for index in range(8, len(header) + 1):
            ws.column_dimensions[get_column_letter(index)].width = 18
        ws.append([_cell(ws, value, font=bold, alignment=wrap) for value in header])
        for row in body:
            ws.append([_cell(ws, value) for value in row])
        for row in totals:
            ws.append([_cell(ws, value, font=bold, fill=shade) for value in row])
    missing_ws = workbook.create_sheet(_sheet_title(t("Not submitted"), workbook.sheetnames))
    missing_ws.column_dimensions["A"].width = 36
    missing_ws.column_dimensions["C"].width = 40
    missing_header = [t("Report"), t("Code"), t("Unit"), t("Kind"), t("Status")]
    missing_ws.append([_cell(missing_ws, value, font=bold) for value in missing_header])
    for sheet in sheets:
        for snap in sheet.snapshots:
            if snap.status != "submitted":
                row = [
                    sheet.title,
                    snap.unit.code,
                    snap.unit.name(t.language),
                    _kind_label(snap.unit.kind, t),
                    _status_label(snap, t),
                ]
                missing_ws.append([_cell(missing_ws, value) for value in row])
    workbook.properties.creator = "vstbpn-bot"
    workbook.properties.created = generated_at.replace(tzinfo=None)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _cell(
    ws: Any,
    value: Any,
    *,
    font: Font | None = None,
    fill: PatternFill | None = None,
    alignment: Alignment | None = None,
) -> Any:
    """The value as the write-only mode takes it: plain, or a cell with its style, its date
    format, or (for text that starts like a formula) marked as text."""
    formula_like = looks_like_formula(value)
    when = isinstance(value, dt.date)
    if font is None and fill is None and alignment is None and not formula_like and not when:
        return value
    cell = WriteOnlyCell(ws, value=value)
    if formula_like:
        cell.data_type = "s"  # openpyxl took it for a formula
        cell.quotePrefix = True  # and Excel keeps it text when someone edits the cell
    elif isinstance(value, datetime):
        cell.number_format = DATETIME_FORMAT
    elif when:
        cell.number_format = DATE_FORMAT
    if font is not None:
        cell.font = font
    if fill is not None:
        cell.fill = fill
    if alignment is not None:
        cell.alignment = alignment
    return cell


def write_csv(sheet: ExportSheet, t: Translator) -> bytes:
    header, body, totals = table(sheet, t)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in (header, *body, *totals):
        writer.writerow([_csv_value(value) for value in row])
    # A BOM so that Excel opens the Vietnamese text as UTF-8.
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _csv_value(value: Any) -> Any:
    """Text that starts like a formula gets a leading ``'``; dates as ISO, which every
    spreadsheet reads as a date whatever its locale."""
    if looks_like_formula(value):
        return "'" + str(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _sheet_title(title: str, taken: Sequence[str]) -> str:
    cleaned = "".join("-" if c in "[]:*?/\\" else c for c in title)[:31] or "Sheet"
    candidate, number = cleaned, 2
    while candidate in taken:
        suffix = f" ({number})"
        candidate = cleaned[: 31 - len(suffix)] + suffix
        number += 1
    return candidate
