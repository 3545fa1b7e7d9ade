"""The bot explored as people use it: commands, then the buttons it really sent, on two channels.

Ten people act in one process serving Telegram and Zalo (both stand-ins, over HTTP): a
stranger, a focal point of unit A, one of unit B, an office member and an admin, on each
channel. Unit B's report is sent; unit A's is filled in up to a yes/no question, a multiple
choice or the last questions; both carry distinctive markers (``tests.crossunit``). Hypothesis
draws where A starts and a sequence of steps, each one person doing one of:

- ``command``: a declared command or alias, with good or bad arguments;
- ``press``: a button of the latest message in that chat that has some (on Zalo: typing a
  number or a word of the latest numbered choices the bot sent);
- ``stale``: a button of an older message; ``replay``: the person's last press, again;
- ``forge``: a button the bot sent to another chat, pressed on one's own message (on Zalo:
  another chat's choice typed), or callback data no message ever carried;
- ``answer``: what the person would do next: a focal point answers the open question, an
  office member writes an announcement and sends it to everyone; ``text``: random text (HTML
  specials, emoji, very long); ``odd``: a sticker, a document, an edited message, a group
  message, a reply to the bot's last message.

After each step: no Bad Request on either stand-in, every button press answered, no error or
exception logged, nothing of unit B sent to A's focal points (texts, button labels, alerts; and
the reverse, and nothing of either to a stranger); at the end, no answer, version or open form
of a unit written by anyone who is not its focal point. A failure lists the steps up to it.

CI runs ``VSTBPN_FUZZ_EXAMPLES`` (default 12) derandomized sequences; ``make fuzz`` runs many
more with fresh randomness, and prints how to replay a failure (``@reproduce_failure``).
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import logging
import os
import shutil
import tempfile
import traceback
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlmodel import select

from bot.context import RUNTIME_KEY
from bot.isolated import DataSource, ExportJob, build_export, build_status_chart
from bot.runtime import services_for
from commands.core import ExportFile, Runtime, declared
from domain.clock import FixedClock
from domain.overview import CampaignStatus
from standin.telegram import FakeTelegram
from standin.zalo import FakeZalo
from storage.broadcast_models import Broadcast, BroadcastStatus
from storage.models import FormSession
from tests.conftest import VN
from tests.crossunit import (
    CAST,
    FORBIDDEN,
    Person,
    all_leaks,
    deliveries_done,
    enrol,
    foreign_writes,
    seed_reports,
    zalo_choices,
)
from tests.forms_helpers import TYPED_ANSWERS, form_position
from tests.harness import TOKEN, BotHarness, make_settings, open_test_database
from tests.zalo.conftest import ZALO_TOKEN, ZaloBot, _zalo_bot

EXAMPLES = int(os.environ.get("VSTBPN_FUZZ_EXAMPLES") or 12)
LONG_RUN = "VSTBPN_FUZZ_EXAMPLES" in os.environ  # `make fuzz`: new sequences every run
NOW = datetime(2023, 5, 22, 9, 0, tzinfo=VN)
# No shrinking: at one to four seconds a run it takes more than Hypothesis's five minutes and
# stops half done; a failure lists the steps up to the first broken rule instead. Never the
# "explain" phase either: its line tracing makes each run after a failure ten times slower.
PHASES = (Phase.explicit, Phase.reuse, Phase.generate, Phase.target)

# --------------------------------------------------------------------------- what people type
_PLAIN = [f"/{name}" for spec in declared().values() for name in (spec.name, *spec.aliases)] + [
    "/lang en",
    "/lang vi",
    "/lang xx",
    "/calendar 2023",
    "/calendar 1999",
    "/status six_month:2023",
    "/status nope",
    "/answers nope x",
    "/export nope",
    "/acks 1",
    "/acks 99",
    "/acks x",
    "/remind six_month:2023",
    "/units district",
    "/units planet",
    "/audit 9999",
    "/start " + "A" * 40,
    "/report extra words",
    "/adhoc 1/1/2000 x",
    "/broadcast",
    "/report",
]
# Unit codes only from staff: a focal point typing the other unit's code would be sent it back.
_STAFF = [
    "/answers huyen-muong-te six_month:2023",
    "/answers huyen-sin-ho six_month:2023",
    "/invite huyen-muong-te",
    "/reopen huyen-sin-ho six_month:2023 3",
    "/adhoc 1/1/2030 Báo cáo nhanh",
    "/export six_month:2023",
    "huyen-muong-te",  # the chosen units of an announcement
]
_SAMPLES = [
    "<b>",
    "</i>",
    "a & b",
    "&amp;",
    "<script>x</script>",
    "1.200",
    "12,5",
    "không",
    "có",
    "15 triệu",
    "bo qua",
    "quay lai",
    "hủy",
    "1, 3",
    "‮rtl‭",
    "😀" * 30,
    "👩‍👩‍👧 <a href='x'>",
    "0",
    "-1",
    "99999999999999999999",
    "đã nhận",
    "Họp giao ban quý II lúc 8h00",
]
_TRACES = {trace.casefold() for traces in FORBIDDEN.values() for trace in traces}


class Long(str):
    """A very long text, shown by its length (Hypothesis prints the failing steps)."""

    def __repr__(self) -> str:
        return f"Long({len(self)})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


texts = st.one_of(
    st.text(max_size=60),
    st.sampled_from(_SAMPLES),
    st.builds(lambda n: Long("x<&>😀 " * n), st.integers(min_value=500, max_value=1600)),
).filter(lambda text: not any(trace in text.casefold() for trace in _TRACES))
# Callback data no message carries: forged by hand.
_GARBAGE = ["|", "bc:", "bc:ack:x", "-1|amend", "0|p:1:1", "1|o:yes", "abc|def", "x" * 64]
_ZALO_GARBAGE = ["0", "99", "-1", "1, 2, 99"]
# Kinds and people weighted by repetition (Hypothesis shrinks towards the first).
KINDS = ["press"] * 6 + ["command"] * 4 + ["answer"] * 4 + ["forge"] * 3
KINDS += ["stale"] * 2 + ["replay"] * 2 + ["text"] * 2 + ["odd"]
_WEIGHT = {"focal_a": 3, "focal_b": 2, "stranger": 2, "office": 2, "admin": 1}
ACTORS = [index for index, who in enumerate(CAST) for _ in range(_WEIGHT[who.role])]
step = st.tuples(st.sampled_from(ACTORS), st.sampled_from(KINDS), st.integers(0, 10**6), texts)
Step = tuple[int, str, int, str]


sequences = st.lists(step, min_size=40, max_size=100)


class _Records(logging.Handler):
    """Every error, and every record with an exception, from any logger."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.found: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            line = f"{record.levelname} {record.name}: {record.getMessage()}"
            if record.exc_info and record.exc_info[1] is not None:
                error = record.exc_info[1]
                frames = traceback.extract_tb(error.__traceback__)[-3:]
                where = " < ".join(
                    f"{f.filename.rsplit('/', 2)[-1]}:{f.lineno}" for f in reversed(frames)
                )
                line += f" — {type(error).__name__}: {error} (at {where})"
            self.found.append(line)


