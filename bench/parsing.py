"""Reading hostile answers: a 4,000-character answer of each kind, and the longest one read.

    python -m bench.parsing            # best of 50 runs per answer
    python -m bench.parsing --repeat 5

Issue 14: a 4,000-character answer to a multiple-choice question took 82 s (the matcher tried
every run of pieces). Goal: every 4,000-character answer parsed (read or refused) in under
10 ms. Over its kind's limit an answer is refused before reading, so the answers just under
each limit are timed too: they are read in full, and show the reading itself is linear.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from bench.common import Figure, best_of, render_table
from domain.forms import load_forms
from domain.forms.definition import Choice, Question, QuestionType
from domain.forms.parsing import input_limit, parse_answer

NAME = "parsing"
GOAL_MS = 10.0
LENGTH = 4000


OPTIONS = (
    Choice("le_phat_dong", "Lễ phát động, mít tinh, diễu hành", "Launch ceremony, rally, march"),
    Choice("hoi_nghi", "Hội nghị, hội thảo, tọa đàm", "Conference, workshop, talk"),
    Choice("tap_huan", "Tập huấn, bồi dưỡng", "Training"),
    Choice("khac", "Khác", "Other"),
)


def _questions() -> dict[QuestionType, Question]:
    """One question of each kind: from the real forms (the multi-choice with the most
    options), else made up like them (the forms have no single choice or decimal yet)."""
    found: dict[QuestionType, Question] = {}
    for form in load_forms().values():
        for question in form.questions:
            known = found.get(question.type)
            if known is None or len(question.choices) > len(known.choices):
                found[question.type] = question
    for qtype in QuestionType:
        if qtype not in found:
            choices = OPTIONS if qtype.has_choices else ()
            found[qtype] = Question("q", qtype, "?", "?", "q", "q", choices=choices)
    return found


def _shapes(question: Question) -> dict[str, Callable[[int], str]]:
    """Answers a paste or a script might send, stretched to any length."""
    label = question.choices[0].vi if question.choices else "Tập huấn, bồi dưỡng"
    return {
        "labels": lambda n: _stretch(f"{label}, ", n),
        "numbers": lambda n: _stretch("1.200, ", n),
        "digits": lambda n: _stretch("9", n),
        "letters": lambda n: _stretch("a", n),
        "formula": lambda n: _stretch('=HYPERLINK("http://x","bấm");', n),
    }


def _stretch(piece: str, length: int) -> str:
    return (piece * (length // len(piece) + 1))[:length]


def run(*, repeat: int = 50, quick: bool = False) -> list[Figure]:
    repeat = 5 if quick else repeat
    figures: list[Figure] = []
    for qtype, question in sorted(_questions().items(), key=lambda item: str(item[0])):
        for length, label in ((LENGTH, f"{LENGTH:,} characters"), (None, "the longest read")):
            worst, worst_shape, outcome = 0.0, "", ""
            for shape, make in _shapes(question).items():
                text = make(length if length is not None else input_limit(question))
                seconds = best_of(
                    lambda q=question, t=text: parse_answer(q, t, "vi"),  # type: ignore[misc]
                    repeat,
                )
                if seconds >= worst:
                    result = parse_answer(question, text, "vi")
                    worst, worst_shape = seconds, shape
                    outcome = "read" if result.ok else "refused"
            ms = worst * 1000
            size = length if length is not None else input_limit(question)
            figures.append(
                Figure(
                    NAME,
                    f"{qtype}, {label} ({size:,})",
                    ms,
                    "ms",
                    f"< {GOAL_MS:g} ms" if length is not None else "",
                    ms < GOAL_MS if length is not None else None,
                    note=f"slowest shape: {worst_shape} ({outcome})",
                )
            )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=50, help="runs per answer (best is kept)")
    args = parser.parse_args()
    figures = run(repeat=args.repeat)
    print(render_table(figures))
    raise SystemExit(0 if all(f.ok is not False for f in figures) else 1)


if __name__ == "__main__":
    main()
