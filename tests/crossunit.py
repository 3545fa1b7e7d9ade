"""Two units whose reports carry distinctive markers, and the people around them.

Tests that look for one unit's data in what another unit's focal point (or a stranger) was
sent need data that cannot appear by chance: each unit's answers hold a marker text and an
unusual number, its focal points have unusual names. ``traces`` lists what would give a
unit away; ``leaks`` finds them in a text. Reports are filled in through the real
``ReportingService`` (typed answers, as on a channel without buttons); nothing is stubbed.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable
from dataclasses import dataclass

from sqlmodel import select

from bot.context import RUNTIME_KEY
from domain.delivery import DeliveryEngine
from domain.i18n import translator_for
from domain.identity import ChannelIdentity, UserContext
from domain.services import Services
from storage.models import Answer, FocalPoint, FormSession, Report, ReportVersion, Role, Unit
from tests.conftest import ADMIN_ID
from tests.forms_helpers import TYPED_ANSWERS, form_position
from tests.harness import ChatUser
from tests.zalo.conftest import ZaloBot, ZaloUser

VI = translator_for("vi")
ROLES = ("stranger", "focal_a", "focal_b", "office", "admin")
CHANNELS = ("telegram", "zalo")


@dataclass(frozen=True)
class MarkedUnit:
    """A unit and what gives its data away: a marker text, a number, its people's names."""

    code: str
    names: tuple[str, ...]  # the unit's name, with and without accents
    marker: str
    number: int
    people: tuple[str, ...]  # its focal points' names on Telegram, then Zalo

    @property
    def traces(self) -> tuple[str, ...]:
        """Every string that would show this unit's data (numbers as they are printed too)."""
        digits = str(self.number)
        grouped = f"{self.number:,}"
        return (
            self.marker,
            digits,
            grouped.replace(",", "."),
            grouped,
            self.code,
            *self.names,
            *self.people,
        )

    def answers(self) -> dict[str, str]:
        """A district's six-month answers with the marker in three texts and the number."""
        answers = {key: str(value) for key, value in TYPED_ANSWERS.items()}
        answers["doc_plans_list"] = f"{self.marker} kế hoạch số 12/KH-UBND"
        answers["difficulties"] = f"{self.marker}: địa bàn rộng, thiếu kinh phí"
        answers["recommendations"] = f"{self.marker} đề nghị bổ sung kinh phí"
        answers["comm_materials"] = str(self.number)  # above the usual range: confirmed
        return answers


UNIT_A = MarkedUnit(
    "huyen-muong-te",
    ("Mường Tè", "Muong Te District"),
    "AA-MARKER-A-3319",
    424242,
    ("Vàng Thị Quetzal", "Sùng A Xylo"),
)
UNIT_B = MarkedUnit(
    "huyen-sin-ho",
    ("Sìn Hồ", "Sin Ho District"),
    "ZZ-MARKER-B-7781",
    987654,
    ("Lò Văn Zebedee", "Điêu Thị Zulu"),
)
# What each role must never be sent: the other unit's traces (strangers: both units').
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "focal_a": UNIT_B.traces,
    "focal_b": UNIT_A.traces,
    "stranger": UNIT_A.traces + UNIT_B.traces,
}


@dataclass(frozen=True)
class Person:
    role: str
    channel: str
    user_id: str  # a string on both channels (Zalo's ids are)
    name: str

    @property
    def identity(self) -> ChannelIdentity:
        return ChannelIdentity(self.channel, self.user_id, self.user_id, self.name)


CAST: tuple[Person, ...] = (
    Person("stranger", "telegram", "3001", "Người lạ"),
    Person("focal_a", "telegram", "1001", UNIT_A.people[0]),
    Person("focal_b", "telegram", "1002", UNIT_B.people[0]),
    Person("office", "telegram", "2", "Văn phòng Telegram"),
    Person("admin", "telegram", str(ADMIN_ID), "Quản trị Telegram"),
    Person("stranger", "zalo", "9001", "Người lạ Zalo"),
    Person("focal_a", "zalo", "9002", UNIT_A.people[1]),
    Person("focal_b", "zalo", "9003", UNIT_B.people[1]),
    Person("office", "zalo", "9004", "Văn phòng Zalo"),
    Person("admin", "zalo", "9005", "Quản trị Zalo"),
)


def person(channel: str, role: str) -> Person:
    return next(p for p in CAST if p.channel == channel and p.role == role)


_CHOICE = re.compile(r"(?:^|\s)(\d+)\. ")
_QUOTED = re.compile(r"“([^”]+)”")


def zalo_choices(text: str) -> list[str]:
    """What a Zalo message offers to type: its numbered choices and its quoted words."""
    return _CHOICE.findall(text) + _QUOTED.findall(text)


def chat_users(
    bot: ZaloBot, roles: Iterable[str] = ROLES
) -> tuple[dict[str, ChatUser], dict[str, ZaloUser]]:
    """These roles' people as the tests' users: on Telegram, then on Zalo, by role."""
    people = [person(channel, role) for role in roles for channel in CHANNELS]
    telegram = {p.role: bot.telegram.user(int(p.user_id), p.name) for p in people[::2]}
    zalo = {p.role: bot.user(p.user_id, p.name) for p in people[1::2]}
    return telegram, zalo


