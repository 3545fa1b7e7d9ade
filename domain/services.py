"""The set of domain services one running bot (or CLI command) uses."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from domain.accounts import AccountService
from domain.clock import Clock
from domain.registration import RegistrationService
from domain.units import UnitCatalogue
from storage.db import Database


@dataclass(frozen=True)
class Services:
    db: Database
    clock: Clock
    accounts: AccountService
    registration: RegistrationService
    units: UnitCatalogue


def build_services(
    db: Database,
    clock: Clock,
    *,
    default_language: str = "vi",
    config_admins: Iterable[tuple[str, str]] = (),
    invite_ttl: timedelta = timedelta(days=14),
) -> Services:
    return Services(
        db=db,
        clock=clock,
        accounts=AccountService(
            db, clock, default_language=default_language, config_admins=config_admins
        ),
        registration=RegistrationService(db, clock, invite_ttl=invite_ttl),
        units=UnitCatalogue(db, clock),
    )
