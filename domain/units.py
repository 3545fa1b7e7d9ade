"""The units catalogue: import from YAML or CSV (idempotent, by code), list, archive.

An import never deletes: a unit missing from the file stays as it is, a unit marked
``active: false`` (or ``status: archived``) is archived with its history kept.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from domain.audit import record_action
from domain.clock import Clock
from storage import repositories as repo
from storage.db import Database
from storage.models import Unit, UnitKind

DEFAULT_CATALOGUE = Path(__file__).resolve().parent.parent / "content" / "units_laichau.yaml"
CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_TRUE = {"true", "1", "yes", "y", "co", "có", "active"}
_FALSE = {"false", "0", "no", "n", "khong", "không", "archived", "inactive"}


@dataclass(frozen=True)
class UnitRecord:
    """One unit as the file describes it, with the line it came from."""

    line: int
    code: str
    name_vi: str
    name_en: str
    kind: UnitKind
    parent_code: str | None
    active: bool


@dataclass
class ImportResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


class CatalogueError(Exception):
    """A catalogue file that cannot be imported; ``problems`` are "file:line: message" lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


class _LineLoader(yaml.SafeLoader):
    """A YAML loader that remembers on which line each mapping starts."""


def _construct_mapping_with_line(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping = {str(key): value for key, value in loader.construct_mapping(node, deep=True).items()}
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping_with_line,
)


def parse_catalogue(path: Path) -> list[UnitRecord]:
    """Read and validate a YAML or CSV catalogue; raise CatalogueError listing every problem."""
    name = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogueError([f"{name}: cannot read: {exc}"]) from None
    if path.suffix.lower() == ".csv":
        raw_rows = _csv_rows(text)
    elif path.suffix.lower() in {".yaml", ".yml"}:
        raw_rows = _yaml_rows(name, text)
    else:
        raise CatalogueError([f"{name}: unsupported file type (use .yaml, .yml or .csv)"])
    return _validate(name, raw_rows)


def _yaml_rows(name: str, text: str) -> list[tuple[int, dict[str, Any]]]:
    try:
        document = yaml.load(text, Loader=_LineLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise CatalogueError([f"{name}{line}: not valid YAML: {exc}"]) from None
    items = document.get("units") if isinstance(document, dict) else document
    if not isinstance(items, list):
        raise CatalogueError([f"{name}:1: expected a list of units (or a 'units:' list)"])
    rows: list[tuple[int, dict[str, Any]]] = []
    for item in items:
        if not isinstance(item, dict):
            raise CatalogueError([f"{name}: every unit must be a mapping with code, name_vi, kind"])
        line_number = int(item.pop("__line__", 0))
        rows.append((line_number, item))
    return rows


def _csv_rows(text: str) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text))
    rows: list[tuple[int, dict[str, Any]]] = []
    for row in reader:
        cleaned = {(key or "").strip(): (value or "").strip() for key, value in row.items() if key}
        if any(cleaned.values()):
            rows.append((reader.line_num, cleaned))
    return rows


def _as_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def _validate(name: str, rows: list[tuple[int, dict[str, Any]]]) -> list[UnitRecord]:
    problems: list[str] = []
    records: list[UnitRecord] = []
    seen: dict[str, int] = {}
    kinds = {kind.value for kind in UnitKind}
    for line, row in rows:
        where = f"{name}:{line}"
        code = str(row.get("code") or "").strip()
        name_vi = str(row.get("name_vi") or row.get("name") or "").strip()
        name_en = str(row.get("name_en") or "").strip()
        kind = str(row.get("kind") or "").strip().lower()
        parent = str(row.get("parent") or row.get("parent_code") or "").strip() or None
        active_raw = row.get("active", "")
        status = str(row.get("status") or "").strip().lower()
        active = True
        if status:
            active = status != "archived"
        if active_raw not in ("", None):
            parsed = _as_bool(active_raw)
            if parsed is None:
                problems.append(f"{where}: 'active' must be true or false, not {active_raw!r}")
                continue
            active = parsed
        if not CODE_PATTERN.match(code):
            problems.append(
                f"{where}: code {code!r} must be 1-63 lower-case letters, digits or '-'"
            )
            continue
        if code in seen:
            problems.append(f"{where}: code {code!r} already given on line {seen[code]}")
            continue
        seen[code] = line
        if not name_vi:
            problems.append(f"{where}: unit {code!r} has no name_vi")
        if len(name_vi) > 300 or len(name_en) > 300:
            problems.append(f"{where}: unit {code!r} has a name over 300 characters")
        if kind not in kinds:
            problems.append(
                f"{where}: unit {code!r} has kind {kind!r}; use one of {', '.join(sorted(kinds))}"
            )
            continue
        if parent == code:
            problems.append(f"{where}: unit {code!r} cannot be its own parent")
        records.append(UnitRecord(line, code, name_vi, name_en, UnitKind(kind), parent, active))
    if problems:
        raise CatalogueError(problems)
    return records


