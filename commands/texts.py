"""Message ids several commands and both adapters say: written once."""

from __future__ import annotations

from domain.i18n import N_

STALE_CHOICE = N_("This button is no longer valid.")
NO_PERIOD = N_("There is no such report period. /periods lists them.")
SORRY = N_(
    "Sorry, something went wrong on my side. What you entered before is saved; "
    "please try again in a moment."
)