@dataclass
class InlineWorkshop:
    """The export and the chart made in this process (the bot spawns a child for each)."""

    source: DataSource

    async def export(self, period_key: str, language: str, now: datetime) -> ExportFile:
        made = build_export(ExportJob(self.source, period_key, language, now))
        return ExportFile(made.content, made.submitted, made.total)

    async def status_chart(self, status: CampaignStatus, language: str) -> bytes:
        return build_status_chart(status, language)


# Where unit A's report starts: at a yes/no question, at a multiple choice, near the end.
STARTS = ("recommendations", "has_female_key_leader", "activity_forms")


@functools.cache
def _template(a_until: str) -> Path:
    """A database with the units, the ten people and both reports seeded, made once."""
    folder = Path(tempfile.mkdtemp(prefix="vstbpn-fuzz-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    settings = make_settings(folder)
    db = open_test_database(settings)
    services = services_for(settings, db, FixedClock(NOW))
    services.units.ensure_default_catalogue()
    enrol(services)
    seed_reports(services, a_until=a_until)
    db.engine.dispose()
    return folder / "bot.sqlite3"


@dataclass
class Explorer:
    """The ten people, what each pressed last, and what every reader was sent."""

    bot: ZaloBot
    journal: list[str] = field(default_factory=list)
    queries: dict[str, Person] = field(default_factory=dict)
    last_press: dict[Person, tuple[int, str] | str] = field(default_factory=dict)
    readers: dict[str, str] = field(default_factory=lambda: {p.user_id: p.role for p in CAST})
    seen: dict[str, int] = field(default_factory=dict)

    @property
    def telegram(self) -> FakeTelegram:
        return self.bot.telegram.telegram

    @property
    def zalo(self) -> FakeZalo:
        return self.bot.zalo

    @property
    def harness(self) -> BotHarness:
        return self.bot.telegram

    async def open(self) -> None:
        """People known to both stand-ins; B's focal point opens its sent report (amend)."""
        for who in CAST:
            if who.channel == "telegram":
                self.telegram.add_user(int(who.user_id), who.name, language_code="vi")
            else:
                self.zalo.add_user(who.user_id, who.name)
        self.telegram.add_group(-100, "Nhóm <test>")
        b_focal = next(p for p in CAST if p.role == "focal_b" and p.channel == "telegram")
        self.journal.append("before: focal_b@telegram")
        await self.type(b_focal, "/report")

    # ----------------------------------------------------------------------- one step
    async def act(self, number: int, raw: Step) -> None:
        index, kind, pick, text = raw
        who = CAST[index]
        said = f" {text[:40]!r}" if kind in {"text", "odd"} else ""
        self.journal.append(f"{number}: {who.role}@{who.channel} {kind} #{pick}{said}")
        if kind == "command":
            commands = _PLAIN + (_STAFF if who.role in {"office", "admin"} else [])
            await self.type(who, commands[pick % len(commands)])
        elif kind in {"press", "stale"}:
            await self.press_shown(who, pick, fresh=kind == "press")
        elif kind == "replay":
            await self.replay(who, pick)
        elif kind == "forge":
            await self.forge(who, pick)
        elif kind == "answer":
            await self.plausible(who, pick)
        elif kind == "text":
            await self.type(who, text or ".")
        else:
            await self.odd(who, pick, text or ".")

    async def type(self, who: Person, text: str) -> None:
        self.journal.append(f"   types {text[:60]!r}")
        if who.channel == "telegram":
            update_id = self.telegram.inject_message(int(who.user_id), text)
            await self.harness.replies_to(int(who.user_id), update_id)
        else:
            await self.bot.processed(self.zalo.inject_text(who.user_id, text))

    async def press(self, who: Person, message_id: int, data: str, *, strict: bool) -> None:
        self.journal.append(f"   presses {data!r} on message {message_id}")
        user_id = int(who.user_id)
        update_id = self.telegram.inject_callback(user_id, message_id, data, strict=strict)
        self.queries[str(self.telegram.unanswered_callbacks[-1]["id"])] = who
        self.last_press[who] = (message_id, data)
        await self.harness.replies_to(user_id, update_id)

    async def press_shown(self, who: Person, pick: int, *, fresh: bool) -> None:
        """A button (a typed choice on Zalo) of the latest message offering some, or an older."""
        if who.channel == "telegram":
            shown = self.keyboards(int(who.user_id))
            if shown:
                message_id, datas = shown[-1] if fresh else shown[pick % len(shown)]
                await self.press(who, message_id, datas[pick % len(datas)], strict=True)
                return
        else:
            menus = [choices for choices in map(zalo_choices, self.zalo_texts(who)) if choices]
            if menus:
                choices = menus[-1] if fresh else menus[pick % len(menus)]
                self.last_press[who] = choices[pick % len(choices)]
                await self.type(who, choices[pick % len(choices)])
                return
        await self.type(who, "/report" if pick % 2 else "/broadcast")

    async def replay(self, who: Person, pick: int) -> None:
        last = self.last_press.get(who)
        if isinstance(last, tuple):
            await self.press(who, *last, strict=False)
        elif isinstance(last, str):
            await self.type(who, last)
        else:
            await self.press_shown(who, pick, fresh=True)

    async def forge(self, who: Person, pick: int) -> None:
        """Another chat's button on one's own message, or data no message ever carried.

        The kind of button is drawn first (amend, open a report, announcement, form step,
        garbage), then one of that kind: those naming a report or a draft are few among
        many. Now and then the person leaves their form first, as someone trying would.
        """
        if (pick // 7) % 4 == 0:
            await self.type(who, "/cancel")
        if who.channel == "zalo":
            pool = [
                c for p in CAST if p != who for t in self.zalo_texts(p) for c in zalo_choices(t)
            ]
            pool += _ZALO_GARBAGE
            await self.type(who, pool[pick % len(pool)])
            return
        own = self.telegram.messages_to(int(who.user_id))
        if not own:
            await self.type(who, "/help")
            own = self.telegram.messages_to(int(who.user_id))
        foreign = dict.fromkeys(
            data
            for sent in self.telegram.sent
            if sent.chat_id != int(who.user_id)
            for row in sent.buttons
            for _label, data in row
            if data and not data.startswith(("http", "tg:"))
        )
        kinds: dict[str, list[str]] = {"garbage": list(_GARBAGE)}
        for data in foreign:
            kind = next((k for k in ("|amend", "|p:", "bc:") if k in data), "form")
            kinds.setdefault(kind, []).append(data)
        pool = kinds[sorted(kinds)[pick % len(kinds)]]
        await self.press(who, own[-1].message_id, pool[(pick // 5) % len(pool)], strict=False)

    async def odd(self, who: Person, pick: int, text: str) -> None:
        """What people also send: stickers, files, edits, group messages, replies."""
        if who.channel == "zalo":
            event = "message.sticker.received" if pick % 2 else "message.text.received"
            update = self.zalo.update_for(
                who.user_id,
                None if pick % 2 else text,
                event=event,
                chat_type="PRIVATE" if pick % 2 else "GROUP",
            )
            self.zalo.inject_update(update)
            await self.bot.processed(str(update["message"]["message_id"]))
            return
        user_id = int(who.user_id)
        variant = pick % 5
        self.journal.append(f"   sends odd #{variant}")
        if variant == 0:
            sticker = {
                "file_id": "S",
                "file_unique_id": "s",
                "type": "regular",
                "width": 1,
                "height": 1,
                "is_animated": False,
                "is_video": False,
            }
            update_id = self.telegram.inject_message(user_id, None, sticker=sticker)
        elif variant == 1:
            file_id = self.telegram.add_file(b"%PDF-1.4 fuzz", "ke-hoach <1>.pdf")
            document = self.telegram.file_object(file_id)
            update_id = self.telegram.inject_message(user_id, None, document=document, caption=text)
        elif variant == 2:
            update_id = self.telegram.inject_update(
                {
                    "edited_message": {
                        "message_id": 1,
                        "date": 0,
                        "edit_date": 1,
                        "chat": {"id": user_id, "type": "private"},
                        "from": {"id": user_id, "is_bot": False, "first_name": "E"},
                        "text": text,
                    }
                }
            )
        elif variant == 3:
            update_id = self.telegram.inject_message(user_id, text, chat_id=-100)
        else:
            own = self.telegram.messages_to(user_id)
            if not own:
                await self.type(who, text)
                return
            replied = self.telegram.message(user_id, own[-1].message_id)
            update_id = self.telegram.inject_message(user_id, text, reply_to_message=replied)
        await self.harness.settle([update_id])

    # ----------------------------------------------------------------------- reading chats
    def keyboards(self, user_id: int) -> list[tuple[int, list[str]]]:
        """The bot's messages in the chat that show buttons now (edits applied), oldest first."""
        found: list[tuple[int, list[str]]] = []
        for message_id in sorted({m.message_id for m in self.telegram.messages_to(user_id)}):
            with contextlib.suppress(LookupError):
                markup = self.telegram.message(user_id, message_id).get("reply_markup") or {}
                datas = [
                    str(button["callback_data"])
                    for row in markup.get("inline_keyboard") or []
                    for button in row
                    if "callback_data" in button
                ]
                if datas:
                    found.append((message_id, datas))
        return found

    def zalo_texts(self, who: Person) -> list[str]:
        return self.zalo.texts_to(who.user_id) if who.channel == "zalo" else []

    async def plausible(self, who: Person, pick: int) -> None:
        """What the person would do next: a focal point answers their form's question; an
        office member writes an announcement and sends it to everyone, step by step."""
        if who.role in {"office", "admin"}:
            for started in (False, True, True, True, True):
                if not await self.advance_draft(who, start=not started):
                    return
            return
        with self.bot.db.transaction() as session:
            active = session.exec(
                select(FormSession).where(
                    FormSession.channel == who.channel, FormSession.chat_id == who.user_id
                )
            ).first()
            where = form_position(active) if active is not None else None
        if where is None:
            await self.type(who, "/report")
        else:
            typed = {"<confirm>": "có", "<review>": "gửi", "<edit_pick>": "1"}
            await self.type(who, typed.get(where) or str(TYPED_ANSWERS.get(where, "1")))

    async def advance_draft(self, who: Person, *, start: bool) -> bool:
        """One step of the person's announcement: /broadcast (if ``start``), its text, its
        first choice but "Cancel" (everyone, then send). False when there is none to advance."""
        with self.bot.db.transaction() as session:
            draft = session.exec(
                select(Broadcast).where(
                    Broadcast.channel == who.channel,
                    Broadcast.sender_chat_id == who.user_id,
                    Broadcast.status == BroadcastStatus.DRAFT,
                )
            ).first()
            step = draft.step if draft is not None else None
        if step is None:
            if not start:
                return False  # sent, or cancelled
            await self.type(who, "/broadcast")
        elif step == "content":
            await self.type(who, "Họp giao ban quý II lúc 8h00 ngày 05/6 tại Hội trường A")
        elif step == "units":
            await self.type(who, "huyen-muong-te")
        elif who.channel == "zalo":
            await self.type(who, "1")
        else:
            shown = self.keyboards(int(who.user_id))
            onward = [data for data in shown[-1][1] if ":stop:" not in data] if shown else []
            if not onward:
                return False
            await self.press(who, shown[-1][0], onward[0], strict=True)
        return True

    # ----------------------------------------------------------------------- verdict
    def news(self, records: _Records) -> list[str]:
        """What broke since the last look: leaks, Bad Requests, errors logged, silent presses."""
        tg, zalo = self.telegram, self.zalo
        read: list[tuple[str, str]] = []
        for sent in tg.sent[self.seen.get("tg", 0) :]:
            labels = " ".join(label for row in sent.buttons for label, _ in row)
            caption = str(sent.params.get("caption") or "")
            read.append(
                (self.readers.get(str(sent.chat_id), ""), f"{sent.plain_text} {caption} {labels}")
            )
        read += [
            (self.readers.get(m.chat_id, ""), m.text) for m in zalo.sent[self.seen.get("zalo", 0) :]
        ]
        for answered in tg.answered_callbacks[self.seen.get("alerts", 0) :]:
            presser = self.queries.get(str(answered.get("callback_query_id")))
            read.append((presser.role if presser else "", str(answered.get("text") or "")))
        found = all_leaks(read)
        found += [
            f"Bad Request (Telegram): {b}" for b in tg.bad_requests[self.seen.get("bad", 0) :]
        ]
        found += [f"Bad Request (Zalo): {b}" for b in zalo.bad_requests[self.seen.get("zbad", 0) :]]
        found += [f"logged {line}" for line in records.found[self.seen.get("log", 0) :]]
        found += [f"press never answered: {q.get('data')!r}" for q in tg.unanswered_callbacks]
        self.seen = {
            "tg": len(tg.sent),
            "zalo": len(zalo.sent),
            "alerts": len(tg.answered_callbacks),
            "bad": len(tg.bad_requests),
            "zbad": len(zalo.bad_requests),
            "log": len(records.found),
        }
        return found


@contextlib.asynccontextmanager
async def _two_channels(a_until: str) -> AsyncIterator[ZaloBot]:
    """Both stand-ins and the bot serving both, on a copy of the seeded database."""
    telegram, zalo = FakeTelegram(TOKEN), FakeZalo(ZALO_TOKEN)
    await telegram.start()
    await zalo.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            shutil.copy(_template(a_until), Path(tmp) / "bot.sqlite3")
            serving = contextlib.asynccontextmanager(_zalo_bot)
            async with serving(Path(tmp), FixedClock(NOW), telegram, zalo) as bot:
                application = bot.telegram.application
                assert application is not None
                runtime = application.bot_data[RUNTIME_KEY]
                assert isinstance(runtime, Runtime)
                runtime.workshop = InlineWorkshop(DataSource.from_settings(bot.telegram.settings))
                yield bot
    finally:
        await zalo.stop()
        await telegram.stop()


async def _explore(a_until: str, steps: list[Step]) -> list[str]:
    """Run the steps, looking after each; what broke first, with the steps that led to it."""
    records = _Records()
    logging.getLogger().addHandler(records)
    try:
        async with _two_channels(a_until) as bot:
            explorer = Explorer(bot)
            await explorer.open()
            found = explorer.news(records)
            for number, raw in enumerate(steps):
                if found:
                    break
                await explorer.act(number, raw)
                found = explorer.news(records)
            # Announcements still going out are let finish (and what they sent checked): a
            # stop with sends in flight is the chaos test's subject, not this one's.
            await deliveries_done(bot)
            found += [f"written across units: {w}" for w in foreign_writes(bot.services)]
        found += explorer.news(records)  # what the last deliveries sent, and the shutdown
    finally:
        logging.getLogger().removeHandler(records)
    return [*found, "after these steps:", *explorer.journal] if found else []


@settings(
    max_examples=EXAMPLES,
    derandomize=not LONG_RUN,
    database=None,
    print_blob=LONG_RUN,  # how to replay a failure found by chance
    deadline=None,
    phases=PHASES,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(st.sampled_from(STARTS), sequences)
def test_people_pressing_real_buttons_break_nothing_and_see_no_other_unit(
    a_until: str, steps: list[Step]
) -> None:
    problems = asyncio.run(_explore(a_until, steps))
    assert not problems, "\n".join(problems)
