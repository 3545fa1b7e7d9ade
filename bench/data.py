"""Benchmark data, inserted in bulk: units, focal points, reports and their answers.

Registering 10,000 focal points through the invite flow would take minutes; the tables are
filled with SQLAlchemy core inserts instead, with the same values the services would write.
The answers are those of ``tests.forms_helpers.DISTRICT_ANSWERS`` (a plausible 6-month report),
read by the real parser and walked through the real form engine for each kind of unit.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Table, insert, select
from sqlmodel import SQLModel

from domain.forms import engine
from domain.forms.definition import Form
from domain.forms.parsing import parse_answer
from storage.db import Database, make_engine, upgrade
from storage.models import ReportStatus, UnitKind
from tests.forms_helpers import DISTRICT_ANSWERS

VN = ZoneInfo("Asia/Ho_Chi_Minh")
TOKEN = "123456:BENCH-TOKEN-secret-value"
# The 6-month report of 2023 is open (15/5) and due before 5/6: the campaign at its height.
CAMPAIGN_NOW = datetime(2023, 5, 29, 9, 0, tzinfo=VN)
# A day with nothing planned: no reminder is due, the scheduler's first tick sends nothing.
QUIET_NOW = datetime(2023, 8, 16, 9, 0, tzinfo=VN)
# How many units of each kind in every 100 (a province with many communes).
KIND_MIX: tuple[tuple[UnitKind, int], ...] = (
    (UnitKind.DEPARTMENT, 2),
    (UnitKind.ORGANISATION, 2),
    (UnitKind.DISTRICT, 6),
    (UnitKind.COMMUNE, 90),
)
_BATCH = 20_000


def table(name: str) -> Table:
    return SQLModel.metadata.tables[name]


def open_database(path: Path) -> Database:
    """A new SQLite file, migrated to the latest schema as the bot does at start."""
    engine_ = make_engine(f"sqlite:///{path}")
    upgrade(engine_)
    return Database(engine_)


def _insert(db: Database, name: str, rows: Sequence[dict[str, Any]]) -> None:
    with db.engine.begin() as connection:
        for start in range(0, len(rows), _BATCH):
            connection.execute(insert(table(name)), list(rows[start : start + _BATCH]))


@dataclass(frozen=True)
class BenchUnit:
    unit_id: int
    code: str
    kind: UnitKind
    account_id: int  # its focal point's account
    user_id: int  # the focal point's Telegram id (== private chat id)


def kind_of(index: int) -> UnitKind:
    slot = index % 100
    for kind, share in KIND_MIX:
        if slot < share:
            return kind
        slot -= share
    raise AssertionError("KIND_MIX must add up to 100")


def add_units_with_focal_points(
    db: Database,
    count: int,
    *,
    now: datetime,
    prefix: str = "bench",
    first_user_id: int = 1_000_000,
    kind: UnitKind | None = None,
    channel: str = "telegram",
) -> list[BenchUnit]:
    """``count`` active units (``kind``, or the province's mix), each with one focal point
    registered on ``channel`` (user ids, and so chat ids, are unique per channel only)."""
    codes = [f"{prefix}-{n:05d}" for n in range(count)]
    kinds = [kind or kind_of(n) for n in range(count)]
    _insert(
        db,
        "unit",
        [
            {
                "code": code,
                "name_vi": f"Đơn vị thử {n} ({unit_kind.value})",
                "name_en": f"Bench unit {n}",
                "kind": unit_kind,
                "active": True,
                "created_at": now,
                "updated_at": now,
            }
            for n, (code, unit_kind) in enumerate(zip(codes, kinds, strict=True))
        ],
    )
    user_ids = [first_user_id + n for n in range(count)]
    _insert(
        db,
        "account",
        [
            {
                "channel": channel,
                "external_id": str(user_id),
                "chat_id": str(user_id),
                "display_name": f"Đầu mối {user_id}",
                "language": None,
                "created_at": now,
                "last_seen_at": now,
            }
            for user_id in user_ids
        ],
    )
    unit_t, account_t = table("unit"), table("account")
    with db.engine.connect() as connection:
        unit_ids = dict(
            connection.execute(
                select(unit_t.c.code, unit_t.c.id).where(unit_t.c.code.like(f"{prefix}-%"))
            ).all()
        )
        account_ids = {
            int(external): account_id
            for external, account_id in connection.execute(
                select(account_t.c.external_id, account_t.c.id).where(
                    account_t.c.channel == channel
                )
            ).all()
        }
    units = [
        BenchUnit(unit_ids[code], code, unit_kind, account_ids[user_id], user_id)
        for code, unit_kind, user_id in zip(codes, kinds, user_ids, strict=True)
    ]
    _insert(
        db,
        "focal_point",
        [
            {"account_id": u.account_id, "unit_id": u.unit_id, "active": True, "registered_at": now}
            for u in units
        ],
    )
    return units


def canonical_answers(form: Form, kind: str, today: date) -> list[tuple[str, Any, bool]]:
    """(key, value, skipped) in the order the bot asks, for a unit of ``kind``.

    Typed answers go through the real parser; a question ``DISTRICT_ANSWERS`` does not cover,
    or answers with "skip", is skipped when optional and gets the plain "1" otherwise.
    """
    answers: dict[str, Any] = {}
    skipped: set[str] = set()
    ordered: list[tuple[str, Any, bool]] = []
    while (question := engine.next_question(form, kind, answers, skipped)) is not None:
        raw = DISTRICT_ANSWERS.get(question.key)
        if isinstance(raw, tuple):
            raw = "có" if raw[1] == "Có" else None
        if raw is None and not question.required:
            skipped.add(question.key)
            ordered.append((question.key, None, True))
            continue
        parsed = parse_answer(question, str(raw if raw is not None else "1"), "vi", today=today)
        if not parsed.ok:
            parsed = parse_answer(question, "1", "vi", today=today)
        if not parsed.ok:
            skipped.add(question.key)
            ordered.append((question.key, None, True))
            continue
        answers[question.key] = parsed.value
        ordered.append((question.key, parsed.value, False))
    return ordered


@dataclass(frozen=True)
class ReportMix:
    """Shares of units (per 10) that have submitted, have a draft, or have not started."""

    submitted: int = 7
    draft: int = 2

    def status(self, index: int) -> str:
        slot = index % 10
        if slot < self.submitted:
            return "submitted"
        if slot < self.submitted + self.draft:
            return "draft"
        return "not_started"


def add_reports(
    db: Database,
    period_id: int,
    form: Form,
    units: Sequence[BenchUnit],
    *,
    now: datetime,
    mix: ReportMix = ReportMix(),
    answers_total: int | None = None,
) -> int:
    """Reports of ``units`` for a period: submitted ones with every answer and a version,
    drafts with part of them. ``answers_total`` sets how many answer rows to store in all
    (drafts get more or fewer answers to make it exact, within what they can hold).

    Returns the number of answer rows stored.
    """
    today = now.astimezone(VN).date()
    by_kind = {kind.value: canonical_answers(form, kind.value, today) for kind, _ in KIND_MIX}
    states = [mix.status(index) for index in range(len(units))]
    with_report = [(u, s) for u, s in zip(units, states, strict=True) if s != "not_started"]
    _insert(
        db,
        "report",
        [
            {
                "period_id": period_id,
                "unit_id": unit.unit_id,
                "status": ReportStatus.SUBMITTED if state == "submitted" else ReportStatus.DRAFT,
                "form_version": form.version,
                "created_at": now,
                "updated_at": now,
                "submitted_at": now if state == "submitted" else None,
                "submitted_by_account_id": unit.account_id if state == "submitted" else None,
                "version": 1 if state == "submitted" else 0,
                "amending": False,
            }
            for unit, state in with_report
        ],
    )
    report_t = table("report")
    with db.engine.connect() as connection:
        report_ids = dict(
            connection.execute(
                select(report_t.c.unit_id, report_t.c.id).where(report_t.c.period_id == period_id)
            ).all()
        )
    drafts = [unit for unit, state in with_report if state == "draft"]
    submitted = [unit for unit, state in with_report if state == "submitted"]
    full_rows = sum(len(by_kind[u.kind.value]) for u in submitted)
    per_draft = [len(by_kind[u.kind.value]) // 2 for u in drafts]
    if answers_total is not None and drafts:
        spare = max(0, answers_total - full_rows)
        base, extra = divmod(spare, len(drafts))
        per_draft = [
            min(base + (1 if n < extra else 0), len(by_kind[u.kind.value]) - 1)
            for n, u in enumerate(drafts)
        ]
    answer_rows: list[dict[str, Any]] = []
    versions: list[dict[str, Any]] = []

    def rows_for(unit: BenchUnit, items: Iterable[tuple[str, Any, bool]]) -> None:
        for key, value, skipped in items:
            answer_rows.append(
                {
                    "report_id": report_ids[unit.unit_id],
                    "question_key": key,
                    "value_json": json.dumps(value, ensure_ascii=False),
                    "skipped": skipped,
                    "answered_by_account_id": unit.account_id,
                    "answered_at": now,
                }
            )

    for unit in submitted:
        items = by_kind[unit.kind.value]
        rows_for(unit, items)
        final = {key: value for key, value, skipped in items if not skipped}
        versions.append(
            {
                "report_id": report_ids[unit.unit_id],
                "version": 1,
                "answers_json": json.dumps(final, ensure_ascii=False),
                "submitted_at": now,
                "submitted_by_account_id": unit.account_id,
                "late": False,
            }
        )
    for unit, count in zip(drafts, per_draft, strict=True):
        rows_for(unit, by_kind[unit.kind.value][:count])
    _insert(db, "answer", answer_rows)
    _insert(db, "report_version", versions)
    return len(answer_rows)


def period_id(db: Database, key: str) -> int:
    period_t = table("report_period")
    with db.engine.connect() as connection:
        value = connection.execute(select(period_t.c.id).where(period_t.c.key == key)).scalar()
    if value is None:
        raise LookupError(key)
    return int(value)


class ShiftedClock:
    """Real time moved to ``start``: it runs (so "last seen" changes) from a chosen instant."""

    def __init__(self, start: datetime) -> None:
        self._start = start.astimezone(UTC)
        self._origin = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._origin)


@dataclass
class Campaign:
    """A migrated database with ``units`` units, focal points and six_month:2023 reports."""

    db: Database
    units: list[BenchUnit]
    answers: int
    seconds: float  # to generate


def build_campaign(
    path: Path,
    units: int,
    *,
    now: datetime = CAMPAIGN_NOW,
    answers_total: int | None = None,
    mix: ReportMix = ReportMix(),
) -> Campaign:
    from domain.clock import FixedClock
    from domain.services import build_services

    started = time.perf_counter()
    db = open_database(path)
    services = build_services(db, FixedClock(now))
    services.periods.ensure_year(2023)
    rows = add_units_with_focal_points(db, units, now=now)
    answers = add_reports(
        db,
        period_id(db, "six_month:2023"),
        services.forms["six_month"],
        rows,
        now=now,
        mix=mix,
        answers_total=answers_total,
    )
    return Campaign(db, rows, answers, time.perf_counter() - started)
