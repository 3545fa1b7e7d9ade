"""The delivery ledger: the jobs of a sending round, what became of each, its progress, and
the sender's final report.

Every recipient of a round has one ``broadcast_delivery`` row naming their channel: pending,
then sent (with its message id where the channel has one), or failed with the reason.
"""

from __future__ import annotations

from sqlmodel import col, select

from domain.broadcasts.contracts import DeliveryJob, SendOutcome
from domain.broadcasts.progress import BroadcastProgress, ProgressTarget
from domain.broadcasts.records import BroadcastRecords, _attachment_of, _status_counts
from domain.broadcasts.texts import _failure_text, _person_line, announcement_text
from domain.errors import NotFoundError
from domain.i18n import N_, Translator
from storage.broadcast_models import Broadcast, BroadcastDelivery, BroadcastStatus, DeliveryStatus
from storage.models import Account, Unit

# Channels without quoted replies: a focal point's answer cannot be passed on to the office.
_NO_QUOTED_REPLIES = frozenset({"zalo"})


class DeliveryLedger(BroadcastRecords):
    """Rounds to resume, their pending jobs, sent/failed/retried deliveries, progress, report."""

    def sending_broadcast_ids(self) -> list[int]:
        """Rounds confirmed and not finished: what a (re)started engine resumes."""
        with self._db.transaction() as session:
            ids = session.exec(
                select(Broadcast.id)
                .where(Broadcast.status == BroadcastStatus.SENDING)
                .order_by(col(Broadcast.id))
            ).all()
        return [i for i in ids if i is not None]

    def pending_jobs(self, broadcast_id: int) -> list[DeliveryJob]:
        """The deliveries of a sending round still to do, in order; never a sent or failed one."""
        with self._db.transaction() as session:
            broadcast = session.get(Broadcast, broadcast_id)
            if broadcast is None or broadcast.status != BroadcastStatus.SENDING:
                return []
            deliveries = session.exec(
                select(BroadcastDelivery)
                .where(
                    BroadcastDelivery.broadcast_id == broadcast_id,
                    BroadcastDelivery.status == DeliveryStatus.PENDING,
                )
                .order_by(col(BroadcastDelivery.id))
            ).all()
            attachment = _attachment_of(broadcast)
            reminder = broadcast.parent_id is not None
            texts: dict[tuple[str, str], str] = {}
            jobs = []
            for delivery in deliveries:
                assert delivery.id is not None
                language, channel = delivery.language, delivery.channel
                if (language, channel) not in texts:
                    texts[language, channel] = announcement_text(
                        broadcast.text,
                        language,
                        reminder=reminder,
                        replies=channel not in _NO_QUOTED_REPLIES,
                    )
                jobs.append(
                    DeliveryJob(
                        delivery_id=delivery.id,
                        broadcast_id=broadcast_id,
                        chat_id=delivery.chat_id,
                        text=texts[language, channel],
                        attachment=attachment,
                        ack_button=broadcast.ack_requested,
                        language=language,
                        attempts=delivery.attempts,
                        channel=channel,
                    )
                )
            return jobs

    def sender_channel(self, broadcast_id: int) -> str | None:
        """The channel of the office member who sent a round: where its progress shows."""
        target = self.progress_target(broadcast_id)
        return target.channel if target is not None else None

    def record_sent(self, delivery_id: int, message_id: int | None) -> None:
        """Note a message the channel accepted. Called at once after each send (delivery.py)."""
        now = self._clock.now()
        with self._db.transaction() as session:
            delivery = session.get(BroadcastDelivery, delivery_id)
            if delivery is None or delivery.status != DeliveryStatus.PENDING:
                return
            delivery.status = DeliveryStatus.SENT
            delivery.message_id = message_id
            delivery.sent_at = now

    def record_failed(self, delivery_id: int, outcome: SendOutcome, reason: str) -> None:
        """Give up on a delivery; a refusal by the person marks their account unreachable."""
        now = self._clock.now()
        with self._db.transaction() as session:
            delivery = session.get(BroadcastDelivery, delivery_id)
            if delivery is None or delivery.status != DeliveryStatus.PENDING:
                return
            delivery.status = DeliveryStatus.FAILED
            delivery.failed_at = now
            delivery.failure_kind = outcome.value
            delivery.reason = reason[:500]
            channel, chat_id = delivery.channel, delivery.chat_id
        if outcome is SendOutcome.FORBIDDEN:
            self._accounts.mark_unreachable(channel, chat_id)

    def record_retry(self, delivery_id: int, reason: str) -> None:
        """Count a failed attempt (kept across restarts, so the attempt limit holds)."""
        with self._db.transaction() as session:
            delivery = session.get(BroadcastDelivery, delivery_id)
            if delivery is not None and delivery.status == DeliveryStatus.PENDING:
                delivery.attempts += 1
                delivery.reason = reason[:500]

    def progress(self, broadcast_id: int) -> BroadcastProgress:
        with self._db.transaction() as session:
            broadcast = session.get(Broadcast, broadcast_id)
            if broadcast is None:
                raise NotFoundError(N_("There is no announcement #{id}."), id=broadcast_id)
            counts = _status_counts(session, [broadcast_id])
            return BroadcastProgress(
                broadcast_id,
                total=broadcast.total,
                sent=counts.get(DeliveryStatus.SENT, 0),
                failed=counts.get(DeliveryStatus.FAILED, 0),
                finished=broadcast.status == BroadcastStatus.DONE,
            )

    def mark_finished(self, broadcast_id: int) -> None:
        now = self._clock.now()
        with self._db.transaction() as session:
            broadcast = session.get(Broadcast, broadcast_id)
            if broadcast is not None and broadcast.status == BroadcastStatus.SENDING:
                broadcast.status = BroadcastStatus.DONE
                broadcast.finished_at = now
                broadcast.updated_at = now

    def progress_target(self, broadcast_id: int) -> ProgressTarget | None:
        with self._db.transaction() as session:
            broadcast = session.get(Broadcast, broadcast_id)
            if broadcast is None:
                return None
            sender = session.get(Account, broadcast.sender_account_id)
            language = (sender.language if sender else None) or self._default_language
            return ProgressTarget(
                broadcast_id,
                broadcast.sender_chat_id,
                language,
                broadcast.progress_message_id,
                broadcast.progress_shown,
                channel=sender.channel if sender is not None else broadcast.channel,
            )

    def note_progress(
        self, broadcast_id: int, shown: str, *, message_id: int | None = None
    ) -> None:
        """Remember what the progress message says (and which message it is)."""
        with self._db.transaction() as session:
            broadcast = session.get(Broadcast, broadcast_id)
            if broadcast is None:
                return
            broadcast.progress_shown = shown[:64]
            if message_id is not None:
                broadcast.progress_message_id = message_id

    def report(self, broadcast_id: int, t: Translator) -> str:
        """The sender's final report: delivered, and each failure with the unit and why."""
        language = t.language
        with self._db.transaction() as session:
            broadcast = session.get(Broadcast, broadcast_id)
            if broadcast is None:
                raise NotFoundError(N_("There is no announcement #{id}."), id=broadcast_id)
            counts = _status_counts(session, [broadcast_id])
            failed = session.exec(
                select(BroadcastDelivery, Account, Unit)
                .join(Account, col(Account.id) == col(BroadcastDelivery.account_id))
                .join(Unit, col(Unit.id) == col(BroadcastDelivery.unit_id), isouter=True)
                .where(
                    BroadcastDelivery.broadcast_id == broadcast_id,
                    BroadcastDelivery.status == DeliveryStatus.FAILED,
                )
                .order_by(col(Unit.code), col(BroadcastDelivery.id))
            ).all()
            sent = counts.get(DeliveryStatus.SENT, 0)
            lines = [
                t(
                    "Announcement #{id}: delivered to {sent} of {total} focal points.",
                    id=broadcast_id,
                    sent=sent,
                    total=broadcast.total,
                )
            ]
            if failed:
                lines += ["", t("Not delivered ({count}):", count=len(failed))]
                for delivery, account, unit in failed:
                    lines.append(
                        _person_line(delivery, account, unit, language)
                        + ": "
                        + _failure_text(delivery, t)
                    )
            if broadcast.ack_requested:
                root = broadcast.parent_id or broadcast_id
                lines += ["", t("Who confirmed: /acks {id}", id=root)]
            return "\n".join(lines)
