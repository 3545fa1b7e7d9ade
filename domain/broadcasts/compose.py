"""Composing an announcement: /broadcast starts a draft (a ``broadcast`` row with status
"draft", one per sender, so a restart loses nothing), messages fill it in, buttons pick the
audience, and "Send" queues a round with one pending delivery per recipient.
"""

from __future__ import annotations

import json
import re
from datetime import datetime

from sqlmodel import Session

from domain.audit import record_action
from domain.broadcasts.audience import AudienceKind
from domain.broadcasts.contracts import Attachment
from domain.broadcasts.progress import BroadcastProgress, BroadcastQueued, progress_text
from domain.broadcasts.records import ComposeStep, _add_deliveries, _draft_of, _set_state, _state
from domain.broadcasts.screens import ComposeScreens, _parse_code
from domain.conversation import Outcome, Reply
from domain.i18n import Translator
from domain.identity import UserContext
from domain.text import utf16_len
from storage import repositories as repo
from storage.broadcast_models import Broadcast, BroadcastStatus

# Telegram allows 4096 characters in a message and 1024 in a caption; the header and the
# footer we add take about 150 of them.
MAX_TEXT = 3500
MAX_CAPTION_TEXT = 800
_CODE_SPLIT = re.compile(r"[\s,;]+")


