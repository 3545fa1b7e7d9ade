"""Read and validate the report forms in ``content/forms/``.

Every ``*.yaml`` file whose name does not start with ``_`` is one form; ``_questions.yaml`` is a
library of questions that forms include with ``- use: <key>`` (and may override fields of).
Every problem is reported as "file:line: message", all of them at once, and nothing is loaded
unless every form is valid: the bot refuses to start on a broken definition.
"""

from __future__ import annotations

import difflib
import keyword
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from domain.forms.definition import (
    LABEL_MAX,
    LONG_TEXT_MAX,
    SHORT_TEXT_MAX,
    UNIT_KINDS,
    Check,
    Choice,
    Form,
    FormDefinitionError,
    Question,
    QuestionType,
    Section,
    Severity,
)
from domain.forms.expressions import (
    BUILTIN_NAMES,
    FUNCTIONS,
    Expression,
    ExpressionError,
    compile_expression,
)
from domain.forms.text import LocalText

DEFAULT_FORMS_DIR = Path(__file__).resolve().parent.parent.parent / "content" / "forms"
LIBRARY_FILE = "_questions.yaml"

KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
CHOICE_KEY_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_]{0,30}$")
RESERVED_KEYS = BUILTIN_NAMES | set(FUNCTIONS) | {"true", "false", "none"}

FORM_FIELDS = {"key", "version", "title_vi", "title_en", "sections", "questions"}
LIBRARY_FIELDS = {"sections", "questions"}
SECTION_FIELDS = {"key", "title_vi", "title_en"}
QUESTION_FIELDS = {
    "key",
    "type",
    "text_vi",
    "text_en",
    "label_vi",
    "label_en",
    "help_vi",
    "help_en",
    "required",
    "section",
    "unit",
    "unit_en",
    "min",
    "max",
    "soft_min",
    "soft_max",
    "min_length",
    "max_length",
    "choices",
    "ask_if",
    "checks",
    "applies_to",
    "allow_none",
    "none_words",
    "none_label_vi",
    "none_label_en",
}
CHOICE_FIELDS = {"key", "vi", "en"}
CHECK_FIELDS = {"expr", "severity", "message_vi", "message_en"}
DEFAULT_NONE_WORDS = (
    "không",
    "không có",
    "chưa có",
    "không tổ chức",
    "chưa tổ chức",
    "none",
    "no",
    "not held",
    "n/a",
)
DEFAULT_NONE_LABEL = LocalText("Không có", "None")


# --------------------------------------------------------------------------- YAML with lines
class _Mapping(dict[str, Any]):
    """A YAML mapping that knows where it and each of its keys were written."""

    line: int = 0
    key_lines: dict[str, int]
    duplicates: list[tuple[str, int]]


class _FormLoader(yaml.SafeLoader):
    """SafeLoader that records lines and reads only true/false as booleans.

    YAML 1.1 turns unquoted ``no``, ``yes``, ``on`` into booleans, which would silently break
    a none word like ``no`` or a choice key; here they stay text.
    """


_FormLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_FormLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


class _Text(str):
    """A YAML string that knows its line (for "- use_key" shorthand items)."""

    line: int = 0


def _construct_text(loader: _FormLoader, node: yaml.ScalarNode) -> _Text:
    text = _Text(loader.construct_scalar(node))
    text.line = node.start_mark.line + 1
    return text


def _construct_mapping(loader: _FormLoader, node: yaml.MappingNode) -> _Mapping:
    loader.flatten_mapping(node)
    mapping = _Mapping()
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {}
    mapping.duplicates = []
    for key_node, value_node in node.value:
        key = str(loader.construct_object(key_node, deep=True))
        line = key_node.start_mark.line + 1
        if key in mapping.key_lines:
            mapping.duplicates.append((key, line))
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[key] = line
    return mapping


_FormLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_FormLoader.add_constructor("tag:yaml.org,2002:str", _construct_text)


@dataclass
class _Problems:
    items: list[str]

    def add(self, where: str, message: str) -> None:
        entry = f"{where}: {message}"
        if entry not in self.items:  # a library question used by several forms: say it once
            self.items.append(entry)


