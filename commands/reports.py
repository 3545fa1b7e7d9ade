"""/report and /cancel, a form's typed answers and pressed choices, the office's notice."""

from __future__ import annotations

import logging

from commands.core import Request, command
from commands.texts import STALE_CHOICE
from domain.commands import Audience
from domain.conversation import Outcome, Reply
from domain.i18n import N_, Translator, translator_for
from domain.reminders import DeliveryStatus, Recipient
from domain.reporting import SubmissionNotice
from domain.rich import Rich, bold, code

log = logging.getLogger(__name__)


@command(
    "report", N_("Fill in or continue your unit's report"), Audience.REGISTERED, aliases=("baocao",)
)
async def report(req: Request) -> Outcome:
    """Start or resume the unit's open report."""
    return req.services.reporting.start(req.me, req.t, chat_id=req.chat_id)


@command("cancel", N_("Stop filling in (your answers are kept)"), Audience.REGISTERED)
async def cancel(req: Request) -> Outcome:
    """Leave the announcement being composed, else the form; nothing typed is lost."""
    if req.me.is_office:
        dropped = req.services.broadcasts.cancel_draft(req.me, req.t)
        if dropped is not None:
            return dropped
    return req.services.reporting.cancel(req.me, req.t, chat_id=req.chat_id)


def form_answer(req: Request, text: str) -> Outcome | None:
    """A focal point's typed text as the open form's answer; None when no form is open."""
    if not req.me.is_focal_point:
        return None
    return req.services.reporting.on_text(
        req.me, req.t, chat_id=req.chat_id, text=text, message_seq=req.message_seq
    )


def form_press(req: Request, step: int, choice: str) -> Outcome:
    """A pressed (or, on Zalo, numbered) choice of a form step."""
    if not req.me.is_focal_point:
        return Outcome(alert=req.t(STALE_CHOICE))
    return req.services.reporting.on_action(
        req.me, req.t, chat_id=req.chat_id, step=step, code=choice
    )


def submission_reply(notice: SubmissionNotice, t: Translator) -> Reply:
    """What each office member reads when a unit submits."""
    english = t.language == "en"
    unit = notice.unit_name_en if english and notice.unit_name_en else notice.unit_name_vi
    period = (
        notice.period_label_en if english and notice.period_label_en else notice.period_label_vi
    )
    body: Rich = t.rich(
        "{unit} sent {period} (version {version}), by {person}.",
        unit=bold(unit),
        period=period,
        version=notice.version,
        person=notice.submitted_by,
    )
    if notice.late:
        body += " " + t("Late.")
    body += "\n" + t.rich("See it with /answers {code}", code=code(notice.unit_code))
    return Reply(body, title=t("📥 Report received"), expects_text=False)


async def notify_office(req: Request, notice: SubmissionNotice) -> None:
    """Tell every admin and office member, on the channel each of them uses."""
    for staff in req.services.accounts.staff_contexts():
        reply = submission_reply(notice, translator_for(staff.language, req.services.tz))
        recipient = Recipient(
            staff.account_id, staff.identity.channel, staff.identity.chat_id, staff.language
        )
        try:
            delivery = await req.runtime.router.send(recipient, reply)
        except Exception:  # one unreachable office chat must not stop the others
            log.exception("could not tell %s about a submission", staff.identity.actor)
            continue
        if delivery.status is not DeliveryStatus.SENT:
            log.warning("could not notify %s: %s", staff.identity.actor, delivery.error)
