"""Who is writing, independent of the channel they write on."""

from __future__ import annotations

from dataclasses import dataclass, field

from storage.models import Role


@dataclass(frozen=True)
class ChannelIdentity:
    """A person as one channel sees them (ids are strings: Zalo's are)."""

    channel: str
    external_id: str
    chat_id: str
    display_name: str = ""
    language_hint: str | None = None

    @property
    def actor(self) -> str:
        """How the audit log names this person."""
        return f"{self.channel}:{self.external_id}"


@dataclass(frozen=True)
class UnitRef:
    id: int
    code: str
    name_vi: str
    name_en: str
    kind: str

    def name(self, language: str) -> str:
        return self.name_en if language == "en" and self.name_en else self.name_vi


@dataclass(frozen=True)
class UserContext:
    """What the bot knows about the writer for this update: language, roles, units."""

    account_id: int
    identity: ChannelIdentity
    language: str
    roles: frozenset[Role] = field(default_factory=frozenset)
    units: tuple[UnitRef, ...] = ()

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles

    @property
    def is_office(self) -> bool:
        """Office staff and admins see every unit's data."""
        return Role.OFFICE in self.roles or Role.ADMIN in self.roles

    @property
    def is_focal_point(self) -> bool:
        return bool(self.units)

    @property
    def is_registered(self) -> bool:
        return self.is_focal_point or bool(self.roles)