def leaks(text: str, role: str) -> list[str]:
    """The traces in ``text`` that ``role`` must never be sent (case does not hide them)."""
    folded = text.casefold()
    return [trace for trace in FORBIDDEN.get(role, ()) if trace.casefold() in folded]


def enrol(services: Services) -> None:
    """Register every focal point through a real invite; grant the staff roles.

    Telegram's admin is the configured one (``BOT_ADMIN_IDS``); everyone else is granted here.
    """
    services.periods.ensure_year(2023)
    units = {"focal_a": UNIT_A.code, "focal_b": UNIT_B.code}
    for who in CAST:
        if who.role in units:
            invite = services.registration.create_invite(units[who.role], actor="test")
            services.registration.register(who.identity, invite.code)
        elif who.role == "office" or (who.role == "admin" and who.channel == "zalo"):
            role = Role.OFFICE if who.role == "office" else Role.ADMIN
            services.accounts.grant_role(who.channel, who.user_id, role, actor="test")


def position(services: Services, user: UserContext) -> str | None:
    """Where the user's form stands in this chat (None: no form open)."""
    with services.db.transaction() as session:
        active = session.exec(
            select(FormSession).where(
                FormSession.channel == user.identity.channel,
                FormSession.chat_id == user.identity.chat_id,
            )
        ).first()
        return None if active is None else form_position(active)


def type_report(services: Services, who: Person, unit: MarkedUnit, *, until: str) -> None:
    """Type ``unit``'s answers as ``who`` until the form stands at ``until``.

    ``until`` is a question key, ``"<review>"``, or ``"<sent>"`` (sent, form closed).
    """
    user = services.accounts.load(who.identity)
    chat_id = who.user_id
    answers = unit.answers()
    services.reporting.start(user, VI, chat_id=chat_id)
    for _ in range(200):
        where = position(services, user)
        if where == until or (where is None and until == "<sent>"):
            return
        assert where is not None, f"the form closed at {where} before {until}"
        text = {"<confirm>": "có", "<review>": "gửi"}.get(where) or answers[where]
        outcome = services.reporting.on_text(user, VI, chat_id=chat_id, text=text)
        assert outcome is not None and outcome.replies, f"no answer to {where}"
    raise AssertionError(f"the form never reached {until}")


def seed_reports(services: Services, *, a_until: str, b_until: str = "<sent>") -> None:
    """Unit A's report typed (on Zalo) up to ``a_until``, unit B's up to ``b_until``.

    The typing chats' forms are left (as /cancel does), so every chat starts with none open.
    """
    for unit, role, until in ((UNIT_A, "focal_a", a_until), (UNIT_B, "focal_b", b_until)):
        who = person("zalo", role)
        type_report(services, who, unit, until=until)
        services.reporting.cancel(services.accounts.load(who.identity), VI, chat_id=who.user_id)


def foreign_writes(services: Services) -> list[str]:
    """Answers, versions and open forms of a unit written by someone not its focal point."""
    found: list[str] = []
    with services.db.transaction() as session:
        members = {(f.account_id, f.unit_id) for f in session.exec(select(FocalPoint))}
        units = {u.id: u.code for u in session.exec(select(Unit))}
        reports = {r.id: r.unit_id for r in session.exec(select(Report))}

        def check(kind: str, account_id: int | None, report_id: int) -> None:
            unit_id = reports[report_id]
            if (account_id, unit_id) not in members:
                found.append(f"{kind} of {units[unit_id]} by account {account_id}")

        for answer in session.exec(select(Answer)):
            check(f"answer {answer.question_key}", answer.answered_by_account_id, answer.report_id)
        for version in session.exec(select(ReportVersion)):
            check(f"version {version.version}", version.submitted_by_account_id, version.report_id)
        for active in session.exec(select(FormSession)):
            check("open form", active.account_id, active.report_id)
    return found


def report_ids(services: Services) -> dict[str, int]:
    """Each unit's report id, by unit code."""
    with services.db.transaction() as session:
        rows = session.exec(select(Report, Unit).where(Report.unit_id == Unit.id)).all()
        return {unit.code: report.id for report, unit in rows if report.id is not None}


def unit_id(services: Services, code: str) -> int:
    with services.db.transaction() as session:
        found = session.exec(select(Unit).where(Unit.code == code)).one().id
        assert found is not None
        return found


async def deliveries_done(bot: ZaloBot) -> None:
    """Wait until every announcement round queued is sent, reported and marked finished."""
    application = bot.telegram.application
    assert application is not None
    engine = application.bot_data[RUNTIME_KEY].delivery
    assert isinstance(engine, DeliveryEngine)
    await asyncio.wait_for(engine.wait_idle(), 30)


def all_leaks(texts: Iterable[tuple[str, str]]) -> list[str]:
    """``(role, text)`` pairs → a line per text that carries a trace its reader must not see."""
    return [
        f"{role} was sent {found}: {text[:300]!r}"
        for role, text in texts
        if (found := leaks(text, role))
    ]
