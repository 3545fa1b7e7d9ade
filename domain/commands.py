"""Who may use what: the audiences commands are declared for, and the one access rule."""

from __future__ import annotations

from enum import StrEnum

from domain.identity import UserContext


class Audience(StrEnum):
    EVERYONE = "everyone"
    REGISTERED = "registered"  # focal points, office staff and admins
    OFFICE = "office"  # office staff and admins
    ADMIN = "admin"


def may_use(user: UserContext | None, audience: Audience) -> bool:
    """Deny by default: only the roles the audience names pass."""
    if audience is Audience.EVERYONE:
        return True
    if user is None:
        return False
    if audience is Audience.REGISTERED:
        return user.is_registered
    if audience is Audience.OFFICE:
        return user.is_office
    return user.is_admin
