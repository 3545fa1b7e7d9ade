"""Every message has its Vietnamese translation; dates read the Vietnamese way."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from bot import i18n_tools
from domain.i18n import LOCALES_DIR, translator_for


def test_every_message_is_translated_to_vietnamese(tmp_path: Path) -> None:
    pot = tmp_path / "messages.pot"  # the repository's template changes only on purpose
    i18n_tools.extract(pot)
    missing = i18n_tools.missing_translations("vi", pot)
    assert missing == [], f"untranslated: {missing}"


def test_translations_keep_their_placeholders() -> None:
    import re

    from babel.messages.pofile import read_po

    placeholder = re.compile(r"\{(\w+)\}")
    with (LOCALES_DIR / "vi" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po)
    for message in catalog:
        if message.id and isinstance(message.id, str) and message.string and not message.fuzzy:
            assert set(placeholder.findall(message.id)) == set(
                placeholder.findall(str(message.string))
            ), message.id


def test_vietnamese_dates() -> None:
    vi = translator_for("vi")
    assert vi.date(date(2023, 6, 5)) == "thứ Hai, 05/6/2023"
    assert vi.short_date(date(2023, 12, 5)) == "05/12/2023"
    assert vi.number(1200) == "1.200"
    en = translator_for("en")
    assert en.date(date(2023, 6, 5)) == "Monday, 5 June 2023"


def test_no_translated_literal_hides_inside_an_f_string() -> None:
    """pybabel cannot see t("...") inside an f-string: such a text would never be translated."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    hidden = re.compile(r"""\{t\(\s*["']""")
    offenders = [
        f"{path.relative_to(root)}:{number}"
        for folder in ("bot", "handlers", "domain", "scheduler")
        for path in (root / folder).rglob("*.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if hidden.search(line)
    ]
    assert offenders == []


def test_message_ids_carry_no_markup(tmp_path: Path) -> None:
    """Translators see plain text with placeholders: the channel's renderer adds the markup."""
    import re

    from babel.messages.pofile import read_po

    pot = tmp_path / "messages.pot"
    i18n_tools.extract(pot)
    with pot.open("rb") as template:
        catalog = read_po(template)
    markup = re.compile(r"</?(?:b|i|u|s|code|pre|a)( [^>]*)?>|&(?:lt|gt|amp);")
    offenders = [m.id for m in catalog if isinstance(m.id, str) and markup.search(m.id)]
    assert offenders == []