class UnitCatalogue:
    """Units: import, list and look up."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    def import_file(self, path: Path, *, actor: str = "cli") -> ImportResult:
        """Import a catalogue in one transaction: all of it or nothing."""
        records = parse_catalogue(path)
        return self.import_records(records, source=path.name, actor=actor)

    def import_records(
        self, records: Sequence[UnitRecord], *, source: str, actor: str
    ) -> ImportResult:
        now = self._clock.now()
        result = ImportResult()
        with self._db.transaction() as session:
            existing = repo.units_by_codes(session, [record.code for record in records])
            known_codes = set(existing) | {record.code for record in records}
            problems = [
                f"{source}:{record.line}: parent {record.parent_code!r} of {record.code!r} "
                "is neither in the file nor in the database"
                for record in records
                if record.parent_code
                and record.parent_code not in known_codes
                and repo.unit_by_code(session, record.parent_code) is None
            ]
            if problems:
                raise CatalogueError(problems)
            units: dict[str, Unit] = {}
            for record in records:
                unit = existing.get(record.code)
                if unit is None:
                    unit = Unit(
                        code=record.code,
                        name_vi=record.name_vi,
                        name_en=record.name_en,
                        kind=record.kind,
                        active=record.active,
                        created_at=now,
                        updated_at=now,
                        archived_at=None if record.active else now,
                    )
                    session.add(unit)
                    result.created.append(record.code)
                else:
                    self._apply(unit, record, now, result)
                units[record.code] = unit
            session.flush()
            for record in records:
                if not record.parent_code:
                    continue  # a file without a parent keeps the one already recorded
                parent = units.get(record.parent_code) or repo.unit_by_code(
                    session, record.parent_code
                )
                parent_id = parent.id if parent else None
                unit = units[record.code]
                if unit.parent_id != parent_id:
                    unit.parent_id = parent_id
                    if record.code not in result.created and record.code in result.unchanged:
                        result.unchanged.remove(record.code)
                        result.updated.append(record.code)
            record_action(
                session,
                at=now,
                actor=actor,
                action="units.import",
                target=source,
                created=len(result.created),
                updated=len(result.updated),
                archived=len(result.archived),
                restored=len(result.restored),
            )
        return result

    @staticmethod
    def _apply(unit: Unit, record: UnitRecord, now: Any, result: ImportResult) -> None:
        changed = (unit.name_vi, unit.name_en, unit.kind) != (
            record.name_vi,
            record.name_en,
            record.kind,
        )
        unit.name_vi, unit.name_en, unit.kind = record.name_vi, record.name_en, record.kind
        if unit.active and not record.active:
            unit.active, unit.archived_at = False, now
            result.archived.append(record.code)
        elif not unit.active and record.active:
            unit.active, unit.archived_at = True, None
            result.restored.append(record.code)
        elif changed:
            result.updated.append(record.code)
        else:
            result.unchanged.append(record.code)
        if changed or record.code in result.archived or record.code in result.restored:
            unit.updated_at = now

    def list_units(self, *, include_archived: bool = False) -> list[Unit]:
        with self._db.transaction() as session:
            return list(repo.units(session, include_archived=include_archived))

    def ensure_default_catalogue(self) -> ImportResult | None:
        """Seed the shipped catalogue into an empty database (first start, demo)."""
        with self._db.transaction() as session:
            if repo.count_rows(session, Unit):
                return None
        return self.import_file(DEFAULT_CATALOGUE, actor="system")


@dataclass(frozen=True)
class FocalPointView:
    name: str
    channel: str
    last_seen_at: Any
    reachable: bool


@dataclass(frozen=True)
class UnitRoster:
    code: str
    name_vi: str
    name_en: str
    kind: str
    focal_points: tuple[FocalPointView, ...]

    def name(self, language: str) -> str:
        return self.name_en if language == "en" and self.name_en else self.name_vi


def roster(db: Database, kind: str | None = None) -> list[UnitRoster]:
    """Active units with their focal points, last activity and reachability."""
    with db.transaction() as session:
        result = []
        for unit in repo.units(session):
            if kind and unit.kind.value != kind:
                continue
            assert unit.id is not None
            points = tuple(
                FocalPointView(
                    account.display_name or account.external_id,
                    account.channel,
                    account.last_seen_at,
                    account.unreachable_at is None,
                )
                for _fp, account in repo.focal_points_of_unit(session, unit.id)
            )
            result.append(
                UnitRoster(unit.code, unit.name_vi, unit.name_en, unit.kind.value, points)
            )
        return result
