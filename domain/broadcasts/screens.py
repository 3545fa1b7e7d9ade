"""The compose screens: content, audience, period, unit codes and the preview before sending.

Every screen gets a new revision and its buttons carry it ("verb:draft:revision[:arg]"), so a
press on an older screen is stale.
"""

from __future__ import annotations

import json

from sqlmodel import Session

from domain.broadcasts.audience import _AUDIENCE_LABELS, AudienceKind, Audiences
from domain.broadcasts.records import ComposeStep, _set_state, _state
from domain.broadcasts.texts import _listing, announcement_text
from domain.conversation import Action, Reply, rows
from domain.i18n import Translator
from storage.broadcast_models import Broadcast


class ComposeScreens(Audiences):
    """The screen of the step a draft is on, and the buttons of each screen."""

    def _screen(
        self,
        session: Session,
        draft: Broadcast,
        t: Translator,
        language: str,
        *,
        replace: bool = False,
    ) -> Reply:
        # Every screen gets a new revision: buttons of older screens are stale.
        revision = int(_state(draft).get("rev") or 0) + 1
        _set_state(draft, rev=revision)
        step = ComposeStep(draft.step)
        if step is ComposeStep.CONTENT:
            if draft.attachment_ref:
                body = t(
                    "Attached: {name}. Now send the text of the announcement.",
                    name=draft.attachment_name or t("a photo"),
                )
            else:
                body = t(
                    "Send the text of the announcement. You may also send a document or a "
                    "photo, with the text as its caption."
                )
            body += "\n" + t("/cancel stops without sending anything.")
            return Reply(
                body,
                title=t("New announcement"),
                actions=((self._action(draft, t("Cancel"), "stop"),),),
                replace=replace,
            )
        if step is ComposeStep.AUDIENCE:
            return Reply(
                t("Who should receive it?") + "\n" + self._ack_line(draft, t),
                title=t("Recipients"),
                actions=self._audience_actions(draft, t),
                replace=replace,
                expects_text=False,
            )
        if step is ComposeStep.PERIOD:
            offered = [str(key) for key in _state(draft).get("periods") or []]
            labels = {p.key: p.label(language) for p in self._open_periods()}
            choices = [
                self._action(draft, labels.get(key, key), "per", str(index))
                for index, key in enumerate(offered)
            ]
            return Reply(
                t("Units that have not submitted which report?"),
                title=t("Recipients"),
                actions=(*rows(choices, 1), *self._nav_actions(draft, t)),
                replace=replace,
                expects_text=False,
            )
        if step is ComposeStep.UNITS:
            return Reply(
                t(
                    "Type the codes of the units, separated by spaces or commas, for example: "
                    "so-y-te huyen-muong-te. /units lists the codes."
                ),
                title=t("Recipients"),
                actions=self._nav_actions(draft, t),
                replace=replace,
            )
        return self._preview(session, draft, t, language, replace=replace)

    def _preview(
        self, session: Session, draft: Broadcast, t: Translator, language: str, *, replace: bool
    ) -> Reply:
        units = self._audience_units(session, draft)
        recipients = self._recipients(session, units)
        covered = {r.unit.id for r in recipients}
        without = [u.code for u in units if u.id not in covered]
        unreachable = sum(1 for r in recipients if r.account.unreachable_at is not None)
        people = len(recipients)
        lines = [
            t("To: {audience}", audience=self._audience_text(draft, t, language)),
            t.ngettext(
                "Recipients: {people} focal point in {units} units.",
                "Recipients: {people} focal points in {units} units.",
                people,
            ).format(people=people, units=len(covered)),
        ]
        if without:
            lines.append(
                t(
                    "Units without a registered focal point ({count}): {codes}",
                    count=len(without),
                    codes=_listing(without, t),
                )
            )
        if unreachable:
            lines.append(
                t(
                    "{count} of them blocked the bot earlier; they will be tried again.",
                    count=unreachable,
                )
            )
        if draft.attachment_ref:
            lines.append(
                t("Attachment: {name}", name=draft.attachment_name or t("a photo")),
            )
        lines.append(self._ack_line(draft, t))
        lines += ["", t("They will read:"), "", announcement_text(draft.text, language)]
        actions: list[tuple[Action, ...]] = []
        if people:
            send_label = t("Send to {people}", people=people)
            actions.append((self._action(draft, "✅ " + send_label, "send"),))
        else:
            lines.insert(0, t("Nobody would receive it: no focal point in this audience."))
        actions.append(
            (
                self._action(draft, t("Change recipients"), "back"),
                self._action(draft, t("Cancel"), "stop"),
            )
        )
        return Reply(
            "\n".join(lines),
            title=t("Preview"),
            actions=tuple(actions),
            replace=replace,
            expects_text=False,
        )

    def _audience_actions(self, draft: Broadcast, t: Translator) -> tuple[tuple[Action, ...], ...]:
        def choice(kind: AudienceKind) -> Action:
            return self._action(draft, t(_AUDIENCE_LABELS[kind]), "aud", kind.value)

        layout: list[tuple[Action, ...]] = [
            (choice(AudienceKind.ALL),),
            (choice(AudienceKind.DEPARTMENTS), choice(AudienceKind.ORGANISATIONS)),
            (choice(AudienceKind.LOCALITIES),),
        ]
        if self._open_periods():
            layout.append((choice(AudienceKind.MISSING),))
        layout.append((choice(AudienceKind.UNITS),))
        toggle = (
            t("Remove the “Received” button")
            if draft.ack_requested
            else t("Add a “Received” button")
        )
        layout.append((self._action(draft, toggle, "ackt"),))
        layout.append((self._action(draft, t("Cancel"), "stop"),))
        return tuple(layout)

    def _nav_actions(self, draft: Broadcast, t: Translator) -> tuple[tuple[Action, ...], ...]:
        return (
            (
                self._action(draft, t("Back"), "back"),
                self._action(draft, t("Cancel"), "stop"),
            ),
        )

    @staticmethod
    def _action(draft: Broadcast, label: str, verb: str, arg: str = "") -> Action:
        revision = _state(draft).get("rev") or 0
        code = f"{verb}:{draft.id}:{revision}"
        return Action(label, f"{code}:{arg}" if arg else code)

    @staticmethod
    def _ack_line(draft: Broadcast, t: Translator) -> str:
        if draft.ack_requested:
            return t("With a “Received” button: you will see who confirmed.")
        return t("Without a “Received” button.")

    def _audience_text(self, draft: Broadcast, t: Translator, language: str) -> str:
        kind = AudienceKind(draft.audience_kind or AudienceKind.ALL)
        if kind is AudienceKind.MISSING:
            key = draft.audience_value or ""
            label = next((p.label(language) for p in self._open_periods() if p.key == key), key)
            return t("units that have not submitted {period}", period=label)
        if kind is AudienceKind.UNITS:
            return t(
                "chosen units: {codes}", codes=", ".join(json.loads(draft.audience_value or "[]"))
            )
        return t(_AUDIENCE_LABELS[kind])


def _parse_code(code: str) -> tuple[str, int | None, int | None, str]:
    """ "verb:id:revision[:arg]" → its parts (None where a number is missing or malformed)."""
    parts = code.split(":", 3)
    parts += [""] * (4 - len(parts))
    verb, ident, revision, arg = parts
    return (
        verb,
        int(ident) if ident.isdigit() else None,
        int(revision) if revision.isdigit() else None,
        arg,
    )
