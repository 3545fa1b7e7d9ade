"""Everyone's commands: /start (registration), /help, /whoami, /lang; refusals and fallbacks."""

from __future__ import annotations

import re

from commands.core import Request, command, declared
from domain.commands import Audience, may_use
from domain.conversation import Outcome, Reply
from domain.errors import DomainError
from domain.i18n import LANGUAGES, N_
from domain.registration import RegistrationError, looks_like_code
from domain.rich import Rich, bold, code, join
from storage.models import Role

_LINK_CODE = re.compile(r"start=([A-Za-z0-9_-]{16,64})")


def say(text: str | Rich) -> Outcome:
    """One plain message (no choices): most commands answer with this."""
    return Outcome([Reply(text, expects_text=False)])


def help_text(req: Request) -> Rich:
    """The commands this person may use, one a line, and how to use the channel."""
    t = req.t
    lines: list[str | Rich] = [t("What you can do:")]
    for spec in declared().values():
        if may_use(req.me, spec.audience):
            usage = f" {spec.usage}" if spec.usage else ""
            lines.append(f"/{spec.name}{usage} — {t(spec.description)}")
    if req.me.is_focal_point and not req.traits.buttons:
        lines += [
            "",
            t(
                "In a report, answer with the number of an option or type the answer; "
                "type “back” for the previous question, “skip” to skip one, “cancel” to stop."
            ),
        ]
    if not req.me.is_registered:
        lines += ["", how_to_register(req)]
    return join("\n", lines)


def how_to_register(req: Request) -> str:
    if req.traits.deep_links:
        return req.t(
            "To register, open the invite link that the standing office sent to your unit."
        )
    return req.t("To register, type the invite code that the standing office sent to your unit.")


def refusal(req: Request, audience: Audience) -> Outcome:
    """Why a command is not for this person, and what they may do instead."""
    t = req.t
    if audience is Audience.REGISTERED or not req.me.is_registered:
        if req.traits.deep_links:
            text = t(
                "This is for registered focal points. Please open the invite link "
                "the standing office sent you."
            )
        else:
            text = t(
                "This is for registered focal points. Please type the invite code the standing "
                "office sent you."
            )
    elif audience is Audience.ADMIN and req.me.is_office:
        text = t("Sorry, this command is only for administrators. Type /help to see yours.")
    else:
        text = t("Sorry, this command is only for the standing office.")
    return say(text)


def fallback(req: Request) -> Outcome:
    """Anything nothing else took: a short pointer, never silence."""
    t = req.t
    if not req.me.is_registered:
        if req.traits.deep_links:
            return say(
                t(
                    "I can only help registered focal points. Please open the invite link the "
                    "standing office sent to your unit, or ask them for one."
                )
            )
        return say(
            t(
                "I can only help registered focal points. Please type the invite code the "
                "standing office sent to your unit, or ask them for one."
            )
        )
    return say(t("Sorry, I did not understand. Type /help to see what I can do."))


def invite_code_in(text: str) -> str | None:
    """The code in a typed message: the code itself, or an invite link pasted whole."""
    if looks_like_code(text):
        return text.strip()
    match = _LINK_CODE.search(text)
    return match.group(1) if match else None


def register(req: Request, invite_code: str) -> Outcome:
    """Redeem an invite code for the writer; the reply says what happens next."""
    t = req.t
    try:
        registration = req.services.registration.register(req.identity, invite_code)
    except RegistrationError as error:
        return say(error.text.render(t))
    req.reload()  # the rest of this update (and /whoami) sees the new unit
    unit = bold(registration.unit.name(req.language))
    if registration.already_registered:
        return say(t.rich("You are already registered for {unit}.", unit=unit))
    lines: list[str | Rich] = [
        t.rich("Welcome! You are now the focal point of {unit}.", unit=unit),
        "",
        t(
            "What happens next: I will remind you before each report is due (the 6-month "
            "report before 5 June, the annual report before 5 December) and during the action "
            "months. You fill in the reports here, step by step; what you type is saved at "
            "once, so you can stop and continue later."
        ),
    ]
    if registration.other_focal_points:
        lines += ["", t("Your unit has other focal points too; you share the same reports.")]
    lines += ["", t("Type /help to see what you can do.")]
    return Outcome([Reply(join("\n", lines), expects_text=False)], menu_changed=True)


@command("start", N_("Start, or register with an invite link"), Audience.EVERYONE)
async def start(req: Request) -> Outcome:
    """Register with the code in the deep link (or typed after /start), or greet."""
    if req.args:
        return register(req, req.args[0])
    t = req.t
    if req.me.is_registered:
        return say(t("Welcome back!") + "\n\n" + help_text(req))
    if req.traits.deep_links:
        return say(
            t(
                "Hello! I help the focal points of the Committees for the Advancement of Women "
                "send their reports and receive reminders.\n\n"
                "To start, please open the invite link (or scan the QR code) that the standing "
                "office sent to your unit. If you have no link, please ask the standing office."
            )
        )
    return say(
        t(
            "Hello! I help the focal points of the Committees for the Advancement of Women "
            "send their reports and receive reminders.\n\n"
            "To start, please type the invite code that the standing office sent to your "
            "unit. If you have no code, please ask the standing office."
        )
    )


@command("help", N_("What I can do for you"), Audience.EVERYONE, aliases=("trogiup",))
async def help_command(req: Request) -> Outcome:
    return say(help_text(req))


@command("whoami", N_("Your unit and role"), Audience.REGISTERED)
async def whoami(req: Request) -> Outcome:
    """Unit(s) and role(s), so a focal point can check they are set up right."""
    me, t = req.me, req.t
    channel = {"telegram": "Telegram", "zalo": "Zalo"}.get(req.traits.name, req.traits.name)
    lines: list[str | Rich] = [
        t.rich(
            "{name} ({channel} id {id})",
            name=bold(me.identity.display_name),
            channel=channel,
            id=me.identity.external_id,
        )
    ]
    for unit in me.units:
        lines.append(
            t.rich(
                "Focal point of: {unit} ({code})", unit=unit.name(me.language), code=code(unit.code)
            )
        )
    role_names = {Role.ADMIN: t("administrator"), Role.OFFICE: t("standing office staff")}
    lines += [t("Role: {role}", role=role_names[role]) for role in sorted(me.roles)]
    language = t("Vietnamese") if me.language == "vi" else t("English")
    lines.append(t("Language: {language}", language=language))
    return say(join("\n", lines))


@command("lang", N_("Language: Tiếng Việt / English"), Audience.EVERYONE, usage="vi|en")
async def lang(req: Request) -> Outcome:
    """/lang vi|en: the language of everything the bot says to this person."""
    choice = req.args[0].lower().strip() if req.args else ""
    if choice not in LANGUAGES:
        return say(req.t("Choose a language: /lang vi (Tiếng Việt) or /lang en (English)."))
    try:
        req.services.accounts.set_language(req.me.account_id, choice)
    except DomainError as error:
        return say(error.text.render(req.t))
    req.reload()
    return Outcome(
        [Reply(req.t("Done: I will speak English with you."), expects_text=False)],
        menu_changed=True,
    )