def _read_yaml(path: Path, problems: _Problems) -> _Mapping | None:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        problems.add(f"{path.name}:1", f"cannot read the file: {exc}")
        return None
    try:
        document = yaml.load(text, Loader=_FormLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or str(exc)
        problems.add(f"{path.name}:{line}", f"not valid YAML: {problem}")
        return None
    if not isinstance(document, _Mapping):
        problems.add(f"{path.name}:1", "the file must be a mapping (key: value lines)")
        return None
    return document


# --------------------------------------------------------------------------- raw questions
@dataclass(frozen=True)
class _Field:
    value: Any
    where: str


@dataclass
class _RawQuestion:
    """A question's fields, each with where it was written (library or form override)."""

    where: str
    fields: dict[str, _Field]

    def get(self, name: str) -> Any:
        field_ = self.fields.get(name)
        return None if field_ is None else field_.value

    def at(self, name: str) -> str:
        field_ = self.fields.get(name)
        return self.where if field_ is None else field_.where

    def has(self, name: str) -> bool:
        return name in self.fields


def _where(file: str, line: int) -> str:
    return f"{file}:{line}"


def _check_mapping(
    mapping: _Mapping, allowed: Iterable[str], file: str, what: str, problems: _Problems
) -> None:
    allowed = set(allowed)
    for key, line in mapping.duplicates:
        problems.add(_where(file, line), f"{key!r} is given twice in this {what}")
    for key in mapping:
        if key not in allowed:
            guess = difflib.get_close_matches(key, sorted(allowed), n=1)
            hint = f" (did you mean {guess[0]!r}?)" if guess else ""
            problems.add(
                _where(file, mapping.key_lines.get(key, mapping.line)),
                f"unknown field {key!r} in this {what}{hint}",
            )


def _raw_fields(mapping: _Mapping, file: str, skip: Iterable[str] = ()) -> dict[str, _Field]:
    skipped = set(skip)
    return {
        key: _Field(value, _where(file, mapping.key_lines.get(key, mapping.line)))
        for key, value in mapping.items()
        if key not in skipped and key in QUESTION_FIELDS
    }


def _sections(
    items: Any, file: str, line: int, problems: _Problems, known: dict[str, Section]
) -> None:
    if items is None:
        return
    if not isinstance(items, list):
        problems.add(_where(file, line), "'sections' must be a list")
        return
    for item in items:
        if not isinstance(item, _Mapping):
            problems.add(_where(file, line), "each section needs key, title_vi and title_en")
            continue
        where = _where(file, item.line)
        _check_mapping(item, SECTION_FIELDS, file, "section", problems)
        key, title_vi, title_en = item.get("key"), item.get("title_vi"), item.get("title_en")
        if not isinstance(key, str) or not KEY_PATTERN.match(key):
            problems.add(where, "a section needs a 'key' of lower-case letters, digits or '_'")
            continue
        if key in known:
            problems.add(where, f"section {key!r} is already defined")
            continue
        if not _is_text(title_vi) or not _is_text(title_en):
            problems.add(where, f"section {key!r} needs both title_vi and title_en")
            continue
        known[str(key)] = Section(str(key), LocalText(str(title_vi).strip(), str(title_en).strip()))


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


# --------------------------------------------------------------------------- the library
@dataclass
class _Library:
    questions: dict[str, _RawQuestion]
    sections: dict[str, Section]


def _read_library(directory: Path, problems: _Problems) -> _Library:
    library = _Library({}, {})
    path = directory / LIBRARY_FILE
    if not path.exists():
        return library
    document = _read_yaml(path, problems)
    if document is None:
        return library
    file = path.name
    _check_mapping(document, LIBRARY_FIELDS, file, "file", problems)
    _sections(
        document.get("sections"),
        file,
        document.key_lines.get("sections", 1),
        problems,
        library.sections,
    )
    items = document.get("questions")
    if not isinstance(items, list):
        problems.add(
            _where(file, document.key_lines.get("questions", 1)), "'questions' must be a list"
        )
        return library
    for item in items:
        if not isinstance(item, _Mapping):
            problems.add(_where(file, document.line), "each question must be a mapping")
            continue
        _check_mapping(item, QUESTION_FIELDS, file, "question", problems)
        key = item.get("key")
        where = _where(file, item.line)
        if not isinstance(key, str) or not key:
            problems.add(where, "a question needs a 'key'")
            continue
        if key in library.questions:
            problems.add(
                where, f"question key {key!r} is already used at {library.questions[key].where}"
            )
            continue
        library.questions[key] = _RawQuestion(where, _raw_fields(item, file))
    return library


# --------------------------------------------------------------------------- forms
def load_forms(directory: Path = DEFAULT_FORMS_DIR) -> dict[str, Form]:
    """Load every form in the directory, keyed by form key; raise FormDefinitionError."""
    problems = _Problems([])
    if not directory.is_dir():
        raise FormDefinitionError([f"{directory}: no such directory"])
    library = _read_library(directory, problems)
    # Library questions are checked on their own too, so an unused one cannot rot unnoticed.
    for raw in library.questions.values():
        _build_question(raw, library.sections, problems)
    forms: dict[str, Form] = {}
    paths = sorted(path for path in directory.glob("*.yaml") if not path.name.startswith("_"))
    if not paths:
        problems.add(str(directory), "no form definitions (*.yaml) found")
    for path in paths:
        form = _read_form(path, library, problems)
        if form is not None:
            forms[form.key] = form
    if problems.items:
        raise FormDefinitionError(problems.items)
    return forms


def check_forms(directory: Path = DEFAULT_FORMS_DIR) -> list[str]:
    """Every problem in the definitions ("file:line: message"); empty when all is well."""
    try:
        load_forms(directory)
    except FormDefinitionError as error:
        return error.problems
    return []


def _read_form(path: Path, library: _Library, problems: _Problems) -> Form | None:
    count_before = len(problems.items)
    document = _read_yaml(path, problems)
    if document is None:
        return None
    file = path.name
    _check_mapping(document, FORM_FIELDS, file, "form", problems)

    def line_of(name: str) -> str:
        return _where(file, document.key_lines.get(name, document.line))

    key = document.get("key")
    if key != path.stem:
        problems.add(line_of("key"), f"'key' must be {path.stem!r}, the file's name")
    version = document.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        problems.add(line_of("version"), "'version' must be a whole number >= 1")
    for name in ("title_vi", "title_en"):
        if not _is_text(document.get(name)):
            problems.add(line_of(name), f"the form needs a {name!r}")
    sections = dict(library.sections)
    _sections(
        document.get("sections"), file, document.key_lines.get("sections", 1), problems, sections
    )
    items = document.get("questions")
    if not isinstance(items, list) or not items:
        problems.add(line_of("questions"), "'questions' must be a non-empty list")
        return None
    raws = _form_questions(items, file, document.line, library, problems)
    questions: list[Question] = []
    for raw in raws:
        question = _build_question(raw, sections, problems)
        if question is not None:
            questions.append(question)
    _check_references(raws, questions, problems)
    if len(problems.items) > count_before:
        return None
    order = list(dict.fromkeys(question.section for question in questions if question.section))
    return Form(
        key=path.stem,
        version=version if isinstance(version, int) else 1,
        title_vi=str(document["title_vi"]).strip(),
        title_en=str(document["title_en"]).strip(),
        questions=tuple(questions),
        sections=tuple(sections[key] for key in order),
        origin=_where(file, document.line),
    )


def _form_questions(
    items: list[Any], file: str, line: int, library: _Library, problems: _Problems
) -> list[_RawQuestion]:
    raws: list[_RawQuestion] = []
    seen: dict[str, str] = {}
    for item in items:
        if isinstance(item, str):  # "- doc_plans_issued" is short for "- use: doc_plans_issued"
            item_mapping = _Mapping({"use": item})
            item_mapping.line = getattr(item, "line", line)
            item_mapping.key_lines, item_mapping.duplicates = {}, []
            item = item_mapping
        if not isinstance(item, _Mapping):
            problems.add(_where(file, line), "each question must be a mapping or a library key")
            continue
        where = _where(file, item.line)
        if "use" in item:
            _check_mapping(item, (QUESTION_FIELDS - {"key"}) | {"use"}, file, "question", problems)
            if "key" in item:
                problems.add(where, "give either 'use' (a library question) or 'key', not both")
            base = library.questions.get(str(item["use"]))
            if base is None:
                guess = difflib.get_close_matches(str(item["use"]), sorted(library.questions), n=1)
                hint = f" (did you mean {guess[0]!r}?)" if guess else ""
                problems.add(where, f"no question {item['use']!r} in {LIBRARY_FILE}{hint}")
                continue
            fields = {**base.fields, **_raw_fields(item, file, skip=("use",))}
            raw = _RawQuestion(where, fields)
        else:
            _check_mapping(item, QUESTION_FIELDS, file, "question", problems)
            raw = _RawQuestion(where, _raw_fields(item, file))
        key = raw.get("key")
        if not isinstance(key, str) or not key:
            problems.add(where, "a question needs a 'key' (or 'use: <library key>')")
            continue
        if key in seen:
            problems.add(where, f"question key {key!r} is already used at {seen[key]}")
            continue
        seen[key] = where
        raws.append(raw)
    return raws


# --------------------------------------------------------------------------- one question
def _build_question(
    raw: _RawQuestion, sections: dict[str, Section], problems: _Problems
) -> Question | None:
    before = len(problems.items)
    key = raw.get("key")
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        problems.add(
            raw.at("key"),
            f"question key {key!r} must start with a letter and use only a-z, 0-9 and '_'",
        )
        return None
    key = str(key)  # a plain str, not the loader's line-aware subclass
    if key in RESERVED_KEYS or keyword.iskeyword(key):
        problems.add(raw.at("key"), f"{key!r} is a reserved word in rules; choose another key")
    type_name = raw.get("type")
    try:
        qtype = QuestionType(type_name)
    except ValueError:
        kinds = ", ".join(kind.value for kind in QuestionType)
        problems.add(
            raw.at("type"), f"question {key!r} has unknown type {type_name!r}; use one of {kinds}"
        )
        return None

    texts: dict[str, str | None] = {}
    for name in ("text_vi", "text_en", "label_vi", "label_en"):
        value = raw.get(name)
        if not _is_text(value):
            problems.add(raw.at(name), f"question {key!r} needs a {name!r}")
            texts[name] = None
        else:
            texts[name] = str(value).strip()
            if name.startswith("label") and len(str(value).strip()) > LABEL_MAX:
                problems.add(raw.at(name), f"{name} of {key!r} is over {LABEL_MAX} characters")
    for name in ("help_vi", "help_en", "unit", "unit_en", "none_label_vi", "none_label_en"):
        value = raw.get(name)
        if raw.has(name) and not _is_text(value):
            problems.add(raw.at(name), f"{name} of {key!r} must be a non-empty text")
        texts[name] = str(value).strip() if _is_text(value) else None

    flags: dict[str, bool] = {}
    for name, default in (("required", True), ("allow_none", False)):
        value = raw.get(name)
        if raw.has(name) and not isinstance(value, bool):
            problems.add(raw.at(name), f"{name} of {key!r} must be true or false")
        flags[name] = value if isinstance(value, bool) else default

    section = raw.get("section")
    if raw.has("section") and section not in sections:
        known = ", ".join(sections) or "none defined"
        problems.add(raw.at("section"), f"unknown section {section!r} (known: {known})")

    bounds = _bounds(raw, key, qtype, problems)
    lengths = _lengths(raw, key, qtype, problems)
    choices = _choices(raw, key, qtype, problems)
    applies_to = _applies_to(raw, key, problems)
    none_words = _none_words(raw, key, qtype, flags["allow_none"], problems)
    ask_if = _expression(raw.get("ask_if"), raw.at("ask_if"), key, problems)
    if raw.has("ask_if") and raw.get("ask_if") is None:
        problems.add(raw.at("ask_if"), f"ask_if of {key!r} is empty")
    checks = _checks(raw, key, problems)

    if len(problems.items) > before:
        return None
    none_vi = texts["none_label_vi"] or DEFAULT_NONE_LABEL.vi
    none_en = texts["none_label_en"] or DEFAULT_NONE_LABEL.en
    return Question(
        key=key,
        type=qtype,
        text_vi=texts["text_vi"] or "",
        text_en=texts["text_en"] or "",
        label_vi=texts["label_vi"] or "",
        label_en=texts["label_en"] or "",
        help_vi=texts["help_vi"],
        help_en=texts["help_en"],
        required=flags["required"],
        section=str(section) if isinstance(section, str) else None,
        unit=texts["unit"],
        unit_en=texts["unit_en"],
        min_value=bounds["min"],
        max_value=bounds["max"],
        soft_min=bounds["soft_min"],
        soft_max=bounds["soft_max"],
        min_length=lengths[0],
        max_length=lengths[1],
        choices=choices,
        ask_if=ask_if,
        checks=checks,
        applies_to=applies_to,
        allow_none=flags["allow_none"],
        none_words=none_words,
        none_label_vi=none_vi if flags["allow_none"] else None,
        none_label_en=none_en if flags["allow_none"] else None,
        origin=raw.where,
    )


def _bounds(
    raw: _RawQuestion, key: str, qtype: QuestionType, problems: _Problems
) -> dict[str, float | None]:
    bounds: dict[str, float | None] = {}
    for name in ("min", "max", "soft_min", "soft_max"):
        value = raw.get(name)
        bounds[name] = None
        if not raw.has(name):
            continue
        if not qtype.is_numeric:
            problems.add(raw.at(name), f"{name} only applies to number questions, not {qtype}")
        elif isinstance(value, bool) or not isinstance(value, int | float):
            problems.add(raw.at(name), f"{name} of {key!r} must be a number")
        elif qtype is QuestionType.INTEGER and not float(value).is_integer():
            problems.add(raw.at(name), f"{name} of integer question {key!r} must be whole")
        else:
            bounds[name] = value
    low, high = bounds["min"], bounds["max"]
    soft_low, soft_high = bounds["soft_min"], bounds["soft_max"]
    if qtype is QuestionType.INTEGER and low is not None and low < 0:
        problems.add(raw.at("min"), f"min of {key!r}: integer answers are never negative")
    if qtype is not QuestionType.DECIMAL and high is not None and high < 0:
        problems.add(raw.at("max"), f"max of {key!r} is below 0: answers are never negative")
    if qtype is QuestionType.PERCENTAGE:
        for name in ("min", "max"):
            value = bounds[name]
            if value is not None and not 0 <= value <= 100:
                problems.add(raw.at(name), f"{name} of percentage {key!r} must be 0-100")
    if low is not None and high is not None and low > high:
        problems.add(raw.at("min"), f"min ({low}) of {key!r} is above max ({high})")
    if soft_low is not None and soft_high is not None and soft_low > soft_high:
        problems.add(raw.at("soft_min"), f"soft_min of {key!r} is above its soft_max")
    if soft_low is not None and low is not None and soft_low < low:
        problems.add(raw.at("soft_min"), f"soft_min of {key!r} is below min: never reached")
    if soft_low is not None and high is not None and soft_low > high:
        problems.add(raw.at("soft_min"), f"soft_min of {key!r} is above max")
    if soft_high is not None and high is not None and soft_high > high:
        problems.add(raw.at("soft_max"), f"soft_max of {key!r} is above max: never reached")
    if soft_high is not None and low is not None and soft_high < low:
        problems.add(raw.at("soft_max"), f"soft_max of {key!r} is below min")
    return bounds


def _lengths(
    raw: _RawQuestion, key: str, qtype: QuestionType, problems: _Problems
) -> tuple[int | None, int | None]:
    limit = SHORT_TEXT_MAX if qtype is QuestionType.SHORT_TEXT else LONG_TEXT_MAX
    values: dict[str, int | None] = {"min_length": None, "max_length": None}
    for name in values:
        if not raw.has(name):
            continue
        value = raw.get(name)
        if not qtype.is_text:
            problems.add(raw.at(name), f"{name} only applies to text questions, not {qtype}")
        elif isinstance(value, bool) or not isinstance(value, int) or value < 0:
            problems.add(raw.at(name), f"{name} of {key!r} must be a whole number >= 0")
        elif value > limit:
            problems.add(raw.at(name), f"{name} of {key!r} is over the {qtype} limit ({limit})")
        else:
            values[name] = value
    low, high = values["min_length"], values["max_length"]
    if low is not None and high is not None and low > high:
        problems.add(raw.at("min_length"), f"min_length of {key!r} is above its max_length")
    if high == 0:
        problems.add(raw.at("max_length"), f"max_length of {key!r} must be at least 1")
    return low, high


def _choices(
    raw: _RawQuestion, key: str, qtype: QuestionType, problems: _Problems
) -> tuple[Choice, ...]:
    items = raw.get("choices")
    if not qtype.has_choices:
        if raw.has("choices"):
            problems.add(raw.at("choices"), f"choices only apply to choice questions, not {qtype}")
        return ()
    if not isinstance(items, list) or len(items) < 2:
        problems.add(raw.at("choices"), f"{qtype} question {key!r} needs at least 2 choices")
        return ()
    choices: list[Choice] = []
    seen: set[str] = set()
    file = raw.at("choices").rsplit(":", 1)[0]
    for item in items:
        if not isinstance(item, _Mapping):
            problems.add(raw.at("choices"), f"each choice of {key!r} needs key, vi and en")
            continue
        where = _where(file, item.line)
        _check_mapping(item, CHOICE_FIELDS, file, "choice", problems)
        choice_key, vi, en = item.get("key"), item.get("vi"), item.get("en")
        if not isinstance(choice_key, str) or not CHOICE_KEY_PATTERN.match(choice_key):
            problems.add(where, f"choice key {choice_key!r} must use only a-z, 0-9 and '_'")
            continue
        if choice_key in seen:
            problems.add(where, f"choice key {choice_key!r} is used twice in {key!r}")
            continue
        seen.add(choice_key)
        if not _is_text(vi) or not _is_text(en):
            problems.add(where, f"choice {choice_key!r} of {key!r} needs both vi and en")
            continue
        choices.append(Choice(str(choice_key), str(vi).strip(), str(en).strip()))
    return tuple(choices)


def _applies_to(raw: _RawQuestion, key: str, problems: _Problems) -> frozenset[str]:
    if not raw.has("applies_to"):
        return frozenset()
    value = raw.get("applies_to")
    if not isinstance(value, list) or not value:
        problems.add(raw.at("applies_to"), f"applies_to of {key!r} must be a list of unit kinds")
        return frozenset()
    unknown = [kind for kind in value if kind not in UNIT_KINDS]
    if unknown:
        problems.add(
            raw.at("applies_to"),
            f"unknown unit kind(s) {', '.join(map(repr, unknown))}; use {', '.join(UNIT_KINDS)}",
        )
    return frozenset(str(kind) for kind in value)


def _none_words(
    raw: _RawQuestion, key: str, qtype: QuestionType, allow_none: bool, problems: _Problems
) -> tuple[str, ...]:
    if allow_none and qtype is QuestionType.YES_NO:
        problems.add(raw.at("allow_none"), f"a yes/no question ({key!r}) cannot allow none")
    for name in ("none_words", "none_label_vi", "none_label_en"):
        if raw.has(name) and not allow_none:
            problems.add(raw.at(name), f"{name} of {key!r} needs 'allow_none: true'")
    if not raw.has("none_words"):
        return DEFAULT_NONE_WORDS if allow_none else ()
    words = raw.get("none_words")
    if not isinstance(words, list) or not words or not all(_is_text(word) for word in words):
        problems.add(raw.at("none_words"), f"none_words of {key!r} must be a list of texts")
        return ()
    return tuple(str(word).strip() for word in words)


def _expression(text: Any, where: str, key: str, problems: _Problems) -> Expression | None:
    if text is None:
        return None
    if not isinstance(text, str):
        problems.add(where, f"rule of {key!r} must be a quoted text, not {text!r}")
        return None
    try:
        return compile_expression(text)
    except ExpressionError as error:
        problems.add(where, f"in rule {text!r} of {key!r}: {error}")
        return None


def _checks(raw: _RawQuestion, key: str, problems: _Problems) -> tuple[Check, ...]:
    if not raw.has("checks"):
        return ()
    items = raw.get("checks")
    if not isinstance(items, list):
        problems.add(raw.at("checks"), f"checks of {key!r} must be a list")
        return ()
    file = raw.at("checks").rsplit(":", 1)[0]
    checks: list[Check] = []
    for item in items:
        if not isinstance(item, _Mapping):
            problems.add(raw.at("checks"), f"each check of {key!r} needs expr, severity, messages")
            continue
        where = _where(file, item.line)
        _check_mapping(item, CHECK_FIELDS, file, "check", problems)
        expression = _expression(
            item.get("expr"), _where(file, item.key_lines.get("expr", item.line)), key, problems
        )
        if "expr" not in item:
            problems.add(where, f"a check of {key!r} has no 'expr'")
        severity = item.get("severity", "error")
        if severity not in {member.value for member in Severity}:
            problems.add(
                _where(file, item.key_lines.get("severity", item.line)),
                f"severity {severity!r} in a check of {key!r}: use 'error' or 'warn'",
            )
        messages = [item.get("message_vi"), item.get("message_en")]
        for name, message in zip(("message_vi", "message_en"), messages, strict=True):
            if not _is_text(message):
                problems.add(where, f"a check of {key!r} needs a {name!r}")
        if expression is None or severity not in {"error", "warn"}:
            continue
        if not all(_is_text(message) for message in messages):
            continue
        message = LocalText(str(messages[0]).strip(), str(messages[1]).strip())
        checks.append(Check(expression, Severity(severity), message, origin=where))
    return tuple(checks)


# --------------------------------------------------------------------------- references
def _check_references(
    raws: list[_RawQuestion], questions: list[Question], problems: _Problems
) -> None:
    """Rules may only name questions of this form asked before the one they belong to."""
    positions = {raw.get("key"): index for index, raw in enumerate(raws)}
    by_key = {question.key: question for question in questions}
    choice_keys = {
        question.key: {choice.key for choice in question.choices}
        for question in questions
        if question.type.has_choices
    }
    for index, raw in enumerate(raws):
        question = by_key.get(raw.get("key"))
        if question is None:
            continue
        rules: list[tuple[str, Expression, str]] = []
        if question.ask_if is not None:
            rules.append(("ask_if", question.ask_if, raw.at("ask_if")))
        rules.extend(("check", check.expression, check.origin) for check in question.checks)
        for kind, expression, where in rules:
            for name in sorted(expression.names):
                message = _reference_problem(
                    kind, name, question.key, index, positions, raws, expression
                )
                if message:
                    problems.add(where, message)
            for name, text in expression.compared_texts():
                if name in choice_keys and text not in choice_keys[name]:
                    known = ", ".join(sorted(choice_keys[name]))
                    problems.add(
                        where,
                        f"{kind} {expression.text!r} of {question.key!r}: {text!r} is not a "
                        f"choice key of {name!r} (keys: {known})",
                    )


def _reference_problem(
    kind: str,
    name: str,
    key: str,
    index: int,
    positions: dict[Any, int],
    raws: list[_RawQuestion],
    expression: Expression,
) -> str | None:
    rule = f"{kind} {expression.text!r} of {key!r}"
    if name == "value":
        return (
            f"{rule}: ask_if cannot use 'value' (nothing is answered yet)"
            if kind == "ask_if"
            else None
        )
    if name == "today":
        return f"{rule}: ask_if cannot use 'today'" if kind == "ask_if" else None
    if name == key:
        return f"{rule} names its own question; use 'value'"
    if name not in positions:
        guess = difflib.get_close_matches(name, [str(k) for k in positions], n=1)
        hint = f" (did you mean {guess[0]!r}?)" if guess else ""
        return f"{rule} names {name!r}, which is not a question of this form{hint}"
    if positions[name] > index:
        later = raws[positions[name]].where
        return (
            f"{rule} names {name!r}, which is asked later ({later}); "
            "a rule may only use answers given before"
        )
    return None
