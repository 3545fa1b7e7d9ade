"""Two processes redeeming the same invite at once: exactly one becomes the focal point.

Each side has its own engine (its own connections to the one SQLite file), as two bot
processes would; a barrier releases both redemptions together, many times over. Before the
claim was one conditional UPDATE, both sides succeeded in most rounds (32 of 40).
"""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

from sqlmodel import col, select

from domain.clock import FixedClock
from domain.identity import ChannelIdentity
from domain.registration import RegistrationError, RegistrationService
from storage.db import Database, make_engine
from storage.models import Account, FocalPoint, Invite
from tests.conftest import open_services

ROUNDS = 20


def _service(path: Path, clock: FixedClock) -> RegistrationService:
    return RegistrationService(
        Database(make_engine(f"sqlite:///{path}")), clock, invite_ttl=timedelta(days=14)
    )


def _race(sides: list[RegistrationService], code: str, prefix: str) -> list[str]:
    """Both sides redeem ``code`` at the same moment; what each got, sorted."""
    barrier = threading.Barrier(len(sides))
    results: list[str] = []

    def redeem(side: int) -> None:
        person = f"{prefix}{side}"
        identity = ChannelIdentity("telegram", person, person, f"Người {person}")
        barrier.wait()
        try:
            sides[side].register(identity, code)
        except RegistrationError as refused:
            results.append(refused.reason)
        else:
            results.append("registered")

    threads = [threading.Thread(target=redeem, args=(side,)) for side in range(len(sides))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(results)


def test_two_processes_redeeming_one_invite_exactly_one_wins(
    tmp_path: Path, clock: FixedClock
) -> None:
    path = tmp_path / "race.sqlite3"
    services = open_services(path, clock)
    sides = [_service(path, clock), _service(path, clock)]
    outcomes: list[list[str]] = []
    for round_number in range(ROUNDS):
        code = services.registration.create_invite("huyen-muong-te", actor="test").code
        outcomes.append(_race(sides, code, f"{round_number}-"))

    assert outcomes == [["registered", "used"]] * ROUNDS
    with services.db.transaction() as session:
        invites = session.exec(select(Invite)).all()
        assert len(invites) == ROUNDS
        focal = session.exec(select(FocalPoint)).all()
        assert len(focal) == ROUNDS  # one per invite, none for a loser
        for invite in invites:
            assert invite.used_by_account_id is not None
            winners = [fp for fp in focal if fp.invite_id == invite.id]
            assert [fp.account_id for fp in winners] == [invite.used_by_account_id]
        # A loser's account, begun in the same transaction, was rolled back with it.
        accounts = session.exec(select(Account).where(col(Account.channel) == "telegram")).all()
        assert len([a for a in accounts if "-" in a.external_id]) == ROUNDS
    for side in sides:
        side._db.engine.dispose()
    services.db.engine.dispose()
