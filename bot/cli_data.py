"""The command line's verbs for the data's life: ``focal list | remove``, ``invites list |
revoke``, ``people forget``.

Output is English for the operator at a terminal; each verb's exit status says whether it did
what was asked. What changes data is written to the audit log with the actor "cli".
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from domain.services import Services

ACTOR = "cli"


def people_command(services: Services, args: argparse.Namespace) -> int:
    """``focal``, ``invites`` and ``people``: each change audited, refusals on stderr."""
    from domain.errors import DomainError
    from domain.i18n import translator_for

    t = translator_for("en", services.tz)
    lifecycle = services.lifecycle
    try:
        if args.command == "focal" and args.focal_command == "list":
            entries = lifecycle.focal_points(args.unit)
            for entry in entries:
                seen = _day(entry.last_seen_at)
                print(
                    f"{entry.unit_code:24} {entry.label()}  registered {_day(entry.registered_at)}"
                    f", last seen {seen}"
                )
            print(f"{len(entries)} focal points")
            return 0
        if args.command == "focal":
            removed = lifecycle.remove_focal_point(
                args.unit_code, " ".join(args.person), actor=ACTOR
            )
            print(f"{removed.label()} is no longer a focal point of {removed.unit_code}")
            return 0
        if args.command == "invites" and args.invites_command == "list":
            invites = lifecycle.invites(include_closed=args.all)
            for invite in invites:
                when = f" {_day(invite.closed_at)}" if invite.closed_at else ""
                print(
                    f"{invite.id:>6} {invite.unit_code:24} {invite.state}{when:11} "
                    f"by {invite.created_by or '?'} on {_day(invite.created_at)}, "
                    f"expires {_day(invite.expires_at)}"
                )
            print(f"{len(invites)} {'invites' if args.all else 'open invites'}")
            return 0
        if args.command == "invites":
            revoked = lifecycle.revoke_invite(args.invite_id, actor=ACTOR)
            print(f"invite {revoked.id} for {revoked.unit_code} is revoked: it no longer works")
            return 0
        return _forget(services, args)
    except DomainError as error:
        print(error.text.render(t), file=sys.stderr)
        return 1


def _forget(services: Services, args: argparse.Namespace) -> int:
    lifecycle = services.lifecycle
    account = lifecycle.find_person(args.person)
    assert account.id is not None
    units = [e for e in lifecycle.focal_points() if e.account_id == account.id]
    who = f"{account.display_name or '?'} ({account.channel} {account.external_id})"
    if not args.yes:
        places = ", ".join(e.unit_code for e in units) or "no unit"
        print(
            f"would forget {who}, focal point of {places}: their name, ids, messages and form "
            "positions are erased; the reports they sent stay, by 'a former focal point'. "
            "Nothing was changed: run again with --yes.",
            file=sys.stderr,
        )
        return 1
    done = lifecycle.forget(account.id, actor=ACTOR)
    print(
        f"forgot {who}: now {done.pseudonym}; {done.updates} messages erased, "
        f"{done.units} focal-point places ended, {done.submitted_reports} submitted reports "
        "kept (by 'a former focal point')"
    )
    return 0


def _day(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d}" if value is not None else "—"
