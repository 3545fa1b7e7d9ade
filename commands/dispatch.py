"""Where an adapter hands over what a person did: a command, typed text, a pressed choice.

Each returns the ``Outcome`` to render; after rendering, the adapter calls ``finish`` so the
outcome's notices (the office told of a submission, an announcement to deliver) are acted on
once, whichever channel the person used.
"""

from __future__ import annotations

from commands import admin, broadcast, calendar, focal, office, overview, people, reports
from commands.core import Command, Request, declared
from commands.texts import STALE_CHOICE
from domain.broadcasts import Attachment, BroadcastQueued
from domain.commands import Audience, may_use
from domain.conversation import Outcome
from domain.forms.text import fold_words
from domain.reporting import SubmissionNotice

# Importing the modules declares their commands; the names are kept for the linters.
MODULES = (admin, broadcast, calendar, focal, office, overview, people, reports)

FORM_SCOPE = "form"


def lookup(word: str) -> Command | None:
    """The command a typed name stands for: its name or a Vietnamese alias, any case."""
    name = fold_words(word.split("@")[0]).replace(" ", "")
    commands = declared()
    if name in commands:
        return commands[name]
    return next((spec for spec in commands.values() if name in spec.aliases), None)


def commands_for(audience: Audience) -> list[Command]:
    """A role's menu: everything its members may use."""
    order = [Audience.EVERYONE, Audience.REGISTERED, Audience.OFFICE, Audience.ADMIN]
    allowed = set(order[: order.index(audience) + 1])
    return [spec for spec in declared().values() if spec.audience in allowed]


async def run_command(req: Request, word: str) -> Outcome:
    """``/word args``: the command if this person may use it, else why not."""
    spec = lookup(word)
    if spec is None:
        return people.fallback(req)
    if not may_use(req.me, spec.audience):
        return people.refusal(req, spec.audience)
    return await spec.run(req)


def split_command(text: str) -> tuple[str, list[str]] | None:
    """ "/report abc" → ("report", ["abc"]); None when the text is no command."""
    if not text.startswith("/"):
        return None
    word, *args = text[1:].split() or [""]
    return word, args


def fallback(req: Request) -> Outcome:
    """Something no command reads (a sticker, a location): a pointer to /help."""
    return people.fallback(req)


async def on_text(req: Request, text: str, attachment: Attachment | None = None) -> Outcome:
    """Typed text: the office's draft, a form answer, an invite code, else a pointer to /help."""
    command = split_command(text.strip()) if attachment is None else None
    if command is not None:
        word, req.args = command
        return await run_command(req, word)
    drafted = broadcast.draft_input(req, text or None, attachment)
    if drafted is not None:
        return drafted
    if attachment is None:
        answered = reports.form_answer(req, text)
        if answered is not None:
            return answered
        code = people.invite_code_in(text) if not req.me.is_focal_point else None
        if code is not None:
            return people.register(req, code)
    return people.fallback(req)


def on_press(
    req: Request, scope: str, step: int, choice: str, *, message_id: int | None = None
) -> Outcome:
    """A pressed choice (a typed number on Zalo), routed by the scope its reply carried."""
    if scope == broadcast.SCOPE:
        return broadcast.press(req, choice, message_id=message_id)
    if scope == FORM_SCOPE:
        return reports.form_press(req, step, choice)
    return Outcome(alert=req.t(STALE_CHOICE))


async def finish(req: Request, outcome: Outcome, *, shown_message: int | None = None) -> None:
    """Act on the outcome's notices once it was shown (``shown_message``: its last message)."""
    for notice in outcome.notices:
        if isinstance(notice, SubmissionNotice):
            await reports.notify_office(req, notice)
        elif isinstance(notice, BroadcastQueued):
            broadcast.start_round(req, notice, shown_message)
