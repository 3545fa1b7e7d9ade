"""Turn Zalo messages into neutral requests to the command layer, and outcomes into Zalo texts.

Zalo has no buttons, no deep links and no markup, so a typed message is read, in order:

1. a command ("/report", "/baocao"…), or a cancel word ("hủy", "huy");
2. while a form question is open: the answer to it (the domain reads numbers, labels without
   accents, "bỏ qua", "quay lại"); a "none" option named by its number or label is a press;
3. else a choice of the last numbered menu shown in this chat (kept in the database);
4. else typed text as on any channel: the office's draft, a form's word, an invite code.

Files (the export, the chart, a QR code) become single-use download links. Messages of one
chat are handled one at a time, in order; chats do not wait for each other.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from commands import broadcast, dispatch
from commands.core import ZALO, Request, Runtime
from commands.texts import SORRY
from domain.conversation import FileOut, Outcome
from domain.fairness import SLOW_DOWN, STRANGER_NOTICE, Admission, Verdict
from domain.forms.text import fold_words
from domain.i18n import translator_for
from domain.identity import ChannelIdentity
from domain.rich import plain
from domain.services import Services
from storage.inbox import Inbox, StoredUpdate
from zalo import CHANNEL
from zalo.broadcast import ACK_WORDS
from zalo.outbox import ZaloOutbox
from zalo.updates import IncomingMessage, parse_updates

log = logging.getLogger(__name__)

ProcessedHook = Callable[[IncomingMessage], None]
# Publish a file for one download; the link (None: files cannot be served here).
FilePublisher = Callable[[FileOut], Awaitable[str | None]]

CANCEL_WORDS = frozenset({"huy", "huy bo", "cancel", "dung lai", "thoat"})


class ZaloAdapter:
    def __init__(
        self,
        services: Services,
        outbox: ZaloOutbox,
        runtime: Runtime,
        *,
        publish: FilePublisher | None = None,
        on_processed: ProcessedHook | None = None,
    ) -> None:
        self._services = services
        self._outbox = outbox
        self._store = outbox.store
        self._runtime = runtime
        self._publish = publish
        self._on_processed = on_processed
        self._inbox = Inbox(services.db, services.clock.now, CHANNEL)
        self._locks: dict[str, asyncio.Lock] = {}
        self._waiting: dict[str, int] = {}
        self._background: set[asyncio.Task[None]] = set()  # paced messages waiting their turn

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
        leaves it there and ``replay_unfinished`` handles it at the next start. A registered
        person's message that must wait for its token (``domain.fairness``) waits in a task of
        its own, in its chat's line: the caller (the polling loop) goes on with other people.
        """
        handed_off = False
        try:
            if not message.private:
                return  # the bot serves people one to one: a group gets no answer, no data
            # Fairness first, before the inbox: a stranger's flood is dropped unstored (one
            # short reply a minute, which also spares the monthly quota); a registered
            # person's message is stored, then paced in its turn.
            admission = self._admit(message) if replay is None else None
            if admission is not None and not admission.kept:
                if admission.verdict is Verdict.NOTICE:
                    await self._send_notice(message, STRANGER_NOTICE)
                return
            seq = replay.seq if replay else self._inbox.add(message.message_id, message.to_json())
            if seq is None:
                log.info("Zalo message %s delivered again: ignored", message.message_id)
                return
            self._inbox.started(message.message_id)
            key = message.chat_id
            self._waiting[key] = self._waiting.get(key, 0) + 1
            lock = self._locks.setdefault(key, asyncio.Lock())
            paced = (
                admission if admission is not None and admission.verdict is Verdict.PACE else None
            )
            turn = self._in_turn(message, seq, lock, paced)
            if paced is not None:
                handed_off = True
                task = asyncio.create_task(self._in_background(message, turn))
                self._background.add(task)
                task.add_done_callback(self._background.discard)
                await asyncio.sleep(0)  # the task queues on the chat's lock before we return
                return
            await turn
        finally:
            if not handed_off and self._on_processed is not None:
                self._on_processed(message)

    async def _in_turn(
        self,
        message: IncomingMessage,
        seq: int | None,
        lock: asyncio.Lock,
        paced: Admission | None,
    ) -> None:
        """Handle ``message`` once the chat's earlier messages are through (and its token came)."""
        key = message.chat_id
        try:
            async with lock:
                if paced is not None:
                    await self._pace(message, paced)
                await self._handle(message, seq)
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:  # forget idle chats: memory stays flat
                del self._waiting[key], self._locks[key]
        self._inbox.done(message.message_id)

    async def _in_background(self, message: IncomingMessage, turn: Awaitable[None]) -> None:
        try:
            await turn
        except Exception:
            log.exception("error while handling a paced Zalo message")
        finally:
            if self._on_processed is not None:
                self._on_processed(message)

    def _admit(self, message: IncomingMessage) -> Admission | None:
        policy = self._runtime.fairness
        return policy.admit((CHANNEL, message.user_id)) if policy is not None else None

    async def _pace(self, message: IncomingMessage, admission: Admission) -> None:
        """A registered person over their rate: told once, then answered in their turn."""
        policy = self._runtime.fairness
        assert policy is not None
        if admission.notify:
            await self._send_notice(message, SLOW_DOWN)
        await policy.wait_turn(admission)

    async def _send_notice(self, message: IncomingMessage, msgid: str) -> None:
        policy = self._runtime.fairness
        language = policy.language((CHANNEL, message.user_id)) if policy is not None else None
        try:
            await self._outbox.send_text(message.chat_id, translator_for(language)(msgid))
        except Exception:  # the answers matter more than the notice
            log.warning("could not send a fairness notice on Zalo", exc_info=True)

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
        if self._runtime.fairness is not None:  # now the bucket knows who wrote
            self._runtime.fairness.learn(
                (CHANNEL, message.user_id), registered=me.is_registered, language=me.language
            )
        req = Request(self._services, self._runtime, me, ZALO, message_seq=seq)
        try:
            if not message.is_text:
                text = req.t("I can only read text messages. Please type your answer.")
                await self._outbox.send_text(req.chat_id, text)
                return
            outcome = await self._on_text(req, (message.text or "").strip())
            await self._deliver(req, outcome)
        except Exception:
            log.exception("error while handling a Zalo message")
            sorry = req.t(SORRY)
            try:
                await self._outbox.send_text(req.chat_id, sorry)
            except Exception:  # Zalo unreachable: the log above is all we can do
                log.warning("could not tell the Zalo user about the error")

    async def _on_text(self, req: Request, text: str) -> Outcome:
        """What the typed text means here: a command, a cancel word, a numbered choice…"""
        if text.startswith("/"):
            return await dispatch.on_text(req, text)
        word = fold_words(text)
        if word in CANCEL_WORDS:
            return await dispatch.run_command(req, "cancel")
        if word in ACK_WORDS:
            # "Đã nhận" confirms the latest announcement even when a form question is open.
            waiting = self._services.broadcasts.awaiting_confirmation(req.me.account_id)
            if waiting is not None:
                return dispatch.on_press(req, broadcast.SCOPE, 0, broadcast.ack_code(waiting))
        menu = self._store.menu(req.chat_id)
        if req.me.is_focal_point and self._services.reporting.awaits_answer(
            req.me, chat_id=req.chat_id
        ):
            # The open question takes the text as its answer: "1" is its option 1, or a count.
            # Only its "none" option, named by number or label, stands for a press.
            entry = menu.match(text) if menu is not None and menu.question else None
            if menu is not None and entry is not None and entry.code == "o:none":
                return dispatch.on_press(req, menu.scope, menu.step, entry.code)
            return await dispatch.on_text(req, text)
        entry = menu.match(text) if menu is not None and not menu.question else None
        if menu is not None and entry is not None:
            return dispatch.on_press(req, menu.scope, menu.step, entry.code)
        return await dispatch.on_text(req, text)

    async def _deliver(self, req: Request, outcome: Outcome) -> None:
        """Send an outcome; its last choices become this chat's menu (none: no menu)."""
        try:
            if outcome.alert:
                await self._outbox.send_text(req.chat_id, outcome.alert)
            for reply in outcome.replies:
                if reply.body or reply.title or reply.actions:
                    await self._outbox.send_reply(req.chat_id, reply, req.t)
                if reply.file is not None:
                    await self._send_file(req, reply.file)
            if outcome.replies and not any(reply.actions for reply in outcome.replies):
                self._store.remember_menu(req.chat_id, None)
        finally:
            await dispatch.finish(req, outcome)

    async def _send_file(self, req: Request, file: FileOut) -> None:
        """A file as a link to download once (a picture is shown where Zalo can)."""
        url = await self._publish(file) if self._publish is not None else None
        caption = plain(file.caption)
        if url is None:
            await self._outbox.send_text(
                req.chat_id,
                req.t("{name}: files cannot be downloaded from this bot yet.", name=file.name),
            )
            return
        if file.picture:
            await self._outbox.send_photo(req.chat_id, url, caption or None)
            return
        lines = [caption] if caption else []
        lines.append(req.t("Download {name} (the link works once): {url}", name=file.name, url=url))
        await self._outbox.send_text(req.chat_id, "\n".join(lines))
