"""What the office sees afterwards: /broadcasts (the latest announcements with their counts),
/acks (who confirmed, who did not) and its reminder round to the latter.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from domain.audit import record_action
from domain.broadcasts.progress import BroadcastProgress, BroadcastQueued, progress_text
from domain.broadcasts.records import (
    BroadcastRecords,
    ComposeStep,
    _acked_accounts,
    _add_deliveries,
    _channel_counts,
    _Recipient,
    _root,
    _round_count,
    _sending_round,
    _status_counts,
)
from domain.broadcasts.screens import _parse_code
from domain.broadcasts.texts import _cap, _person_line, _preview, channel_name
from domain.conversation import Action, Outcome, Reply
from domain.errors import NotFoundError
from domain.i18n import N_, Translator
from domain.identity import UserContext
from storage.broadcast_models import Broadcast, BroadcastDelivery, BroadcastStatus, DeliveryStatus
from storage.models import Account, Unit


class OfficeOverview(BroadcastRecords):
    """/broadcasts, /acks and the reminder to those who have not confirmed."""

    def recent(self, t: Translator, *, limit: int = 10) -> Reply:
        """/broadcasts: the latest announcements with delivered and confirmed counts."""
        with self._db.transaction() as session:
            roots = session.exec(
                select(Broadcast)
                .where(
                    col(Broadcast.parent_id).is_(None),
                    col(Broadcast.status).in_([BroadcastStatus.SENDING, BroadcastStatus.DONE]),
                )
                .order_by(col(Broadcast.id).desc())
                .limit(limit)
            ).all()
            if not roots:
                return Reply(t("No announcements yet. /broadcast sends one."))
            lines = [t("Recent announcements:")]
            for root in roots:
                assert root.id is not None
                counts = _status_counts(session, [root.id])
                sent = counts.get(DeliveryStatus.SENT, 0)
                by_channel = _channel_counts(session, root.id)
                when = t.datetime(root.queued_at) if root.queued_at else ""
                lines += ["", f"#{root.id} · {when}", _preview(root.text)]
                if root.status == BroadcastStatus.SENDING:
                    stats = t("sending: {sent}/{total}", sent=sent, total=root.total)
                else:
                    stats = t("delivered: {sent}/{total}", sent=sent, total=root.total)
                if root.ack_requested:
                    acked = len(_acked_accounts(session, root.id))
                    stats += " · " + t("confirmed: {acked}", acked=acked)
                    stats += " · /acks " + str(root.id)
                lines.append(stats)
                lines.append(
                    t(
                        "by channel: {counts}",
                        counts=", ".join(
                            f"{channel_name(channel)} {delivered}/{total}"
                            for channel, (delivered, total) in by_channel.items()
                        ),
                    )
                )
            return Reply("\n".join(lines), expects_text=False)

    def ack_overview(self, t: Translator, broadcast_id: int) -> Reply:
        """/acks <id>: who confirmed, who did not, and a button to remind the latter."""
        language = t.language
        with self._db.transaction() as session:
            root = _root(session, broadcast_id)
            if root is None:
                raise NotFoundError(N_("There is no announcement #{id}."), id=broadcast_id)
            assert root.id is not None
            if not root.ack_requested:
                return Reply(
                    t("Announcement #{id} had no “Received” button.", id=root.id),
                    expects_text=False,
                )
            acked = _acked_accounts(session, root.id)
            recipients = session.exec(
                select(BroadcastDelivery, Account, Unit)
                .join(Account, col(Account.id) == col(BroadcastDelivery.account_id))
                .join(Unit, col(Unit.id) == col(BroadcastDelivery.unit_id), isouter=True)
                .where(BroadcastDelivery.broadcast_id == root.id)
                .order_by(col(Unit.code), col(BroadcastDelivery.id))
            ).all()
            confirmed, waiting = [], []
            for delivery, account, unit in recipients:
                line = _person_line(delivery, account, unit, language)
                if delivery.account_id in acked:
                    confirmed.append(line)
                else:
                    if delivery.status == DeliveryStatus.FAILED:
                        line += " (" + t("not delivered") + ")"
                    waiting.append(line)
            rounds = _round_count(session, root.id)
            lines = [
                t("Announcement #{id}", id=root.id) + f": {_preview(root.text)}",
                t(
                    "Confirmed: {acked} of {total}.",
                    acked=len(confirmed),
                    total=len(recipients),
                ),
            ]
            if confirmed:
                lines += ["", t("Confirmed:"), *_cap(confirmed, t)]
            if waiting:
                lines += ["", t("Not confirmed yet:"), *_cap(waiting, t)]
            actions: tuple[tuple[Action, ...], ...] = ()
            if (
                waiting
                and root.status == BroadcastStatus.DONE
                and not _sending_round(session, root.id)
            ):
                label = "🔔 " + t("Remind the {count} who have not confirmed", count=len(waiting))
                actions = ((Action(label, f"rem:{root.id}:{rounds}"),),)
            return Reply("\n".join(lines), actions=actions, expects_text=False)

    def remind(self, me: UserContext, t: Translator, code: str) -> Outcome:
        """The reminder button of /acks: a new round to those who have not confirmed."""
        verb, root_id, rounds, _ = _parse_code(code)
        stale = Outcome(alert=t("This button is no longer valid."))
        if verb != "rem" or root_id is None or rounds is None:
            return stale
        if not me.is_office:
            return Outcome(alert=t("Sorry, this command is only for the standing office."))
        try:
            with self._db.transaction() as session:
                return self._remind(session, me, t, root_id, rounds) or stale
        except IntegrityError:  # another office member started this round a moment ago
            return stale

    def _remind(
        self, session: Session, me: UserContext, t: Translator, root_id: int, rounds: int
    ) -> Outcome | None:
        now = self._clock.now()
        root = _root(session, root_id)
        if (
            root is None
            or root.id != root_id
            or root.status != BroadcastStatus.DONE
            or _round_count(session, root_id) != rounds
            or _sending_round(session, root_id)
        ):
            return None
        acked = _acked_accounts(session, root_id)
        targets = session.exec(
            select(BroadcastDelivery, Account, Unit)
            .join(Account, col(Account.id) == col(BroadcastDelivery.account_id))
            .join(Unit, col(Unit.id) == col(BroadcastDelivery.unit_id))
            .where(BroadcastDelivery.broadcast_id == root_id)
            .order_by(col(BroadcastDelivery.id))
        ).all()
        recipients = [
            _Recipient(account, unit)
            for delivery, account, unit in targets
            if delivery.account_id not in acked
        ]
        if not recipients:
            return Outcome(alert=t("Everyone has confirmed."))
        reminder = Broadcast(
            channel=me.identity.channel,
            sender_account_id=me.account_id,
            sender_chat_id=me.identity.chat_id,
            status=BroadcastStatus.SENDING,
            step=ComposeStep.PREVIEW,
            text=root.text,
            attachment_kind=root.attachment_kind,
            attachment_ref=root.attachment_ref,
            attachment_name=root.attachment_name,
            ack_requested=True,
            audience_kind=root.audience_kind,
            audience_value=root.audience_value,
            parent_id=root_id,
            round_no=rounds + 1,
            total=len(recipients),
            created_at=now,
            updated_at=now,
            queued_at=now,
        )
        session.add(reminder)
        session.flush()  # the unique round number refuses a second reminder made meanwhile
        assert reminder.id is not None
        _add_deliveries(session, reminder.id, recipients, self._default_language)
        record_action(
            session,
            at=now,
            actor=me.identity.actor,
            action="broadcast.remind",
            target=f"broadcast:{root_id}",
            round=reminder.id,
            recipients=len(recipients),
        )
        progress = BroadcastProgress(reminder.id, len(recipients), 0, 0)
        return Outcome(
            [Reply(progress_text(progress, t), expects_text=False)],
            notices=[BroadcastQueued(reminder.id, len(recipients))],
        )
