"""The command layer's vocabulary: a request, a command declared once, what a process offers.

A channel adapter turns an update into a ``Request`` and hands it to ``commands.dispatch``;
it gets back an ``Outcome`` of neutral replies and renders them its own way. Commands know no
transport: what differs between channels is asked of ``ChannelTraits`` (deep links, buttons)
and of the ``Runtime`` (the channels this process serves, heavy work, announcement delivery).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from domain.channels import ChannelRouter
from domain.commands import Audience
from domain.conversation import Outcome
from domain.fairness import FairnessPolicy
from domain.i18n import Translator, translator_for
from domain.identity import ChannelIdentity, UserContext
from domain.overview import CampaignStatus
from domain.services import Services


@dataclass(frozen=True)
class ChannelTraits:
    """What a channel can show: the few facts commands choose their words by."""

    name: str
    deep_links: bool  # an invite opens as a link (Telegram); else the code is typed (Zalo)
    buttons: bool  # choices are pressed (Telegram); else their numbers are typed (Zalo)


TELEGRAM = ChannelTraits("telegram", deep_links=True, buttons=True)
ZALO = ChannelTraits("zalo", deep_links=False, buttons=False)
TRAITS = {traits.name: traits for traits in (TELEGRAM, ZALO)}


@dataclass(frozen=True)
class ExportFile:
    content: bytes
    submitted: int
    total: int


class Workshop(Protocol):
    """Heavy one-off work done away from the event loop (a child process in the bot)."""

    async def export(self, period_key: str, language: str, now: datetime) -> ExportFile: ...

    async def status_chart(self, status: CampaignStatus, language: str) -> bytes: ...


class AnnouncementDelivery(Protocol):
    """The background sender of announcements (``domain.delivery.DeliveryEngine``)."""

    @property
    def running(self) -> bool: ...

    def submit(self, broadcast_id: int) -> None: ...


@dataclass(frozen=True)
class ChannelState:
    """Whether a channel this deployment uses can send now, for the office's overview."""

    channel: str
    up: bool
    detail: str = ""  # a short, already translated-neutral note (e.g. "token refused")


@dataclass
class Runtime:
    """What the running process offers commands beyond the domain services."""

    router: ChannelRouter
    workshop: Workshop | None = None
    delivery: AnnouncementDelivery | None = None
    telegram_username: str | None = None  # set when Telegram is served
    zalo_enabled: bool = False
    zalo_bot_url: str | None = None
    # Each served channel's state and notes for /status (the Zalo quota, a refused token).
    status_lines: list[Callable[[Translator], list[str]]] = field(default_factory=list)
    # One token bucket per sender, whatever the channel (None: BOT_FAIRNESS is off).
    fairness: FairnessPolicy | None = None


@dataclass
class Request:
    """One thing a person did, in neutral terms: who, where, and the command's arguments."""

    services: Services
    runtime: Runtime
    me: UserContext
    traits: ChannelTraits
    args: list[str] = field(default_factory=list)
    text: str = ""
    message_seq: int | None = None  # the message's place in the chat: a replay is spotted
    t: Translator = field(init=False)

    def __post_init__(self) -> None:
        self.t = translator_for(self.me.language, self.services.tz)

    @property
    def identity(self) -> ChannelIdentity:
        return self.me.identity

    @property
    def chat_id(self) -> str:
        return self.me.identity.chat_id

    @property
    def actor(self) -> str:
        return self.me.identity.actor

    @property
    def language(self) -> str:
        return self.me.language

    def reload(self) -> None:
        """Read the writer again after a change (registration, language)."""
        self.me = self.services.accounts.load(self.identity)
        self.t = translator_for(self.me.language, self.services.tz)


CommandFunc = Callable[[Request], Awaitable[Outcome]]


@dataclass(frozen=True)
class Command:
    """A command as every channel offers it: name, who may use it, usage, what it does."""

    name: str
    description: str  # a message id
    audience: Audience
    run: CommandFunc
    usage: str = ""
    aliases: tuple[str, ...] = ()  # typed Vietnamese names ("baocao"), accents folded


_DECLARED: dict[str, Command] = {}
_SORTED: dict[str, Command] = {}


def command(
    name: str,
    description: str,
    audience: Audience,
    *,
    usage: str = "",
    aliases: tuple[str, ...] = (),
) -> Callable[[CommandFunc], CommandFunc]:
    """Declare a command once; ``commands.catalog`` lists them in the order /help shows."""

    def declare(run: CommandFunc) -> CommandFunc:
        if name in _DECLARED:
            raise ValueError(f"command /{name} declared twice")
        _DECLARED[name] = Command(name, description, audience, run, usage, aliases)
        return run

    return declare


# The order /help and the command menus list them in: first what everyone uses.
ORDER = (
    "start",
    "help",
    "whoami",
    "lang",
    "report",
    "cancel",
    "calendar",
    "status",
    "units",
    "audit",
    "broadcast",
    "broadcasts",
    "acks",
    "periods",
    "remind",
    "answers",
    "export",
    "invite",
    "remove",
    "reopen",
    "adhoc",
)


_RANK = {name: index for index, name in enumerate(ORDER)}


def declared() -> dict[str, Command]:
    """Every declared command, in ``ORDER`` (commands not listed there come last).

    Asked on every command and /help: sorted once, again only after a new declaration.
    """
    if len(_SORTED) != len(_DECLARED):
        names = sorted(_DECLARED, key=lambda name: _RANK.get(name, len(ORDER)))
        _SORTED.clear()
        _SORTED.update((name, _DECLARED[name]) for name in names)
    return dict(_SORTED)
