"""Developer helper: merge translations from a JSON file {msgid: translation} into a .po file.

``python tools/fill_po.py vi new.json``: handy when many strings are translated at once.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

from domain.i18n import DOMAIN, LOCALES_DIR


def main() -> None:
    language, source = sys.argv[1], Path(sys.argv[2])
    translations: dict[str, str] = json.loads(source.read_text(encoding="utf-8"))
    po_path = LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with po_path.open("rb") as po_file:
        catalog = read_po(po_file, locale=language)
    for message in catalog:
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        if key in translations:
            text = translations[str(key)]
            # Vietnamese has one plural form: the same text serves every count.
            message.string = (text,) if isinstance(message.id, tuple) else text
            message.flags.discard("fuzzy")
    with po_path.open("wb") as po_file:
        write_po(po_file, catalog, width=0, omit_header=False)


if __name__ == "__main__":
    main()
