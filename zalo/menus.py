"""Render a domain ``Reply`` as plain text with numbered choices, and read a typed choice back.

Telegram shows a reply's actions as buttons. Zalo has none, so:

- the choices of a menu are numbered ("1. Gửi báo cáo  2. Sửa — trả lời bằng số") and the
  number, the label or the label without accents stands for a press;
- the options of a form question are numbered the way the form numbers them (choices 1…n,
  Có = 1 and Không = 2), so the typed number *is the answer* and the domain reads it; a "none"
  option comes last, or, for a question answered by typing (a number, a date), it is a word;
- back and skip are words ("quay lại", "bỏ qua"), which the domain already understands.

The ``Menu`` of the last reply with actions is kept per chat in the database (see
``zalo.store``), so a typed "1" means the same after a restart.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

from domain.conversation import Action, Reply
from domain.forms.text import fold_words
from domain.i18n import N_, Translator
from domain.rich import plain

SELECTED_MARK = "✓ "
INLINE_LABEL_MAX = 18
INLINE_ITEMS_MAX = 4

# Typed words that stand for the buttons a question or the edit menu shows.
CONTROL_WORDS: dict[str, tuple[str, ...]] = {
    "back": ("quay lai", "tro lai", "back", "lui", "lui lai"),
    "review": ("quay lai", "tro lai", "back", "lui", "xem lai"),
    "skip": ("bo qua", "skip", "qua", "bo"),
}
# Controls a typed answer replaces (a multi-choice question is answered by typing "1, 3").
_HIDDEN_CONTROLS = frozenset({"done"})
_CONTROL_HINTS = {
    "back": N_("Type “back” to go to the previous question."),
    "skip": N_("Type “skip” to skip this question."),
    "review": N_("Type “back” to return to the review."),
}
_TELEGRAM_MULTI_HINT = N_("(Press the options, then Done — or type their numbers, e.g. 1, 3)")


@dataclass(frozen=True)
class MenuEntry:
    """One action as Zalo shows it: by number, or as a typed word (controls)."""

    code: str
    label: str
    number: int | None = None
    words: tuple[str, ...] = ()


@dataclass(frozen=True)
class Menu:
    """The actions of the last reply that had some, and the step they belong to."""

    step: int
    entries: tuple[MenuEntry, ...]
    question: bool = False  # a form question: typed text is an answer first
    scope: str = "form"  # who takes a choice: the forms, or announcements ("bc")

    def match(self, text: str) -> MenuEntry | None:
        """The entry ``text`` names: its number, its label (accents optional) or a word."""
        word = fold_words(text)
        if not word:
            return None
        if word.isdigit():
            return next((e for e in self.entries if e.number == int(word)), None)
        for entry in self.entries:
            if fold_words(entry.label.removeprefix(SELECTED_MARK)) == word:
                return entry
        return next((e for e in self.entries if word in e.words), None)

    def to_json(self) -> str:
        return json.dumps(
            {
                "step": self.step,
                "question": self.question,
                "scope": self.scope,
                "entries": [
                    {"code": e.code, "label": e.label, "number": e.number, "words": list(e.words)}
                    for e in self.entries
                ],
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> Menu | None:
        try:
            data = json.loads(text)
            entries = tuple(
                MenuEntry(
                    str(e["code"]),
                    str(e["label"]),
                    int(e["number"]) if e.get("number") is not None else None,
                    tuple(str(w) for w in e.get("words") or ()),
                )
                for e in data["entries"]
            )
            scope = str(data.get("scope") or "form")
            return cls(int(data["step"]), entries, bool(data.get("question")), scope)
        except (ValueError, KeyError, TypeError):
            return None  # an unreadable menu is no menu: typed text goes to the domain


@dataclass(frozen=True)
class Rendered:
    text: str
    menu: Menu | None


def render(reply: Reply, t: Translator) -> Rendered:
    """The text of ``reply`` with its actions numbered, and the menu to remember."""
    actions = [action for row in reply.actions for action in row]
    body = plain(reply.body)
    if reply.title:
        body = f"{plain(reply.title)}\n{body}" if body else plain(reply.title)
    if not actions:
        return Rendered(body, None)
    if reply.scope != "form":
        lines, menu = _menu(actions, reply.step or 0, t)
        menu = dataclasses.replace(menu, scope=reply.scope)
    elif is_question(actions):
        lines, menu = _question(actions, reply.step or 0, t)
        body = "\n".join(
            line for line in body.split("\n") if line.strip() != t(_TELEGRAM_MULTI_HINT)
        )
    else:
        lines, menu = _menu(actions, reply.step or 0, t)
    return Rendered("\n\n".join(part for part in (body, "\n".join(lines)) if part), menu)


def is_question(actions: list[Action]) -> bool:
    """Whether the actions are a form question's (options, back, skip) rather than a menu's."""
    return any(a.code.startswith("o:") or a.code in {"back", "skip", "done"} for a in actions)


def _question(actions: list[Action], step: int, t: Translator) -> tuple[list[str], Menu]:
    options = [a for a in actions if a.code.startswith("o:")]
    multi = any(a.code == "done" for a in actions)
    entries: list[MenuEntry] = []
    for action in options:
        token = action.code[2:]
        number = int(token) if token.isdigit() else {"yes": 1, "no": 2}.get(token)
        entries.append(MenuEntry(action.code, action.label, number))
    numbered = [e for e in entries if e.number is not None]
    lines: list[str] = []
    if numbered:
        last = max(e.number or 0 for e in numbered)
        # "None" comes after the choices, numbered on: the typed number stays unambiguous.
        entries = [
            MenuEntry(e.code, e.label, last + 1) if e.code == "o:none" else e for e in entries
        ]
        hint = t("reply with the numbers, e.g. 1, 3") if multi else t("reply with the number")
        lines += _numbered(entries, hint)
    else:
        # A typed answer (a number, a date): "none" must be typed as a word, never as "1".
        lines += [t("Or type “{label}”.", label=e.label) for e in entries]
    controls = [a for a in actions if a.code in CONTROL_WORDS]
    entries += [MenuEntry(a.code, a.label, None, CONTROL_WORDS[a.code]) for a in controls]
    lines += [t(_CONTROL_HINTS[a.code]) for a in controls if a.code in _CONTROL_HINTS]
    return lines, Menu(step, tuple(entries), question=True)


def _menu(actions: list[Action], step: int, t: Translator) -> tuple[list[str], Menu]:
    # Actions labelled with their own number (the edit menu) are listed in the body already.
    shown = [a for a in actions if a.code not in CONTROL_WORDS and a.code not in _HIDDEN_CONTROLS]
    own = [a for a in shown if a.label.strip().isdigit()]
    first = max((int(a.label) for a in own), default=0) + 1
    entries: list[MenuEntry] = [MenuEntry(a.code, a.label, int(a.label)) for a in own]
    listed = [
        MenuEntry(a.code, a.label, first + index)
        for index, a in enumerate(a for a in shown if a not in own)
    ]
    entries += listed
    lines = _numbered(listed, t("reply with the number")) if listed else []
    controls = [a for a in actions if a.code in CONTROL_WORDS]
    entries += [MenuEntry(a.code, a.label, None, CONTROL_WORDS[a.code]) for a in controls]
    lines += [t(_CONTROL_HINTS[a.code]) for a in controls]
    return lines, Menu(step, tuple(entries))


def _numbered(entries: list[MenuEntry], hint: str) -> list[str]:
    """ "1. Có  2. Không — trả lời bằng số" on one line when short, else one per line."""
    items = [f"{e.number}. {e.label}" for e in entries if e.number is not None]
    short = len(items) <= INLINE_ITEMS_MAX and all(
        len(e.label) <= INLINE_LABEL_MAX for e in entries
    )
    if short:
        return ["  ".join(items) + f" — {hint}"]
    return [*items, f"— {hint}"]
