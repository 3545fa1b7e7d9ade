"""A round's progress: the notice that it was queued, its counts, where the sender sees them,
and the progress text.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.i18n import Translator


@dataclass(frozen=True)
class BroadcastQueued:
    """Notice: a round was confirmed; deliver it and show its progress in the sender's chat."""

    broadcast_id: int
    total: int


@dataclass(frozen=True)
class BroadcastProgress:
    broadcast_id: int
    total: int
    sent: int
    failed: int
    finished: bool = False

    @property
    def done(self) -> int:
        return self.sent + self.failed

    @property
    def pending(self) -> int:
        return self.total - self.done

    @property
    def key(self) -> str:
        """Differs whenever the progress text would: a progress message is edited only then."""
        return f"{self.sent}/{self.failed}/{self.total}/{int(self.finished)}"


@dataclass(frozen=True)
class ProgressTarget:
    """Where a broadcast's progress is shown: the sender's channel, chat, message, language."""

    broadcast_id: int
    chat_id: str
    language: str
    message_id: int | None
    shown: str
    channel: str = "telegram"


def progress_text(progress: BroadcastProgress, t: Translator) -> str:
    """ "Đã gửi 120/150…" while sending; the result when finished."""
    if progress.finished:
        text = "✅ " + t(
            "Announcement #{id} finished: delivered to {sent} of {total}.",
            id=progress.broadcast_id,
            sent=progress.sent,
            total=progress.total,
        )
    else:
        text = "📤 " + t(
            "Announcement #{id}: sent {sent}/{total}…",
            id=progress.broadcast_id,
            sent=progress.sent,
            total=progress.total,
        )
    if progress.failed:
        text += "\n" + t("Not delivered: {failed}", failed=progress.failed)
    return text
