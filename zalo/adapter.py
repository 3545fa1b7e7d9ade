"""Turn Zalo messages into calls of the domain services, and their outcomes into Zalo texts.

The same services as the Telegram handlers: ``AccountService.load`` with a Zalo identity,
``RegistrationService.register`` with the invite code typed as a message (Zalo has no deep
links), ``ReportingService`` for /report and every answer. A typed message is read, in order:

1. a command ("/report", "/huy"…), or a cancel word ("hủy", "huy");
2. while a form question is open: the answer to it (the domain reads numbers, labels without
   accents, "bỏ qua", "quay lại"); a "none" option named by its number or label is a press;
3. else a choice of the last numbered menu shown in this chat (kept in the database);
4. else a form step's typed word, an invite code (or a pasted invite link), or a pointer to /help.

Messages of one chat are handled one at a time, in order; chats do not wait for each other.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from domain.commands import COMMANDS, Audience, commands_for, may_use
from domain.conversation import Outcome, Reply
from domain.forms.text import fold_words
from domain.i18n import LANGUAGES, Translator, translator_for
from domain.identity import ChannelIdentity, UserContext
from domain.overview import KINDS, STATES, campaign_status, kind_labels, state_labels
from domain.registration import RegistrationError, looks_like_code
from domain.reminders import Notifier, Recipient
from domain.reporting import SubmissionNotice
from domain.services import Services
from storage.inbox import Inbox, StoredUpdate
from storage.models import Role
from zalo import CHANNEL
from zalo.outbox import ZaloOutbox
from zalo.text import esc, plain
from zalo.updates import IncomingMessage, parse_updates

log = logging.getLogger(__name__)

ProcessedHook = Callable[[IncomingMessage], None]

CANCEL_WORDS = frozenset({"huy", "huy bo", "cancel", "dung lai", "thoat"})
# The commands a Zalo chat offers; the others (files, QR codes, admin work) stay on Telegram.
ZALO_COMMANDS = frozenset(
    {"start", "help", "whoami", "lang", "report", "cancel", "calendar", "status"}
)
_ALIASES = {"huy": "cancel", "baocao": "report", "trogiup": "help", "lich": "calendar"}
_LINK_CODE = re.compile(r"start=([A-Za-z0-9_-]{16,64})")


@dataclass
class _Chat:
    """One incoming message's writer, translator and chat."""

    me: UserContext
    t: Translator
    chat_id: str
    identity: ChannelIdentity
    message_seq: int | None = None  # the message's place in the inbox: a replay is spotted


