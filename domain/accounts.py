"""Accounts, roles and the per-update user context."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from sqlmodel import Session, select

from domain.audit import record_action
from domain.clock import Clock
from domain.errors import DomainError
from domain.i18n import LANGUAGES
from domain.identity import ChannelIdentity, UnitRef, UserContext
from storage import repositories as repo
from storage.db import Database
from storage.models import Account, Role, RoleGrant, Unit

LAST_SEEN_STEP = timedelta(minutes=1)


def unit_ref(unit: Unit) -> UnitRef:
    assert unit.id is not None
    return UnitRef(unit.id, unit.code, unit.name_vi, unit.name_en, unit.kind.value)


class AccountService:
    """Who the writer is: created on first contact, with roles from config and grants."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        default_language: str = "vi",
        config_admins: Iterable[tuple[str, str]] = (),
    ) -> None:
        self._db = db
        self._clock = clock
        self._default_language = default_language
        # (channel, external id) pairs that are admins by configuration (BOT_ADMIN_IDS)
        self._config_admins = frozenset(config_admins)

    def load(self, identity: ChannelIdentity) -> UserContext:
        """Find or create the account, note the visit and gather roles and units."""
        now = self._clock.now()
        with self._db.transaction() as session:
            account = repo.account_by_external_id(session, identity.channel, identity.external_id)
            if account is None:
                account = Account(
                    channel=identity.channel,
                    external_id=identity.external_id,
                    chat_id=identity.chat_id,
                    display_name=identity.display_name[:200],
                    created_at=now,
                )
                session.add(account)
            # "Last seen" to the minute: writing it on every message made each answer a
            # second write transaction.
            seen = account.last_seen_at
            if seen is None or not now - LAST_SEEN_STEP < seen <= now:
                account.last_seen_at = now
            account.chat_id = identity.chat_id
            account.unreachable_at = None  # they wrote to us, so we can write to them
            if identity.display_name:
                account.display_name = identity.display_name[:200]
            session.flush()
            return self._context(session, account, identity)

    def peek(self, channel: str, external_id: str) -> UserContext | None:
        """The context of a known account, without noting a visit."""
        with self._db.transaction() as session:
            account = repo.account_by_external_id(session, channel, external_id)
            if account is None:
                return None
            identity = ChannelIdentity(channel, external_id, account.chat_id, account.display_name)
            return self._context(session, account, identity)

    def _context(
        self, session: Session, account: Account, identity: ChannelIdentity
    ) -> UserContext:
        assert account.id is not None
        roles = repo.roles_granted(session, identity.channel, identity.external_id)
        if (identity.channel, identity.external_id) in self._config_admins:
            roles.add(Role.ADMIN)
        return UserContext(
            account_id=account.id,
            identity=identity,
            language=account.language or self._default_language,
            roles=frozenset(roles),
            units=tuple(unit_ref(u) for u in repo.active_units_of(session, account.id)),
        )

    def set_language(self, account_id: int, language: str) -> None:
        if language not in LANGUAGES:
            raise DomainError(
                "Unknown language. Use one of: {languages}.", languages=", ".join(LANGUAGES)
            )
        with self._db.transaction() as session:
            account = session.get(Account, account_id)
            if account is None:
                raise DomainError("Unknown account.")
            account.language = language

    def grant_role(self, channel: str, external_id: str, role: Role, *, actor: str) -> bool:
        """Grant a role; False if it was already held."""
        now = self._clock.now()
        with self._db.transaction() as session:
            if repo.role_grant(session, channel, external_id, role) is not None:
                return False
            session.add(
                RoleGrant(
                    channel=channel,
                    external_id=external_id,
                    role=role,
                    granted_at=now,
                    granted_by=actor,
                )
            )
            record_action(
                session, at=now, actor=actor, action="role.grant", target=external_id, role=role
            )
        return True

    def revoke_role(self, channel: str, external_id: str, role: Role, *, actor: str) -> bool:
        now = self._clock.now()
        with self._db.transaction() as session:
            grant = repo.role_grant(session, channel, external_id, role)
            if grant is None:
                return False
            session.delete(grant)
            record_action(
                session, at=now, actor=actor, action="role.revoke", target=external_id, role=role
            )
        return True

    def list_grants(self) -> list[RoleGrant]:
        with self._db.transaction() as session:
            return list(repo.role_grants(session))

    def mark_unreachable(self, channel: str, chat_id: str) -> bool:
        """Note that messages to this chat are refused (blocked bot, deleted account).

        True when this is news (the account was reachable until now).
        """
        now = self._clock.now()
        newly = False
        with self._db.transaction() as session:
            for account in session.exec(
                select(Account).where(Account.channel == channel, Account.chat_id == chat_id)
            ).all():
                newly = newly or account.unreachable_at is None
                if account.unreachable_at is None:
                    account.unreachable_at = now
        return newly

    def staff_contexts(self, channel: str | None = None) -> list[UserContext]:
        """Contexts of the admins and office staff who have written to the bot at least once.

        ``channel`` keeps those of one channel; None (the default) gives every channel's.
        """
        with self._db.transaction() as session:
            people = {
                (g.channel, g.external_id)
                for g in repo.role_grants(session)
                if channel is None or g.channel == channel
            }
        people |= {(chan, ext) for chan, ext in self._config_admins if channel in (None, chan)}
        contexts = [self.peek(chan, external_id) for chan, external_id in sorted(people)]
        return [context for context in contexts if context is not None]
