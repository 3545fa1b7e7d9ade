"""The translation workflow, scripted: extract → update → (translate) → check / compile.

- ``extract`` collects every marked string (``_``/``t(...)``, ``N_``, ``ngettext``) into
  ``locales/messages.pot``;
- ``update`` merges it into ``locales/<lang>/LC_MESSAGES/messages.po``;
- ``check`` fails when a Vietnamese translation is missing or fuzzy;
- ``compile`` writes ``.mo`` files (optional: the bot compiles the ``.po`` files in memory).
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from domain.i18n import DOMAIN, LANGUAGES, LOCALES_DIR

ROOT = LOCALES_DIR.parent
POT = LOCALES_DIR / f"{DOMAIN}.pot"
# ``t(...)`` and ``t.rich(...)`` are the translator's calls; ``N_`` marks strings translated later.
KEYWORDS = ["t", "rich", "N_", "ngettext:1,2", "gettext"]


def _pybabel(*args: str) -> None:
    CommandLineInterface().run(["pybabel", "-q", *args])  # type: ignore[no-untyped-call]


def extract(pot: Path = POT) -> None:
    """Write the message template (``pot``; the tests use a temporary file)."""
    keyword_args = [arg for keyword in KEYWORDS for arg in ("-k", keyword)]
    with contextlib.chdir(ROOT):  # source references relative to the project, not this machine
        _extract(keyword_args, pot)


def _extract(keyword_args: list[str], pot: Path) -> None:
    _pybabel(
        "extract",
        "--no-default-keywords",
        *keyword_args,
        "-F",
        str(ROOT / "babel.cfg"),
        "--sort-by-file",
        "--no-wrap",
        "--project",
        "vstbpn-bot",
        "-o",
        str(pot),
        ".",
    )


def update() -> None:
    for language in LANGUAGES:
        po = LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
        if po.exists():
            _pybabel(
                "update",
                "--no-wrap",
                "-i",
                str(POT),
                "-d",
                str(LOCALES_DIR),
                "-D",
                DOMAIN,
                "-l",
                language,
                "--ignore-obsolete",
            )
        else:
            _pybabel(
                "init",
                "--no-wrap",
                "-i",
                str(POT),
                "-d",
                str(LOCALES_DIR),
                "-D",
                DOMAIN,
                "-l",
                language,
            )


def compile_catalogs() -> None:
    _pybabel("compile", "-d", str(LOCALES_DIR), "-D", DOMAIN)


def missing_translations(language: str = "vi", pot: Path = POT) -> list[str]:
    """Message ids of the template that ``language`` leaves untranslated or fuzzy."""
    with pot.open("rb") as pot_file:
        template = read_po(pot_file)
    po_path = LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=language)
    missing = []
    for message in template:
        if not message.id:
            continue
        translated = catalog.get(message.id)
        strings = (
            translated.string
            if translated and isinstance(translated.string, tuple)
            else (translated.string,)
            if translated
            else ("",)
        )
        if translated is None or translated.fuzzy or not all(strings):
            missing.append(str(message.id))
    return missing


def run(action: str) -> int:
    if action == "extract":
        extract()
    elif action == "update":
        extract()
        update()
    elif action == "compile":
        compile_catalogs()
    elif action == "check":
        extract()
        missing = missing_translations("vi")
        for msgid in missing:
            print(f"missing Vietnamese translation: {msgid!r}", file=sys.stderr)
        if missing:
            return 1
        print("every message has its Vietnamese translation")
    return 0
