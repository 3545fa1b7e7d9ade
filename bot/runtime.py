"""Open the database (migrated) and build the services from Settings."""

from __future__ import annotations

from bot.settings import Settings
from domain.clock import Clock, SystemClock
from domain.services import Services, build_services
from storage.db import Database, make_engine, upgrade

TELEGRAM = "telegram"


def open_database(settings: Settings, *, migrate: bool = True) -> Database:
    engine = make_engine(settings.database_url)
    if migrate:
        upgrade(engine)
    return Database(engine)


def services_for(settings: Settings, db: Database, clock: Clock | None = None) -> Services:
    """Build the services; a broken form or calendar file raises here (the bot must not start)."""
    paths = {}
    if settings.forms_dir is not None:
        paths["forms_dir"] = settings.forms_dir
    if settings.calendar_file is not None:
        paths["calendar_path"] = settings.calendar_file
    return build_services(
        db,
        clock or SystemClock(),
        default_language=settings.locale,
        config_admins=[(TELEGRAM, str(admin_id)) for admin_id in settings.admin_ids],
        invite_ttl=settings.invite_ttl,
        tz=settings.tz,
        max_users_per_channel={"zalo": settings.zalo_max_users},
        retention=settings.retention,
        **paths,
    )