class ZaloAdapter:
    def __init__(
        self,
        services: Services,
        outbox: ZaloOutbox,
        *,
        office: Notifier,
        on_processed: ProcessedHook | None = None,
    ) -> None:
        self._services = services
        self._outbox = outbox
        self._store = outbox.store
        # Office notices go to staff on any channel: a ChannelRouter in production.
        self._office = office
        self._on_processed = on_processed
        self._inbox = Inbox(services.db, services.clock.now, CHANNEL)
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiting: dict[str, int] = {}

    # ------------------------------------------------------------------ entry points
    async def handle_update(self, payload: object) -> None:
        """Handle a getUpdates result or a webhook body (with or without the ``ok`` wrapper)."""
        for message in parse_updates(payload):
            await self.handle_message(message)

    async def handle_message(
        self, message: IncomingMessage, *, replay: StoredUpdate | None = None
    ) -> None:
        """Apply one message once: a repeated delivery of the same message id is ignored.

        The message is written to the inbox before anything else; a crash before it is done
        leaves it there and ``replay_unfinished`` handles it at the next start.
        """
        try:
            if not message.private:
                return  # the bot serves people one to one: a group gets no answer, no data
            seq = replay.seq if replay else self._inbox.add(message.message_id, message.to_json())
            if seq is None:
                log.info("Zalo message %s delivered again: ignored", message.message_id)
                return
            self._inbox.started(message.message_id)
            key = message.chat_id
            lock = self._locks.setdefault(key, asyncio.Lock())
            self._waiting[key] = self._waiting.get(key, 0) + 1
            try:
                async with lock:
                    await self._handle(message, seq)
            finally:
                self._waiting[key] -= 1
                if not self._waiting[key]:  # forget idle chats: memory stays flat
                    del self._waiting[key], self._locks[key]
            self._inbox.done(message.message_id)
        finally:
            if self._on_processed is not None:
                self._on_processed(message)

    async def replay_unfinished(self) -> int:
        """Handle the messages a previous run took in but never finished; how many."""
        stored = self._inbox.to_replay()
        for item in stored:
            await self.handle_message(IncomingMessage.from_json(item.payload_json), replay=item)
        return len(stored)

    def forget_old_messages(self) -> None:
        self._inbox.forget_old()

    async def _handle(self, message: IncomingMessage, seq: int | None) -> None:
        identity = ChannelIdentity(CHANNEL, message.user_id, message.chat_id, message.display_name)
        me = self._services.accounts.load(identity)
        t = translator_for(me.language, self._services.tz)
        chat = _Chat(me, t, message.chat_id, identity, seq)
        try:
            if not message.is_text:
                text = chat.t("I can only read text messages. Please type your answer.")
                await self._say(chat, text)
                return
            await self._on_text(chat, (message.text or "").strip())
        except Exception:
            log.exception("error while handling a Zalo message")
            sorry = chat.t(
                "Sorry, something went wrong on my side. What you entered before is saved; "
                "please try again in a moment."
            )
            try:
                await self._say(chat, sorry)
            except Exception:  # Zalo unreachable: the log above is all we can do
                log.warning("could not tell the Zalo user about the error")

    # ------------------------------------------------------------------ routing
    async def _on_text(self, chat: _Chat, text: str) -> None:
        if text.startswith("/"):
            await self._command(chat, text)
            return
        if chat.me.is_focal_point:
            outcome = self._form_step(chat, text)
            if outcome is not None:
                await self._deliver(chat, outcome)
                return
        code = _invite_code(text)
        if code is not None and not chat.me.is_focal_point:
            await self._register(chat, code)
            return
        await self._fallback(chat)

    def _form_step(self, chat: _Chat, text: str) -> Outcome | None:
        """What a focal point's typed text does in a form or a menu; None: neither."""
        reporting, me, chat_id = self._services.reporting, chat.me, chat.chat_id
        if fold_words(text) in CANCEL_WORDS:
            return reporting.cancel(me, chat.t, chat_id=chat_id)
        menu = self._store.menu(chat_id)
        if reporting.awaits_answer(me, chat_id=chat_id):
            # The open question takes the text as its answer: "1" is its option 1, or a count.
            # Only its "none" option, named by number or label, stands for a press.
            entry = menu.match(text) if menu is not None and menu.question else None
            if menu is not None and entry is not None and entry.code == "o:none":
                return reporting.on_action(
                    me, chat.t, chat_id=chat_id, step=menu.step, code=entry.code
                )
            return reporting.on_text(
                me, chat.t, chat_id=chat_id, text=text, message_seq=chat.message_seq
            )
        entry = menu.match(text) if menu is not None and not menu.question else None
        if menu is not None and entry is not None:
            return reporting.on_action(me, chat.t, chat_id=chat_id, step=menu.step, code=entry.code)
        return reporting.on_text(
            me, chat.t, chat_id=chat_id, text=text, message_seq=chat.message_seq
        )

    async def _command(self, chat: _Chat, text: str) -> None:
        word, *args = text[1:].split()
        name = word.split("@")[0].lower() if word else ""
        name = _ALIASES.get(name, name)
        if name not in ZALO_COMMANDS:
            known = {spec.name for spec in COMMANDS}
            if name in known:
                await self._say(chat, chat.t("This command is only available on Telegram."))
            else:
                await self._fallback(chat)
            return
        spec = next(spec for spec in COMMANDS if spec.name == name)
        if not may_use(chat.me, spec.audience):
            await self._refuse(chat, spec.audience)
            return
        handler = getattr(self, f"_cmd_{name}")
        await handler(chat, args)

    # ------------------------------------------------------------------ commands
    async def _cmd_start(self, chat: _Chat, args: list[str]) -> None:
        if args:
            await self._register(chat, args[0])
            return
        if chat.me.is_registered:
            await self._say(chat, chat.t("Welcome back!") + "\n\n" + self._help_text(chat))
            return
        await self._say(
            chat,
            chat.t(
                "Hello! I help the focal points of the Committees for the Advancement of Women "
                "send their reports and receive reminders.\n\n"
                "To start, please type the invite code that the standing office sent to your "
                "unit. If you have no code, please ask the standing office."
            ),
        )

    async def _cmd_help(self, chat: _Chat, args: list[str]) -> None:
        await self._say(chat, self._help_text(chat))

    async def _cmd_whoami(self, chat: _Chat, args: list[str]) -> None:
        me, t = chat.me, chat.t
        lines = [
            t("{name} (Zalo id {id})", name=me.identity.display_name, id=me.identity.external_id)
        ]
        for unit in me.units:
            lines.append(
                t("Focal point of: {unit} ({code})", unit=unit.name(me.language), code=unit.code)
            )
        role_names = {Role.ADMIN: t("administrator"), Role.OFFICE: t("standing office staff")}
        lines += [t("Role: {role}", role=role_names[role]) for role in sorted(me.roles)]
        language = t("Vietnamese") if me.language == "vi" else t("English")
        lines.append(t("Language: {language}", language=language))
        await self._say(chat, "\n".join(lines))

    async def _cmd_lang(self, chat: _Chat, args: list[str]) -> None:
        choice = args[0].lower().strip() if args else ""
        if choice not in LANGUAGES:
            await self._say(
                chat, chat.t("Choose a language: /lang vi (Tiếng Việt) or /lang en (English).")
            )
            return
        self._services.accounts.set_language(chat.me.account_id, choice)
        chat.me = self._services.accounts.load(chat.identity)
        chat.t = translator_for(choice, self._services.tz)
        await self._say(chat, chat.t("Done: I will speak English with you."))

    async def _cmd_report(self, chat: _Chat, args: list[str]) -> None:
        await self._deliver(
            chat, self._services.reporting.start(chat.me, chat.t, chat_id=chat.chat_id)
        )

    async def _cmd_cancel(self, chat: _Chat, args: list[str]) -> None:
        await self._deliver(
            chat, self._services.reporting.cancel(chat.me, chat.t, chat_id=chat.chat_id)
        )

    async def _cmd_calendar(self, chat: _Chat, args: list[str]) -> None:
        t, services, language = chat.t, self._services, chat.me.language
        today = services.clock.now().astimezone(services.tz).date()
        year = int(args[0]) if args and args[0].isdigit() else None
        deadlines, months = [], []
        for each in [year] if year else [today.year, today.year + 1]:
            for period in services.calendar.periods(each):
                if year or period.due_display >= today:
                    line = t(
                        "{report}: open from {opens}, due before {due}",
                        report=period.label(language),
                        opens=t.short_date(period.opens_on),
                        due=t.short_date(period.due_display),
                    )
                    deadlines.append((period.due_display, line))
            for month in services.calendar.action_months(each):
                if year or month.ends_on >= today:
                    line = t(
                        "{name}: {start} – {end}",
                        name=month.name(language),
                        start=t.date(month.starts_on),
                        end=t.date(month.ends_on),
                    )
                    months.append((month.starts_on, line))
        title = t("Calendar {year}", year=year) if year else t("Coming up")
        lines = [title, "", t("Report deadlines:")]
        lines += [f"• {text}" for _, text in sorted(deadlines)[:12]] or [t("none")]
        lines += ["", t("Action months:")]
        lines += [f"• {text}" for _, text in sorted(months)[:6]] or [t("none")]
        await self._say(chat, "\n".join(lines))

    async def _cmd_status(self, chat: _Chat, args: list[str]) -> None:
        t, language = chat.t, chat.me.language
        services = self._services
        period = services.periods.resolve(args[0] if args else None)
        if period is None:
            await self._say(chat, t("There is no such report period. /periods lists them."))
            return
        overview = campaign_status(
            period, services.reporting.snapshots(period, submitted_answers=False)
        )
        states, kinds = state_labels(t), kind_labels(t)
        lines = [
            f"{period.label(language)} — "
            + t("due before {due}", due=t.short_date(period.due_display)),
            "",
        ]
        for kind in KINDS:
            if kind in overview.counts:
                counts = overview.counts[kind]
                parts = ", ".join(f"{states[s]} {counts[s]}" for s in STATES)
                lines.append(f"{kinds[kind]}: {parts}")
        totals = overview.totals
        lines.append(t("All units") + ": " + ", ".join(f"{states[s]} {totals[s]}" for s in STATES))
        if overview.missing:
            lines += ["", t("Still missing ({count}):", count=len(overview.missing))]
            lines += [
                f"• {s.unit.name(language)} ({s.unit.code}) — {states[s.status]}"
                for s in overview.missing
            ]
        usage = self._outbox.quota.usage()
        lines += [
            "",
            t(
                "Zalo messages sent this month: {sent} of {limit}.",
                sent=usage.sent,
                limit=usage.limit,
            ),
        ]
        await self._say(chat, "\n".join(lines))

    # ------------------------------------------------------------------ registration
    async def _register(self, chat: _Chat, code: str) -> None:
        t = chat.t
        try:
            registration = self._services.registration.register(chat.identity, code)
        except RegistrationError as error:
            await self._say(chat, error.text.render(t))
            return
        chat.me = self._services.accounts.load(chat.identity)
        unit = esc(registration.unit.name(chat.me.language))
        if registration.already_registered:
            await self._say(
                chat, plain(t("You are already registered for <b>{unit}</b>.", unit=unit))
            )
            return
        lines = [
            plain(t("Welcome! You are now the focal point of <b>{unit}</b>.", unit=unit)),
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
        await self._say(chat, "\n".join(lines))

    # ------------------------------------------------------------------ replies
    def _help_text(self, chat: _Chat) -> str:
        t = chat.t
        lines = [t("What you can do:")]
        for spec in commands_for(chat.me):
            if spec.name in ZALO_COMMANDS:
                usage = f" {spec.usage}" if spec.usage else ""
                lines.append(f"/{spec.name}{usage} — {t(spec.description)}")
        if chat.me.is_focal_point:
            lines += [
                "",
                t(
                    "In a report, answer with the number of an option or type the answer; "
                    "type “back” for the previous question, “skip” to skip one, “cancel” to stop."
                ),
            ]
        if not chat.me.is_registered:
            lines += [
                "",
                t("To register, type the invite code that the standing office sent to your unit."),
            ]
        return "\n".join(lines)

    async def _refuse(self, chat: _Chat, audience: Audience) -> None:
        if audience is Audience.REGISTERED:
            text = chat.t(
                "This is for registered focal points. Please type the invite code the standing "
                "office sent you."
            )
        else:
            text = chat.t("Sorry, this command is only for the standing office.")
        await self._say(chat, text)

    async def _fallback(self, chat: _Chat) -> None:
        if not chat.me.is_registered:
            await self._say(
                chat,
                chat.t(
                    "I can only help registered focal points. Please type the invite code the "
                    "standing office sent to your unit, or ask them for one."
                ),
            )
            return
        await self._say(
            chat, chat.t("Sorry, I did not understand. Type /help to see what I can do.")
        )

    async def _say(self, chat: _Chat, text: str) -> None:
        await self._outbox.send_text(chat.chat_id, text)

    async def _deliver(self, chat: _Chat, outcome: Outcome) -> None:
        """Send a form outcome; its last actions become this chat's menu (none: no menu)."""
        if outcome.alert:
            await self._say(chat, outcome.alert)
        for reply in outcome.replies:
            await self._outbox.send_reply(chat.chat_id, reply, chat.t)
        if outcome.replies and not any(reply.actions for reply in outcome.replies):
            self._store.remember_menu(chat.chat_id, None)
        for notice in outcome.notices:
            if isinstance(notice, SubmissionNotice):
                await self._notify_office(notice)

    async def _notify_office(self, notice: SubmissionNotice) -> None:
        """Tell every admin and office member, on their own channel, that a unit submitted."""
        for staff in self._services.accounts.staff_contexts():
            recipient = Recipient(
                staff.account_id, staff.identity.channel, staff.identity.chat_id, staff.language
            )
            reply = submission_reply(notice, translator_for(staff.language, self._services.tz))
            try:
                await self._office.send(recipient, reply)
            except Exception:
                log.warning("could not tell %s about a submission", staff.identity.actor)


def submission_reply(notice: SubmissionNotice, t: Translator) -> Reply:
    """The office's notice of a submission, as plain text (the Telegram one's message ids)."""
    english = t.language == "en"
    unit = notice.unit_name_en if english and notice.unit_name_en else notice.unit_name_vi
    period = (
        notice.period_label_en if english and notice.period_label_en else notice.period_label_vi
    )
    text = plain(
        t(
            "📥 <b>{unit}</b> sent {period} (version {version}), by {person}.",
            unit=esc(unit),
            period=esc(period),
            version=notice.version,
            person=esc(notice.submitted_by),
        )
    )
    if notice.late:
        text += " " + t("Late.")
    text += "\n" + plain(t("See it with /answers {code}", code=esc(notice.unit_code)))
    return Reply(text, expects_text=False)


def _invite_code(text: str) -> str | None:
    """The code in a typed message: the code itself, or an invite link pasted whole."""
    if looks_like_code(text):
        return text.strip()
    match = _LINK_CODE.search(text)
    return match.group(1) if match else None