class Composer(ComposeScreens):
    """/broadcast, /cancel while composing, what the sender types or attaches, the buttons."""

    def compose(self, me: UserContext, t: Translator) -> Outcome:
        """/broadcast: start a draft, or show where the sender's draft is."""
        now = self._clock.now()
        with self._db.transaction() as session:
            draft = _draft_of(session, me.account_id)
            if draft is None:
                draft = Broadcast(
                    channel=me.identity.channel,
                    sender_account_id=me.account_id,
                    sender_chat_id=me.identity.chat_id,
                    created_at=now,
                    updated_at=now,
                )
                session.add(draft)
                session.flush()
            draft.sender_chat_id = me.identity.chat_id
            return Outcome([self._screen(session, draft, t, me.language)])

    def cancel_draft(self, me: UserContext, t: Translator) -> Outcome | None:
        """/cancel while composing; None when there is no draft (the command is someone else's)."""
        with self._db.transaction() as session:
            draft = _draft_of(session, me.account_id)
            if draft is None:
                return None
            draft.status = BroadcastStatus.CANCELLED
            draft.updated_at = self._clock.now()
        return Outcome([Reply(t("Cancelled. Nothing was sent."), expects_text=False)])

    def on_input(
        self,
        me: UserContext,
        t: Translator,
        *,
        text: str | None,
        attachment: Attachment | None = None,
    ) -> Outcome | None:
        """A message while composing; None if the draft does not expect it (let others answer)."""
        if not me.is_office:
            return None
        with self._db.transaction() as session:
            draft = _draft_of(session, me.account_id)
            if draft is None:
                return None
            step = ComposeStep(draft.step)
            if step is ComposeStep.CONTENT:
                reply = self._take_content(session, draft, t, me.language, text, attachment)
            elif step is ComposeStep.UNITS and text is not None and attachment is None:
                reply = self._take_units(session, draft, t, me.language, text)
            elif attachment is not None:
                # A file sent after the text (at any later step) is attached to the draft.
                reply = self._take_content(session, draft, t, me.language, text, attachment)
            else:
                return None
            draft.updated_at = self._clock.now()
            return Outcome([reply])

    def on_action(self, me: UserContext, t: Translator, code: str) -> Outcome:
        """A compose button: audience, period, "Received" toggle, back, send or cancel."""
        verb, draft_id, revision, arg = _parse_code(code)
        stale = Outcome(alert=t("This button is no longer valid."))
        if not me.is_office:
            return Outcome(alert=t("Sorry, this command is only for the standing office."))
        now = self._clock.now()
        with self._db.transaction() as session:
            draft = session.get(Broadcast, draft_id) if draft_id is not None else None
            if (
                draft is None
                or draft.sender_account_id != me.account_id
                or draft.status != BroadcastStatus.DRAFT
                or revision != _state(draft).get("rev")
            ):
                return stale
            draft.updated_at = now
            language = me.language
            if verb == "stop":
                draft.status = BroadcastStatus.CANCELLED
                return Outcome(
                    [Reply(t("Cancelled. Nothing was sent."), replace=True, expects_text=False)]
                )
            if verb == "ackt":
                draft.ack_requested = not draft.ack_requested
            elif verb == "back":
                draft.step = ComposeStep.AUDIENCE
            elif verb == "aud":
                try:
                    kind = AudienceKind(arg)
                except ValueError:
                    return stale
                if kind is AudienceKind.UNITS:
                    draft.step = ComposeStep.UNITS
                elif kind is AudienceKind.MISSING:
                    periods = self._open_periods()
                    if not periods:
                        return Outcome(alert=t("No report period is open."))
                    _set_state(draft, periods=[p.key for p in periods])
                    draft.step = ComposeStep.PERIOD
                else:
                    draft.audience_kind, draft.audience_value = kind, None
                    draft.step = ComposeStep.PREVIEW
            elif verb == "per":
                offered = _state(draft).get("periods") or []
                if not arg.isdigit() or int(arg) >= len(offered):
                    return stale
                draft.audience_kind = AudienceKind.MISSING
                draft.audience_value = str(offered[int(arg)])
                draft.step = ComposeStep.PREVIEW
            elif verb == "send" and draft.step == ComposeStep.PREVIEW:
                return self._queue(session, draft, me, t, now)
            else:
                return stale
            return Outcome([self._screen(session, draft, t, language, replace=True)])

    def _take_content(
        self,
        session: Session,
        draft: Broadcast,
        t: Translator,
        language: str,
        text: str | None,
        attachment: Attachment | None,
    ) -> Reply:
        if attachment is not None:
            draft.attachment_kind = attachment.kind
            draft.attachment_ref = attachment.ref
            draft.attachment_name = (attachment.name or "")[:200] or None
        new_text = (text or "").strip() or draft.text
        limit = MAX_CAPTION_TEXT if draft.attachment_ref else MAX_TEXT
        if new_text and utf16_len(new_text) > limit:
            # Wait for a shorter text (typed text is taken only while the draft asks for it).
            draft.step = ComposeStep.CONTENT
            if draft.attachment_ref:
                return Reply(
                    t(
                        "With a file attached, the text is its caption and may have at most "
                        "{limit} characters; it has {length}. Please send a shorter text.",
                        limit=limit,
                        length=utf16_len(new_text),
                    )
                )
            return Reply(
                t(
                    "The text has {length} characters; at most {limit} fit in one message. "
                    "Please send a shorter text.",
                    limit=limit,
                    length=utf16_len(new_text),
                )
            )
        draft.text = new_text
        if draft.text and draft.step == ComposeStep.CONTENT:
            draft.step = ComposeStep.AUDIENCE
        return self._screen(session, draft, t, language)

    def _take_units(
        self, session: Session, draft: Broadcast, t: Translator, language: str, text: str
    ) -> Reply:
        codes = list(dict.fromkeys(c.lower() for c in _CODE_SPLIT.split(text) if c))
        known = {u.code for u in repo.units(session)}
        unknown = [code for code in codes if code not in known]
        if not codes or unknown:
            message = t(
                "Unknown unit codes: {codes}. Please type them again (/units lists them).",
                codes=", ".join(unknown) or "—",
            )
            return Reply(message, actions=self._nav_actions(draft, t))
        draft.audience_kind = AudienceKind.UNITS
        draft.audience_value = json.dumps(codes)
        draft.step = ComposeStep.PREVIEW
        return self._screen(session, draft, t, language)

    def _queue(
        self, session: Session, draft: Broadcast, me: UserContext, t: Translator, now: datetime
    ) -> Outcome:
        recipients = self._recipients(session, self._audience_units(session, draft))
        if not recipients:
            return Outcome(alert=t("Nobody would receive it: no focal point in this audience."))
        assert draft.id is not None
        draft.status = BroadcastStatus.SENDING
        draft.queued_at = now
        draft.total = len(recipients)
        _add_deliveries(session, draft.id, recipients, self._default_language)
        record_action(
            session,
            at=now,
            actor=me.identity.actor,
            action="broadcast.send",
            target=f"broadcast:{draft.id}",
            audience=draft.audience_kind,
            value=draft.audience_value,
            recipients=len(recipients),
        )
        progress = BroadcastProgress(draft.id, len(recipients), 0, 0)
        return Outcome(
            [Reply(progress_text(progress, t), replace=True, expects_text=False)],
            notices=[BroadcastQueued(draft.id, len(recipients))],
        )
