"""Per-person fairness on Telegram: ``domain.fairness`` asked where each update arrives.

Where the check goes, and why there:

- **On arrival, before the inbox.** ``DurableUpdateQueue.put`` writes every update to the
  database before Telegram hears it arrived (nothing typed is lost in a crash). A stranger's
  flood must not cost those writes, so ``FairUpdateQueue.put`` asks the policy first: a known
  stranger over their rate is dropped there (at most one short reply a minute, sent from
  here), before any database work. Anyone else goes on into the inbox as before: a message a
  registered person typed is stored before it can be lost, however fast they type.
- **Pacing after the chat's turn, before a shared slot.** A registered person over their rate
  is not dropped: their update waits for its token in ``pace``, which the processor awaits
  once the chat's earlier updates are done and before it takes one of the slots all chats
  share (``bot.processing``). The person is told once to slow down; their updates are then
  handled in order, and other people's in the meantime.
- **Learning who wrote.** The policy cannot tell a stranger from a focal point without the
  database; the guard reads the writer anyway (``handlers.guards``), and tells the policy.
  Until then a sender counts as registered: the first messages of a new stranger are stored
  and answered like anyone's, never a focal point's dropped.

A paced update still waiting when the bot stops is left in the inbox and handled at the next
start (the stop must not wait for a flood's tokens).
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Callable

from telegram import Bot, Update
from telegram.constants import ChatType

from bot.inbox import DurableUpdateQueue
from commands.core import Runtime
from domain.fairness import SLOW_DOWN, STRANGER_NOTICE, Admission, FairnessPolicy, Verdict
from domain.i18n import translator_for
from storage.inbox import Inbox

log = logging.getLogger(__name__)

CHANNEL = "telegram"
DroppedHook = Callable[[object], None]


def shared_policy(runtime: Runtime, *, enabled: bool) -> FairnessPolicy | None:
    """The process's one policy (both channels count against it), made on first use."""
    if runtime.fairness is None and enabled:
        runtime.fairness = FairnessPolicy()
    return runtime.fairness


def sender_of(update: Update) -> tuple[str, str] | None:
    """The policy's key for the person who sent ``update`` (None: nobody to count)."""
    user = update.effective_user
    return (CHANNEL, str(user.id)) if user is not None else None


class FairUpdateQueue(DurableUpdateQueue):
    """The durable update queue, with a token bucket per sender in front of the inbox."""

    def __init__(
        self,
        inbox: Inbox,
        policy: FairnessPolicy,
        *,
        on_dropped: DroppedHook | None = None,
        default_language: str = "vi",
    ) -> None:
        super().__init__(inbox)
        self.policy = policy
        self.bot: Bot | None = None  # set once the Application is built (for the notices)
        self._on_dropped = on_dropped
        self._default_language = default_language
        self._paced: dict[int, Admission] = {}
        self._stopping = asyncio.Event()
        self._notices: set[asyncio.Task[None]] = set()

    async def put(self, item: object) -> None:
        if not isinstance(item, Update):
            # PTB's stop signal (nothing else but updates comes this way): paced updates stop
            # waiting and stay in the inbox for the next start.
            self._stopping.set()
            await super().put(item)
            return
        chat, user = item.effective_chat, item.effective_user
        if chat is None or chat.type != ChatType.PRIVATE or user is None or user.is_bot:
            self._dropped(item)  # the guard ignores it (no answer, no data): not even stored
            return
        sender = (CHANNEL, str(user.id))
        admission = self.policy.admit(sender)
        if not admission.kept:
            if admission.verdict is Verdict.NOTICE:
                self._notify_stranger(item, sender)
            else:
                self._dropped(item)
            return
        if admission.verdict is Verdict.PACE:
            self._paced[item.update_id] = admission
        await super().put(item)

    async def pace(self, update: object) -> bool:
        """Wait for a paced update's token (saying "slow down" first, once); False when the
        bot stops meanwhile: the update then stays in the inbox for the next start."""
        if not isinstance(update, Update):
            return True
        admission = self._paced.pop(update.update_id, None)
        if admission is None:
            return True
        chat = update.effective_chat
        if admission.notify and chat is not None and self.bot is not None:
            try:
                await self.bot.send_message(chat.id, self._text(update, SLOW_DOWN))
            except Exception:  # the answers matter more than the notice
                log.warning("could not tell chat %s to slow down", chat.id, exc_info=True)
        turn = asyncio.ensure_future(self.policy.wait_turn(admission))
        stop = asyncio.ensure_future(self._stopping.wait())
        done, pending = await asyncio.wait({turn, stop}, return_when=asyncio.FIRST_COMPLETED)
        for waiting in pending:
            waiting.cancel()
        return turn in done

    def _text(self, update: Update, msgid: str) -> str:
        sender = sender_of(update)
        language = self.policy.language(sender) if sender is not None else None
        if language is None and update.effective_user is not None:
            language = update.effective_user.language_code
        t = translator_for(language if language in {"vi", "en"} else self._default_language)
        return html.escape(t(msgid))

    def _notify_stranger(self, update: Update, sender: tuple[str, str]) -> None:
        """The stranger's one short reply, sent beside the update loop (which must not wait)."""
        chat = update.effective_chat
        if chat is None or self.bot is None:
            self._dropped(update)
            return
        task = asyncio.create_task(self._send_notice(update, chat.id))
        self._notices.add(task)
        task.add_done_callback(self._notices.discard)

    async def _send_notice(self, update: Update, chat_id: int) -> None:
        assert self.bot is not None
        try:
            await self.bot.send_message(chat_id, self._text(update, STRANGER_NOTICE))
        except Exception:
            log.warning("could not send the flood notice to chat %s", chat_id, exc_info=True)
        finally:
            self._dropped(update)

    def _dropped(self, update: Update) -> None:
        if self._on_dropped is not None:
            self._on_dropped(update)
