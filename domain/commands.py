"""The commands each role may use: one list for /help, the command menus and every channel."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from domain.i18n import N_
from domain.identity import UserContext


class Audience(StrEnum):
    EVERYONE = "everyone"
    REGISTERED = "registered"  # focal points, office staff and admins
    OFFICE = "office"  # office staff and admins
    ADMIN = "admin"


@dataclass(frozen=True)
class CommandSpec:
    name: str
    description: str  # a message id
    audience: Audience
    usage: str = ""  # arguments, shown in /help


COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("start", N_("Start, or register with an invite link"), Audience.EVERYONE),
    CommandSpec("help", N_("What I can do for you"), Audience.EVERYONE),
    CommandSpec("whoami", N_("Your unit and role"), Audience.REGISTERED),
    CommandSpec("lang", N_("Language: Tiếng Việt / English"), Audience.EVERYONE, "vi|en"),
    CommandSpec("report", N_("Fill in or continue your unit's report"), Audience.REGISTERED),
    CommandSpec("cancel", N_("Stop filling in (your answers are kept)"), Audience.REGISTERED),
    CommandSpec("calendar", N_("Deadlines and action months"), Audience.REGISTERED, "[year]"),
    CommandSpec(
        "status", N_("Where the reporting stands, with a chart"), Audience.OFFICE, "[period]"
    ),
    CommandSpec("units", N_("Units, focal points and reachability"), Audience.OFFICE, "[kind]"),
    CommandSpec("audit", N_("Recent admin actions"), Audience.OFFICE, "[n]"),
    CommandSpec("broadcast", N_("Send an announcement to the focal points"), Audience.OFFICE),
    CommandSpec("broadcasts", N_("Recent announcements and who confirmed"), Audience.OFFICE),
    CommandSpec("acks", N_("Who confirmed an announcement"), Audience.OFFICE, "<number>"),
    CommandSpec("periods", N_("Report periods and their keys"), Audience.OFFICE),
    CommandSpec("remind", N_("Remind units that have not submitted"), Audience.OFFICE, "[period]"),
    CommandSpec("answers", N_("A unit's answers"), Audience.OFFICE, "<unit-code> [period]"),
    CommandSpec("export", N_("Excel file of every unit's report"), Audience.OFFICE, "[period]"),
    CommandSpec(
        "invite", N_("Invite link for a unit's focal point"), Audience.ADMIN, "<unit-code>"
    ),
    CommandSpec(
        "reopen",
        N_("Let a unit amend after the deadline"),
        Audience.ADMIN,
        "<unit-code> [period] [days]",
    ),
    CommandSpec("adhoc", N_("Request an ad-hoc report"), Audience.ADMIN, "<dd/mm/yyyy> <title>"),
)


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


def commands_for(user: UserContext | None) -> list[CommandSpec]:
    return [spec for spec in COMMANDS if may_use(user, spec.audience)]


def commands_for_role(audience: Audience) -> list[CommandSpec]:
    """The menu of a role: everything its members may use (for setMyCommands)."""
    order = [Audience.EVERYONE, Audience.REGISTERED, Audience.OFFICE, Audience.ADMIN]
    allowed = set(order[: order.index(audience) + 1])
    return [spec for spec in COMMANDS if spec.audience in allowed]
