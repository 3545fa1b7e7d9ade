"""The command line: run, demo, health, db, units, invite, focal, invites, people, admins, i18n.

``python -m bot`` with a token runs the bot; without one it starts the local demo.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from bot.settings import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from domain.i18n import Translator
    from domain.services import Services

EXIT_CONFIG = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="poll Telegram (or TELEGRAM_API_BASE_URL); Zalo too if set")
    run.add_argument(
        "--webhook",
        action="store_true",
        help="receive Telegram updates on TELEGRAM_WEBHOOK_URL (needs TELEGRAM_WEBHOOK_SECRET)",
    )
    sub.add_parser(
        "zalo", help="run the Zalo adapter only (polling; webhook with ZALO_WEBHOOK_URL)"
    )
    demo = sub.add_parser("demo", help="local demo: Bot API stand-in + bot + terminal chat")
    demo.add_argument("--database", help="SQLAlchemy URL (default: a fresh demo database)")

    health = sub.add_parser(
        "health", help="is the running bot receiving updates, and the database sound (exit 0/1)"
    )
    health.add_argument("--json", action="store_true", help="print the report as JSON")

    db = sub.add_parser("db", help="database schema, backups, checks")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="apply Alembic migrations up to head")
    backup = db_sub.add_parser(
        "backup", help="copy the database while the bot runs (SQLite's online backup API)"
    )
    backup.add_argument("path", help="the backup file, or a folder (path/) for a dated one")
    restore = db_sub.add_parser(
        "restore", help="put a backup in place of the database (refused while a bot runs)"
    )
    restore.add_argument("path", type=Path)
    db_check = db_sub.add_parser("check", help="PRAGMA integrity_check (and foreign keys)")
    db_check.add_argument("path", type=Path, nargs="?", help="a backup (default: the database)")

    units = sub.add_parser("units", help="the units catalogue")
    units_sub = units.add_subparsers(dest="units_command", required=True)
    units_import = units_sub.add_parser("import", help="import units from YAML or CSV")
    units_import.add_argument("file", type=Path)
    units_list = units_sub.add_parser("list", help="list units")
    units_list.add_argument("--all", action="store_true", help="include archived units")

    invite = sub.add_parser("invite", help="print a one-time invite link for a unit")
    invite.add_argument("unit_code")
    invite.add_argument("--bot-username", help="bot username for the link (default: ask getMe)")

    focal = sub.add_parser("focal", help="focal points")
    focal_sub = focal.add_subparsers(dest="focal_command", required=True)
    focal_list = focal_sub.add_parser("list", help="active focal points, with their ids")
    focal_list.add_argument("--unit", help="one unit's code")
    focal_remove = focal_sub.add_parser("remove", help="end a person's place in a unit")
    focal_remove.add_argument("unit_code")
    focal_remove.add_argument("person", nargs="+", help="their id on their channel, or name")

    invites = sub.add_parser("invites", help="invite codes issued")
    invites_sub = invites.add_subparsers(dest="invites_command", required=True)
    invites_list = invites_sub.add_parser("list", help="open invites (--all: every one)")
    invites_list.add_argument("--all", action="store_true")
    invites_revoke = invites_sub.add_parser("revoke", help="make an open invite unusable")
    invites_revoke.add_argument("invite_id", type=int)

    people = sub.add_parser("people", help="personal data")
    people_sub = people.add_subparsers(dest="people_command", required=True)
    forget = people_sub.add_parser(
        "forget", help="erase a person's name, ids and messages; keep their unit's reports"
    )
    forget.add_argument("person", help="telegram:<id>, zalo:<id>, or the id alone")
    forget.add_argument("--yes", action="store_true", help="do it (without: say what it would do)")

    admins = sub.add_parser("admins", help="admins and office staff")
    admins_sub = admins.add_subparsers(dest="admins_command", required=True)
    for verb in ("add", "remove"):
        cmd = admins_sub.add_parser(verb, help=f"{verb} a role for a user id")
        cmd.add_argument("telegram_id", help="the person's user id on the channel")
        cmd.add_argument("--role", choices=["admin", "office"], default="admin")
        cmd.add_argument("--channel", choices=["telegram", "zalo"], default="telegram")
    admins_sub.add_parser("list", help="list granted roles")

    forms = sub.add_parser("forms", help="report form definitions")
    forms_sub = forms.add_subparsers(dest="forms_command", required=True)
    forms_sub.add_parser("check", help="validate content/forms/*.yaml")

    calendar = sub.add_parser("calendar", help="print a year's deadlines and planned reminders")
    calendar.add_argument("--year", type=int, help="default: this year")
    calendar.add_argument("--lang", choices=["vi", "en"], default="vi")

    periods = sub.add_parser("periods", help="report periods")
    periods_sub = periods.add_subparsers(dest="periods_command", required=True)
    periods_list = periods_sub.add_parser("list", help="list periods")
    periods_list.add_argument("--year", type=int)
    periods_add = periods_sub.add_parser("add", help="add an ad-hoc report request")
    periods_add.add_argument("--title", required=True)
    periods_add.add_argument("--due", required=True, help="deadline date (before), YYYY-MM-DD")
    periods_add.add_argument("--form", default="ad_hoc")
    periods_add.add_argument("--units", help="comma-separated unit codes (default: all)")

    export = sub.add_parser("export", help="export a period's reports to .xlsx or .csv")
    export.add_argument("--period", help="period key, e.g. six_month:2023 (default: latest)")
    export.add_argument("--out", type=Path, required=True, help="FILE.xlsx or FILE.csv")
    export.add_argument("--lang", choices=["vi", "en"], default="vi")

    i18n = sub.add_parser("i18n", help="translations: extract, update, compile, check")
    i18n.add_argument("action", choices=["extract", "update", "compile", "check"])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "i18n":
        from bot import i18n_tools

        return i18n_tools.run(args.action)
    if args.command == "forms":
        from domain.forms import check_forms

        problems = check_forms()
        for problem in problems:
            print(problem, file=sys.stderr)
        if problems:
            return 1
        print("every form definition is valid")
        return 0
    try:
        settings = load_settings()
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    has_token = settings.telegram_bot_token is not None or settings.zalo_bot_token is not None
    command = args.command or ("run" if has_token else "demo")
    if command == "zalo":
        if settings.zalo_bot_token is None:
            print("configuration error: ZALO_BOT_TOKEN is not set", file=sys.stderr)
            return EXIT_CONFIG
        from bot.zalo_runner import run_channels
        from domain.calendar import CalendarError
        from domain.forms import FormDefinitionError

        try:
            return run_channels(settings, telegram=False)
        except (FormDefinitionError, CalendarError) as error:
            for problem in error.problems:
                print(problem, file=sys.stderr)
            return EXIT_CONFIG
    if command == "run":
        if not has_token:
            print(
                "configuration error: TELEGRAM_BOT_TOKEN is not set "
                "(run `python -m bot demo` to try the bot without one)",
                file=sys.stderr,
            )
            return EXIT_CONFIG
        from bot.runner import run_polling, run_webhook

        if getattr(args, "webhook", False):
            missing = [
                name
                for name, value in (
                    ("TELEGRAM_BOT_TOKEN", settings.telegram_bot_token),
                    ("TELEGRAM_WEBHOOK_URL", settings.telegram_webhook_url),
                    ("TELEGRAM_WEBHOOK_SECRET", settings.telegram_webhook_secret),
                )
                if value is None
            ]
            if missing:
                print(f"configuration error: --webhook needs {', '.join(missing)}", file=sys.stderr)
                return EXIT_CONFIG
            return run_webhook(settings)
        from domain.calendar import CalendarError
        from domain.forms import FormDefinitionError

        try:
            return run_polling(settings)
        except (FormDefinitionError, CalendarError) as error:
            for problem in error.problems:
                print(problem, file=sys.stderr)
            return EXIT_CONFIG
    if command == "health" or (command == "db" and args.db_command != "upgrade"):
        # Before the database is opened: these must not migrate it or seed the catalogue.
        from bot import cli_ops

        return cli_ops.health(settings, args) if command == "health" else cli_ops.db(settings, args)
    from domain.calendar import CalendarError
    from domain.forms import FormDefinitionError

    try:
        if command == "demo":
            from bot.demo import run_demo

            return run_demo(settings, database_url=getattr(args, "database", None))
        return _admin_command(settings, args)
    except (FormDefinitionError, CalendarError) as error:
        # The bot must not start on a broken definition: say where, stop.
        for problem in error.problems:
            print(problem, file=sys.stderr)
        return EXIT_CONFIG


def _admin_command(settings: Settings, args: argparse.Namespace) -> int:
    from bot.runtime import open_database, services_for
    from domain.errors import DomainError
    from domain.i18n import translator_for
    from domain.units import CatalogueError
    from storage.models import Role

    db = open_database(settings)
    services = services_for(settings, db)
    if not (args.command == "units" and args.units_command == "import"):
        # As at the bot's start: README's verbs work on a fresh install, in any order.
        services.units.ensure_default_catalogue()
    t = translator_for("en", settings.tz)
    if args.command == "db":
        print("database is at the latest schema")
        return 0
    if args.command == "units" and args.units_command == "import":
        try:
            result = services.units.import_file(args.file, actor="cli")
        except CatalogueError as error:
            for problem in error.problems:
                print(problem, file=sys.stderr)
            print("nothing was imported", file=sys.stderr)
            return 1
        print(
            f"created {len(result.created)}, updated {len(result.updated)}, "
            f"archived {len(result.archived)}, restored {len(result.restored)}, "
            f"unchanged {len(result.unchanged)}"
        )
        return 0
    if args.command == "units":
        for unit in services.units.list_units(include_archived=args.all):
            state = "" if unit.active else "  [archived]"
            print(f"{unit.code:24} {unit.kind.value:13} {unit.name_vi}{state}")
        return 0
    if args.command == "invite":
        try:
            issued = services.registration.create_invite(args.unit_code, actor="cli")
        except DomainError as error:
            print(error.text.render(t), file=sys.stderr)
            return 1
        from commands.admin import invite_text

        telegram = settings.telegram_bot_token is not None or args.bot_username
        username = (args.bot_username or _bot_username(settings)) if telegram else None
        text = invite_text(
            issued,
            t,
            telegram_username=username,
            zalo=settings.zalo_bot_token is not None or not telegram,  # the code always works
            zalo_bot_url=settings.zalo_bot_url,
        )
        print(text.plain)
        return 0
    if args.command == "calendar":
        from domain.reminder_plan import render_year

        year = args.year or services.clock.now().astimezone(settings.tz).year
        print(render_year(services.calendar, year, translator_for(args.lang, settings.tz)))
        return 0
    if args.command == "periods":
        return _periods_command(services, args, t)
    if args.command == "export":
        return _export_command(services, args, settings)
    if args.command in ("focal", "invites", "people"):
        from bot import cli_data

        return cli_data.people_command(services, args)
    if args.command == "admins":
        if args.admins_command == "list":
            for grant in services.accounts.list_grants():
                granted = f"{grant.granted_at:%Y-%m-%d}"
                print(f"{grant.external_id:>14} {grant.role.value:7} granted {granted}")
            for admin_id in settings.admin_ids:
                print(f"{admin_id:>14} admin   (BOT_ADMIN_IDS)")
            return 0
        role = Role(args.role)
        target = str(args.telegram_id)
        if args.admins_command == "add":
            done = services.accounts.grant_role(args.channel, target, role, actor="cli")
            print(f"{target} is now {role.value}" if done else f"{target} was already {role.value}")
        else:
            done = services.accounts.revoke_role(args.channel, target, role, actor="cli")
            print(
                f"{target} is no longer {role.value}" if done else f"{target} was not {role.value}"
            )
        return 0
    return 1


def _bot_username(settings: Settings) -> str:
    """Ask the Bot API for the username (the link needs it)."""
    import asyncio

    from telegram import Bot

    async def fetch() -> str:
        assert settings.telegram_bot_token is not None
        async with Bot(
            settings.telegram_bot_token.get_secret_value(),
            base_url=settings.telegram_api_base_url,
            base_file_url=settings.file_base_url,
        ) as bot:
            return bot.username

    return asyncio.run(fetch())


def _periods_command(services: Services, args: argparse.Namespace, t: Translator) -> int:
    from datetime import date

    from domain.errors import DomainError

    if args.periods_command == "add":
        try:
            due = date.fromisoformat(args.due)
        except ValueError:
            print("--due must be a date as YYYY-MM-DD", file=sys.stderr)
            return 1
        codes = [code.strip() for code in (args.units or "").split(",") if code.strip()]
        try:
            period = services.periods.add_ad_hoc(
                title=args.title,
                due_display=due,
                form_key=args.form,
                unit_codes=codes or None,
                actor="cli",
            )
        except DomainError as error:
            print(error.text.render(t), file=sys.stderr)
            return 1
        print(f"{period.key}: {period.label_vi}, due before {period.due_display.isoformat()}")
        return 0
    year = args.year
    if year is not None:
        services.periods.ensure_year(year)
    for period in services.periods.all(year):
        print(f"{period.key:28} due before {period.due_display.isoformat()}  {period.label_vi}")
    return 0


def _export_command(services: Services, args: argparse.Namespace, settings: Settings) -> int:
    from domain.export import period_sheet, write_csv, write_xlsx
    from domain.i18n import translator_for

    t = translator_for(args.lang, settings.tz)
    period = services.periods.resolve(args.period)
    if period is None:
        print(
            f"no report period {args.period!r} (see `python -m bot periods list`)", file=sys.stderr
        )
        return 1
    sheet = period_sheet(services.reporting, period, args.lang)
    suffix = args.out.suffix.lower()
    if suffix == ".csv":
        content = write_csv(sheet, t)
    elif suffix == ".xlsx":
        content = write_xlsx([sheet], t, generated_at=services.clock.now())
    else:
        print("--out must end in .xlsx or .csv", file=sys.stderr)
        return 1
    args.out.write_bytes(content)
    print(f"{args.out}: {period.key}, {sheet.submitted}/{len(sheet.snapshots)} units submitted")
    return 0
