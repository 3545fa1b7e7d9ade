"""Reading the audit log back."""

from __future__ import annotations

from storage import repositories as repo
from storage.db import Database
from storage.models import AuditEntry


def recent_actions(db: Database, limit: int = 20, *, skip: int = 0) -> list[AuditEntry]:
    """The ``limit`` actions before the ``skip`` most recent ones, newest first."""
    with db.transaction() as session:
        return list(repo.recent_audit(session, max(1, min(limit, 200)), max(0, skip)))
