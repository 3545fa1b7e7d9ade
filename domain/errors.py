"""Domain errors carry a message that each channel translates for its reader."""

from __future__ import annotations

from typing import Any

from domain.i18n import LazyText


class DomainError(Exception):
    """A refusal the user should read, e.g. an expired invite."""

    def __init__(self, msgid: str, **params: Any) -> None:
        super().__init__(msgid)
        self.text = LazyText(msgid, params)


class NotFoundError(DomainError):
    pass


class PermissionDeniedError(DomainError):
    pass
