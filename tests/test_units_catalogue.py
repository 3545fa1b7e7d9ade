"""Units import: idempotent by code, renames and archives, line-numbered errors, all or nothing."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import select

from domain.clock import FixedClock
from domain.units import DEFAULT_CATALOGUE, CatalogueError, UnitCatalogue, parse_catalogue
from storage.db import Database, make_engine, upgrade
from storage.models import Unit

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def catalogue(tmp_path: Path) -> UnitCatalogue:
    engine = make_engine(f"sqlite:///{tmp_path / 'u.sqlite3'}")
    upgrade(engine)
    return UnitCatalogue(Database(engine), FixedClock(datetime(2023, 3, 23, tzinfo=UTC)))


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_default_catalogue_imports_and_is_idempotent(catalogue: UnitCatalogue) -> None:
    first = catalogue.import_file(DEFAULT_CATALOGUE)
    assert len(first.created) == 49
    second = catalogue.import_file(DEFAULT_CATALOGUE)
    assert second.created == []
    assert second.updated == []
    assert len(second.unchanged) == 49
    active = catalogue.list_units()
    assert len(active) == 34
    assert {u.kind.value for u in active} == {"department", "organisation", "district"}


def test_rename_archive_and_restore_keep_history(catalogue: UnitCatalogue, tmp_path: Path) -> None:
    catalogue.import_file(
        _write(
            tmp_path / "a.yaml",
            "units:\n"
            "  - {code: xa-a, name_vi: Xã A, kind: commune}\n"
            "  - {code: xa-b, name_vi: Xã B, kind: commune, parent: xa-a}\n",
        )
    )
    result = catalogue.import_file(
        _write(
            tmp_path / "b.csv",
            "code,name_vi,kind,active\nxa-a,Xã A mới,commune,true\nxa-b,Xã B,commune,false\n",
        )
    )
    assert result.updated == ["xa-a"]
    assert result.archived == ["xa-b"]
    all_units = {u.code: u for u in catalogue.list_units(include_archived=True)}
    assert all_units["xa-a"].name_vi == "Xã A mới"
    assert not all_units["xa-b"].active
    assert all_units["xa-b"].parent_id == all_units["xa-a"].id  # parent kept
    restored = catalogue.import_file(
        _write(tmp_path / "c.yaml", "- {code: xa-b, name_vi: Xã B, kind: commune}\n")
    )
    assert restored.restored == ["xa-b"]


def test_bad_file_reports_every_line_and_imports_nothing(
    catalogue: UnitCatalogue, tmp_path: Path
) -> None:
    bad = _write(
        tmp_path / "bad.yaml",
        "units:\n"
        "  - {code: ok-unit, name_vi: Tốt, kind: department}\n"
        "  - {code: Bad Code, name_vi: X, kind: department}\n"
        "  - {code: no-kind, name_vi: Y, kind: planet}\n"
        "  - {code: ok-unit, name_vi: Lặp, kind: department}\n",
    )
    with pytest.raises(CatalogueError) as error:
        catalogue.import_file(bad)
    problems = error.value.problems
    assert problems[0].startswith("bad.yaml:3:")
    assert problems[1].startswith("bad.yaml:4:")
    assert problems[2].startswith("bad.yaml:5:")
    assert "already given on line 2" in problems[2]
    with catalogue._db.transaction() as session:
        assert session.exec(select(Unit)).all() == []


def test_csv_errors_have_line_numbers(tmp_path: Path) -> None:
    bad = _write(tmp_path / "u.csv", "code,name_vi,kind\nok,Tốt,district\nx,,district\n")
    with pytest.raises(CatalogueError) as error:
        parse_catalogue(bad)
    assert error.value.problems == ["u.csv:3: unit 'x' has no name_vi"]


def test_unknown_parent_is_refused(catalogue: UnitCatalogue, tmp_path: Path) -> None:
    bad = _write(tmp_path / "p.yaml", "- {code: a, name_vi: A, kind: commune, parent: nowhere}\n")
    with pytest.raises(CatalogueError, match=r"p.yaml:1: parent 'nowhere'"):
        catalogue.import_file(bad)


def test_cli_import_and_list(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
    }
    units_file = _write(tmp_path / "u.yaml", "- {code: xa-moi, name_vi: Xã Mới, kind: commune}\n")
    run = [sys.executable, "-m", "bot", "units"]
    imported = subprocess.run(
        [*run, "import", str(units_file)], env=env, capture_output=True, text=True, check=False
    )
    assert imported.returncode == 0, imported.stderr
    assert "created 1" in imported.stdout
    listed = subprocess.run([*run, "list"], env=env, capture_output=True, text=True, check=False)
    assert "xa-moi" in listed.stdout
    assert "Xã Mới" in listed.stdout
    bad = _write(tmp_path / "bad.csv", "code,name_vi,kind\n,Không mã,commune\n")
    failed = subprocess.run(
        [*run, "import", str(bad)], env=env, capture_output=True, text=True, check=False
    )
    assert failed.returncode == 1
    assert "bad.csv:2:" in failed.stderr
