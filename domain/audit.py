"""The audit log of admin actions."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlmodel import Session

from storage.models import AuditEntry


def record_action(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    target: str = "",
    **details: Any,
) -> None:
    """Append one entry in the caller's transaction (it lands or fails with the action)."""
    session.add(
        AuditEntry(
            at=at,
            actor=actor,
            action=action,
            target=target,
            details=json.dumps(details, ensure_ascii=False, default=str) if details else "",
        )
    )
