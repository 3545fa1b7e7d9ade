"""The one access rule (domain.commands.may_use) over every audience × role, without a bot.

The permission matrix end to end is tests/test_permissions.py; this is the fast table that
`make mutate` judges domain/commands.py and domain/identity.py with.
"""

from __future__ import annotations

import pytest

from domain.commands import Audience, may_use
from domain.identity import ChannelIdentity, UnitRef, UserContext
from storage.models import Role

UNIT = UnitRef(id=7, code="HN", name_vi="Hà Nội", name_en="Hanoi", kind="province")


def _user(*, roles: tuple[Role, ...] = (), units: tuple[UnitRef, ...] = ()) -> UserContext:
    identity = ChannelIdentity(channel="telegram", external_id="42", chat_id="42")
    return UserContext(
        account_id=1, identity=identity, language="vi", roles=frozenset(roles), units=units
    )


WHO = {
    "anonymous": None,
    "stranger": _user(),
    "focal": _user(units=(UNIT,)),
    "office": _user(roles=(Role.OFFICE,)),
    "admin": _user(roles=(Role.ADMIN,)),
    "office_focal": _user(roles=(Role.OFFICE,), units=(UNIT,)),
}

ALLOWED = {
    Audience.EVERYONE: set(WHO),
    Audience.REGISTERED: {"focal", "office", "admin", "office_focal"},
    Audience.OFFICE: {"office", "admin", "office_focal"},
    Audience.ADMIN: {"admin"},
}


@pytest.mark.parametrize("audience", list(Audience))
@pytest.mark.parametrize("who", list(WHO))
def test_may_use_matrix(audience: Audience, who: str) -> None:
    assert may_use(WHO[who], audience) is (who in ALLOWED[audience])


def test_roles_of_a_context() -> None:
    stranger, focal, office, admin = (WHO[k] for k in ("stranger", "focal", "office", "admin"))
    assert stranger is not None and focal is not None and office is not None and admin is not None
    assert (stranger.is_registered, stranger.is_focal_point, stranger.is_office) == (
        False,
        False,
        False,
    )
    assert (focal.is_registered, focal.is_focal_point, focal.is_office, focal.is_admin) == (
        True,
        True,
        False,
        False,
    )
    assert (office.is_registered, office.is_office, office.is_admin) == (True, True, False)
    assert (admin.is_registered, admin.is_office, admin.is_admin) == (True, True, True)


def test_identity_names() -> None:
    identity = ChannelIdentity(channel="zalo", external_id="9001", chat_id="c")
    assert identity.actor == "zalo:9001"
    assert UNIT.name("en") == "Hanoi"
    assert UNIT.name("vi") == "Hà Nội"
    nameless = UnitRef(id=8, code="X", name_vi="Xã", name_en="", kind="commune")
    assert nameless.name("en") == "Xã"
