"""The schema comes from Alembic and matches the models; SQLite runs with WAL and foreign keys."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel, select

from storage.db import Database, make_engine, upgrade
from storage.models import Unit, UnitKind


@pytest.fixture
def db(tmp_path: Path) -> Database:
    engine = make_engine(f"sqlite:///{tmp_path / 's.sqlite3'}")
    upgrade(engine)
    return Database(engine)


def test_migrations_produce_exactly_the_models(db: Database) -> None:
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert diff == []


def test_wal_and_foreign_keys_are_on(db: Database) -> None:
    with db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    now = datetime.now(UTC)
    orphan = Unit(
        code="x", name_vi="X", kind=UnitKind.COMMUNE, parent_id=999, created_at=now, updated_at=now
    )
    with pytest.raises(IntegrityError), db.transaction() as session:
        session.add(orphan)


def test_times_are_stored_in_utc_and_come_back_aware(db: Database) -> None:
    local = datetime(2023, 6, 5, 8, 0, tzinfo=timezone(timedelta(hours=7)))
    with db.transaction() as session:
        session.add(
            Unit(code="t", name_vi="T", kind=UnitKind.COMMUNE, created_at=local, updated_at=local)
        )
    with db.engine.connect() as connection:
        raw = connection.execute(text("SELECT created_at FROM unit")).scalar()
    assert str(raw).startswith("2023-06-05 01:00:00")
    with db.transaction() as session:
        unit = session.exec(select(Unit)).one()
    assert unit.created_at == local
    assert unit.created_at.tzinfo is not None
