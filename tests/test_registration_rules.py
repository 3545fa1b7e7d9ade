"""Invite codes through the real registration service: what a code is, how long it lives, what
redeeming it twice, late or for an archived unit does, and the channel's cap at its boundary.

Fast (no bot): these and tests/test_invite_lockout.py judge domain/registration.py in
`make mutate`.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from domain.clock import FixedClock
from domain.errors import DomainError, NotFoundError
from domain.i18n import translator_for
from domain.identity import ChannelIdentity, UnitRef
from domain.registration import (
    CODE_BYTES,
    RegistrationError,
    UserCapError,
    UserCapReached,
    hash_code,
    looks_like_code,
)
from domain.services import Services
from storage.models import Account, AuditEntry, FocalPoint, Invite, RegistrationAttempt, Unit
from tests.conftest import open_services

UNIT = "huyen-muong-te"
TTL = timedelta(days=14)  # build_services' default
MAI = ChannelIdentity("telegram", "3001", "3001", "Mai")
HOA = ChannelIdentity("telegram", "3002", "3002", "Hoa")


def _reason(services: Services, identity: ChannelIdentity, code: str) -> str:
    with pytest.raises(RegistrationError) as refused:
        services.registration.register(identity, code)
    # Every refusal explains itself to the person, in their language.
    assert "standing office" in refused.value.text.render(translator_for("en"))
    return refused.value.reason


def _attempts(services: Services) -> int:
    with services.db.transaction() as session:
        return len(session.exec(select(RegistrationAttempt)).all())


def test_hash_and_shape_of_a_code() -> None:
    assert hash_code("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert hash_code("Đ") != hash_code("D")
    assert looks_like_code("a" * 16)
    assert looks_like_code("a" * 64)
    assert looks_like_code("  " + "Ab-_9" * 4 + "  ")  # typed with spaces around
    assert not looks_like_code("a" * 15)
    assert not looks_like_code("a" * 65)
    assert not looks_like_code("a" * 15 + "!")
    assert not looks_like_code("xin chào các bạn")


def test_an_invite_is_random_hashed_and_lives_its_ttl(
    services: Services, clock: FixedClock
) -> None:
    issued = services.registration.create_invite(f"  {UNIT.upper()} ", actor="admin:1")
    again = services.registration.create_invite(UNIT, actor="admin:1")
    assert issued.code != again.code
    assert len(issued.code) == 32 and CODE_BYTES == 24
    assert looks_like_code(issued.code)
    assert issued.unit.code == UNIT
    assert issued.expires_at == clock.now() + TTL
    with services.db.transaction() as session:
        invite = session.exec(
            select(Invite).where(Invite.code_hash == hash_code(issued.code))
        ).one()
        assert invite.created_by == "admin:1"
        assert invite.created_at == clock.now()
        assert invite.used_at is None
        audit = session.exec(select(AuditEntry).where(AuditEntry.action == "invite.create")).all()
        assert [(a.actor, a.target) for a in audit] == [("admin:1", UNIT), ("admin:1", UNIT)]


def test_no_invite_for_an_unknown_or_archived_unit(services: Services) -> None:
    with pytest.raises(NotFoundError) as unknown:
        services.registration.create_invite("nowhere", actor="t")
    assert unknown.value.text.params["code"] == "nowhere"
    with services.db.transaction() as session:
        unit = session.exec(select(Unit).where(Unit.code == UNIT)).one()
        unit.active = False
    with pytest.raises(DomainError) as archived:
        services.registration.create_invite(UNIT, actor="t")
    assert not isinstance(archived.value, NotFoundError)
    assert archived.value.text.params["code"] == UNIT


def test_expiry_is_exclusive_at_the_instant(services: Services, clock: FixedClock) -> None:
    start = clock.now()
    late = services.registration.create_invite(UNIT, actor="t").code
    just_in_time = services.registration.create_invite(UNIT, actor="t").code
    clock.set(start + TTL)
    assert _reason(services, MAI, late) == "expired"
    assert _attempts(services) == 1  # an expired code counts as a wrong one
    clock.set(start + TTL - timedelta(seconds=1))
    assert services.registration.register(HOA, just_in_time).unit.code == UNIT


def test_redeeming_registers_once_and_counts_the_others(
    services: Services, clock: FixedClock
) -> None:
    code = services.registration.create_invite(UNIT, actor="t").code
    first = services.registration.register(MAI, f"  {code}\n")  # pasted with whitespace
    assert (first.unit.code, first.already_registered, first.other_focal_points) == (UNIT, False, 0)
    with services.db.transaction() as session:
        account = session.exec(select(Account).where(Account.external_id == "3001")).one()
        assert (account.chat_id, account.display_name, account.created_at) == (
            "3001",
            "Mai",
            clock.now(),
        )
        invite = session.exec(select(Invite).where(Invite.code_hash == hash_code(code))).one()
        assert invite.used_at == clock.now() and invite.used_by_account_id == account.id
        point = session.exec(select(FocalPoint)).one()
        assert point.account_id == account.id and point.invite_id == invite.id and point.active
        audit = session.exec(
            select(AuditEntry).where(AuditEntry.action == "focal_point.register")
        ).one()
        assert (audit.actor, audit.target) == ("telegram:3001", UNIT)
        assert json.loads(audit.details) == {"invite_id": invite.id}
        assert account.last_seen_at == clock.now()

    # The same person with the same code again: told, not counted as a wrong code.
    again = services.registration.register(MAI, code)
    assert (again.unit.code, again.already_registered, again.other_focal_points) == (UNIT, True, 0)
    assert _attempts(services) == 0
    # Someone else with that code: used up, and it counts.
    assert _reason(services, HOA, code) == "used"
    assert _attempts(services) == 1

    second = services.registration.register(
        HOA, services.registration.create_invite(UNIT, actor="t").code
    )
    assert (second.already_registered, second.other_focal_points) == (False, 1)
    # Mai registering again with a new code for the same unit: already active, one other.
    third = services.registration.register(
        MAI, services.registration.create_invite(UNIT, actor="t").code
    )
    assert (third.already_registered, third.other_focal_points) == (True, 1)


def test_a_removed_focal_point_comes_back_with_a_new_code(services: Services) -> None:
    services.registration.register(MAI, services.registration.create_invite(UNIT, actor="t").code)
    with services.db.transaction() as session:
        point = session.exec(select(FocalPoint)).one()
        point.active = False
    code = services.registration.create_invite(UNIT, actor="t").code
    back = services.registration.register(MAI, code)
    assert back.already_registered is False
    with services.db.transaction() as session:
        point = session.exec(select(FocalPoint)).one()  # the same row, reactivated
        invite = session.exec(select(Invite).where(Invite.code_hash == hash_code(code))).one()
        assert point.active and point.invite_id == invite.id


def test_empty_unknown_and_archived(services: Services) -> None:
    assert _reason(services, MAI, "   ") == "unknown"
    assert _reason(services, MAI, "x" * 32) == "unknown"
    assert _attempts(services) == 2
    code = services.registration.create_invite(UNIT, actor="t").code
    with services.db.transaction() as session:
        unit = session.exec(select(Unit).where(Unit.code == UNIT)).one()
        unit.active = False
    assert _reason(services, MAI, code) == "archived"
    with services.db.transaction() as session:
        invite = session.exec(select(Invite).where(Invite.code_hash == hash_code(code))).one()
        assert invite.used_at is None
        assert session.exec(select(FocalPoint)).all() == []


def test_four_wrong_codes_do_not_lock(services: Services, clock: FixedClock) -> None:
    for _ in range(4):
        assert _reason(services, MAI, "y" * 32) == "unknown"
    assert services.registration.locked_until(MAI) is None
    code = services.registration.create_invite(UNIT, actor="t").code
    assert services.registration.register(MAI, code).unit.code == UNIT


def test_the_cap_counts_people_not_units_and_tells_the_office_once_a_day(
    tmp_path: Path, clock: FixedClock
) -> None:
    capped = open_services(
        tmp_path / "cap.sqlite3", clock, max_users_per_channel={"zalo": 2, "telegram": 1}
    )
    told: list[UserCapReached] = []
    capped.registration.on_user_cap = told.append
    params: list[dict[str, object]] = []

    def register(person: str, unit: str = UNIT, channel: str = "zalo") -> str:
        code = capped.registration.create_invite(unit, actor="t").code
        try:
            capped.registration.register(ChannelIdentity(channel, person, person, person), code)
        except RegistrationError as error:
            params.append(dict(error.text.params))
            return error.reason
        return "ok"

    # Telegram's people do not take Zalo's places (and Telegram's one place is its own).
    assert register("t1", channel="telegram") == "ok"
    assert register("t2", channel="telegram") == "user_cap"
    assert params == [{"limit": 1, "channel": "Telegram"}]
    told.clear()
    assert register("z1") == "ok"
    assert register("z1", "so-y-te") == "ok"  # a second unit: still one person
    assert register("z2") == "ok"  # the second of two places
    assert register("z2") == "ok"  # registering again: not one more
    assert register("z3") == "user_cap"
    assert [(r.identity.external_id, r.unit.code, r.limit) for r in told] == [("z3", UNIT, 2)]
    assert params[-1] == {"limit": 2, "channel": "Zalo"}
    assert register("z4") == "user_cap"  # another person: the office hears of them too
    assert [r.identity.external_id for r in told] == ["z3", "z4"]
    told.remove(told[-1])
    clock.advance(timedelta(hours=23, minutes=59, seconds=59))
    assert register("z3") == "user_cap"
    assert len(told) == 1  # told less than a day ago: not again
    clock.advance(timedelta(seconds=1))
    assert register("z3") == "user_cap"
    assert len(told) == 2  # a day later to the second: told again
    with capped.db.transaction() as session:
        audit = session.exec(
            select(AuditEntry).where(AuditEntry.action == "focal_point.user_cap")
        ).all()
        targets = [(a.actor, a.target) for a in audit if a.target.startswith("zalo")]
        z2 = session.exec(select(Account).where(Account.external_id == "z2")).one()
        for point in session.exec(select(FocalPoint).where(FocalPoint.account_id == z2.id)):
            point.active = False  # z2 leaves (/remove): their place is free
        assert json.loads(audit[-1].details) == {"unit": UNIT, "limit": 2}
        assert targets == [("zalo:z3", "zalo:z3"), ("zalo:z4", "zalo:z4"), ("zalo:z3", "zalo:z3")]
    assert register("z3") == "ok"
    capped.db.engine.dispose()


def test_a_channel_without_a_display_name_is_named_as_is() -> None:
    unit = UnitRef(id=1, code=UNIT, name_vi="Mường Tè", name_en="Muong Te", kind="district")
    reached = UserCapReached(ChannelIdentity("sms", "1", "1"), unit, 3)
    refused = UserCapError(reached, notify=False)
    assert refused.text.params == {"limit": 3, "channel": "sms"}
    assert (refused.reason, refused.reached, refused.notify) == ("user_cap", reached, False)


def test_a_long_name_is_cut_and_no_hook_is_needed(tmp_path: Path, clock: FixedClock) -> None:
    capped = open_services(tmp_path / "one.sqlite3", clock, max_users_per_channel={"zalo": 1})
    long_name = "Nguyễn " * 50  # 350 characters
    first = capped.registration.create_invite(UNIT, actor="t").code
    capped.registration.register(ChannelIdentity("zalo", "z1", "c1", long_name), first)
    with capped.db.transaction() as session:
        account = session.exec(select(Account)).one()
        assert account.display_name == long_name[:200]
    # Past the cap with nobody listening (on_user_cap unset): the refusal, nothing else.
    second = capped.registration.create_invite(UNIT, actor="t").code
    with pytest.raises(RegistrationError) as refused:
        capped.registration.register(ChannelIdentity("zalo", "z2", "c2", "Hoa"), second)
    assert refused.value.reason == "user_cap"
    capped.db.engine.dispose()


def test_wrong_codes_count_per_channel(services: Services, clock: FixedClock) -> None:
    on_zalo = ChannelIdentity("zalo", "3001", "3001", "Mai on Zalo")
    start = clock.now()
    for _ in range(5):
        assert _reason(services, on_zalo, "z" * 32) == "unknown"
    assert services.registration.locked_until(on_zalo) == start + timedelta(hours=1)
    assert services.registration.locked_until(MAI) is None  # the same id on Telegram
    clock.set(start + timedelta(seconds=1))
    code = services.registration.create_invite(UNIT, actor="t").code
    with pytest.raises(RegistrationError) as refused:
        services.registration.register(on_zalo, code)
    # 59 minutes 59 seconds left: "wait 60 minutes", rounded up.
    assert (refused.value.reason, refused.value.text.params) == ("locked", {"minutes": 60})
