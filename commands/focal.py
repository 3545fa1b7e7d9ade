"""/remove: an admin ends a focal point's place in a unit (someone who left the unit).

Declared once for both channels; ``python -m bot focal remove`` does the same from the shell.
The person is named by their id on their channel or by their name; when that is not enough,
the reply lists the unit's focal points with their ids.
"""

from __future__ import annotations

from commands.core import Request, command
from commands.people import say
from domain.commands import Audience
from domain.conversation import Outcome
from domain.errors import DomainError
from domain.i18n import N_
from domain.rich import bold, code


@command(
    "remove",
    N_("Remove a focal point from a unit"),
    Audience.ADMIN,
    usage="<unit-code> <person>",
)
async def remove(req: Request) -> Outcome:
    """The person stops being the unit's focal point; their answers stay with its reports."""
    t = req.t
    if len(req.args) < 2:
        return say(
            t(
                "Usage: /remove <unit-code> <person>, the person by name or by their id on "
                "their channel, e.g. /remove so-y-te Lò Thị Mai"
            )
        )
    unit_code, person = req.args[0], " ".join(req.args[1:])
    try:
        removed = req.services.lifecycle.remove_focal_point(unit_code, person, actor=req.actor)
    except DomainError as error:
        return say(error.text.render(t))
    return say(
        t.rich(
            "{person} is no longer a focal point of {unit}. The answers they gave stay in "
            "the unit's reports.",
            person=bold(removed.label()),
            unit=code(removed.unit_code),
        )
    )
