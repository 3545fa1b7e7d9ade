"""Parse message text the way Telegram does, so formatting mistakes fail in tests, not production.

Telegram turns ``parse_mode`` markup into plain text plus entities and rejects the whole message
when the markup does not parse ("can't parse entities: ..."). Lengths are then counted on the
plain text, in UTF-16 code units. The HTML parser follows tdlib's rules (supported tags,
attributes, nesting, byte offsets in the error messages) but is stricter in one place: a bare
``&`` that does not start a character reference is an error, because the Bot API documentation
requires escaping it and a bot that forgets ``html.escape`` on user text is exactly the bug this
is meant to catch.

The Markdown parsers are approximations of Telegram's; the bot uses HTML.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "EntityParseError",
    "ParsedText",
    "UnsupportedParseModeError",
    "parse_html",
    "parse_markdown",
    "parse_markdown_v2",
    "parse_text",
    "strip_html",
    "utf16_len",
]


class EntityParseError(ValueError):
    """The markup does not parse; ``str(error)`` is what follows "can't parse entities: "."""


class UnsupportedParseModeError(ValueError):
    """``parse_mode`` is none of HTML, MarkdownV2 and Markdown."""


@dataclass(slots=True)
class ParsedText:
    """Visible text and its entities (offsets and lengths in UTF-16 code units)."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)


def utf16_len(text: str) -> int:
    """Count UTF-16 code units, the unit of every Telegram length limit and entity offset."""
    return len(text.encode("utf-16-le")) // 2


def parse_text(text: str, parse_mode: str | None) -> ParsedText:
    """Parse ``text`` according to ``parse_mode`` (case-insensitive, as Telegram accepts it)."""
    if not parse_mode:
        return ParsedText(text)
    mode = parse_mode.lower()
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    if mode == "markdown":
        return parse_markdown(text)
    raise UnsupportedParseModeError(parse_mode)


# --------------------------------------------------------------------------------------- HTML

_HTML_SPECIAL = re.compile(r"[<&]")
_CHAR_REF = re.compile(
    r"&(?:#([0-9]{1,8});?|#[xX]([0-9a-fA-F]{1,8});?|(lt|gt|amp|quot)(?![A-Za-z0-9]);?)"
)
_NAMED_REFS = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPACES = " \t\n\r\f\v"
_ENTITY_OF_TAG = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


@dataclass(slots=True)
class _OpenTag:
    name: str
    offset: int
    argument: str = ""
    expandable: bool = False
    language: str = ""


def _byte_offset(source: str, index: int) -> int:
    return len(source[:index].encode("utf-8"))


def _decode_char_ref(source: str, index: int) -> tuple[str, int] | None:
    """Decode the character reference at ``index`` (which holds '&'); None if there is none."""
    match = _CHAR_REF.match(source, index)
    if match is None:
        return None
    decimal, hexadecimal, name = match.groups()
    if name is not None:
        return _NAMED_REFS[name], match.end()
    code = int(decimal, 10) if decimal is not None else int(hexadecimal, 16)
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), match.end()


def parse_html(source: str) -> ParsedText:
    """Parse Telegram HTML into visible text and entities; raise EntityParseError like Telegram."""
    out: list[str] = []
    pos16 = 0
    stack: list[_OpenTag] = []
    entities: list[dict[str, Any]] = []
    size = len(source)
    i = 0
    while True:
        match = _HTML_SPECIAL.search(source, i)
        end = match.start() if match is not None else size
        if end > i:
            chunk = source[i:end]
            out.append(chunk)
            pos16 += utf16_len(chunk)
        if match is None:
            break
        i = end
        if source[i] == "&":
            decoded = _decode_char_ref(source, i)
            if decoded is None:
                raise EntityParseError(
                    f"Unsupported HTML entity at byte offset {_byte_offset(source, i)}: "
                    "escape '&' as &amp;"
                )
            char, i = decoded
            out.append(char)
            pos16 += utf16_len(char)
            continue
        begin = i
        if i + 1 >= size:
            raise EntityParseError(
                f"Unexpected end of name token at byte offset {_byte_offset(source, begin)}"
            )
        if source[i + 1] == "/":
            i = _close_tag(source, i, stack, entities, pos16)
        else:
            i = _open_tag(source, i, stack, pos16)
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return ParsedText("".join(out), entities)


def _open_tag(source: str, begin: int, stack: list[_OpenTag], pos16: int) -> int:
    """Read a start tag at ``begin``; push it and return the index after '>'."""
    size = len(source)
    i = begin + 1
    name_start = i
    while i < size and source[i] not in _SPACES and source[i] != ">":
        i += 1
    if i >= size:
        raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(source, begin)}")
    name = source[name_start:i].lower()
    if name not in _ENTITY_OF_TAG:
        raise EntityParseError(
            f'Unsupported start tag "{name}" at byte offset {_byte_offset(source, begin)}'
        )
    tag = _OpenTag(name, pos16)
    span_class = ""
    while i < size and source[i] != ">":
        while i < size and source[i] in _SPACES:
            i += 1
        if i >= size:
            raise EntityParseError(
                f"Unclosed start tag at byte offset {_byte_offset(source, begin)}"
            )
        if source[i] == ">":
            break
        attr_start = i
        while i < size and source[i] not in _SPACES and source[i] not in "=>":
            i += 1
        attr = source[attr_start:i].lower()
        if not attr:
            raise EntityParseError(
                f'Empty attribute name in the tag "{name}" '
                f"at byte offset {_byte_offset(source, begin)}"
            )
        while i < size and source[i] in _SPACES:
            i += 1
        if i >= size:
            raise EntityParseError(
                f"Unclosed start tag at byte offset {_byte_offset(source, begin)}"
            )
        if source[i] != "=":
            if name == "blockquote" and attr == "expandable":
                tag.expandable = True
                continue
            raise EntityParseError(
                f'Expected equal sign in declaration of an attribute of the tag "{name}" '
                f"at byte offset {_byte_offset(source, begin)}"
            )
        i += 1
        while i < size and source[i] in _SPACES:
            i += 1
        if i >= size:
            raise EntityParseError(
                f"Unclosed start tag at byte offset {_byte_offset(source, begin)}"
            )
        value, i = _attribute_value(source, i, begin)
        if name == "a" and attr == "href":
            tag.argument = value
        elif name == "code" and attr == "class" and value.startswith("language-"):
            tag.language = value.removeprefix("language-")
        elif name == "span" and attr == "class":
            span_class = value
        elif name == "tg-emoji" and attr == "emoji-id":
            tag.argument = value
        elif name == "blockquote" and attr == "expandable":
            tag.expandable = True
    if i >= size:
        raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(source, begin)}")
    if name == "span" and span_class != "tg-spoiler":
        raise EntityParseError(
            f'Tag "span" must have class "tg-spoiler" at byte offset {_byte_offset(source, begin)}'
        )
    stack.append(tag)
    return i + 1


def _attribute_value(source: str, i: int, begin: int) -> tuple[str, int]:
    """Read a quoted or bare attribute value starting at ``i``; return it and the next index."""
    size = len(source)
    quote = source[i]
    if quote not in "'\"":
        start = i
        while i < size and (source[i].isalnum() or source[i] in ".-"):
            i += 1
        if i == start:
            raise EntityParseError(f"Expected quote at byte offset {_byte_offset(source, i)}")
        return source[start:i], i
    i += 1
    value: list[str] = []
    while i < size and source[i] != quote:
        if source[i] == "&":
            decoded = _decode_char_ref(source, i)
            if decoded is not None:
                value.append(decoded[0])
                i = decoded[1]
                continue
        value.append(source[i])
        i += 1
    if i >= size:
        raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(source, begin)}")
    return "".join(value), i + 1


def _close_tag(
    source: str, begin: int, stack: list[_OpenTag], entities: list[dict[str, Any]], pos16: int
) -> int:
    """Read an end tag at ``begin``; pop the matching start tag, record its entity."""
    if not stack:
        raise EntityParseError(f"Unexpected end tag at byte offset {_byte_offset(source, begin)}")
    size = len(source)
    i = begin + 2
    name_start = i
    while i < size and (source[i].isalnum() or source[i] == "-"):
        i += 1
    end_name = source[name_start:i].lower()
    while i < size and source[i] in _SPACES:
        i += 1
    if i >= size or source[i] != ">":
        raise EntityParseError(f"Unclosed end tag at byte offset {_byte_offset(source, begin)}")
    tag = stack[-1]
    if end_name and end_name != tag.name:
        raise EntityParseError(
            f"Unmatched end tag at byte offset {_byte_offset(source, begin)}, "
            f'expected "</{tag.name}>", found "</{end_name}>"'
        )
    stack.pop()
    length = pos16 - tag.offset
    entity_type = _ENTITY_OF_TAG[tag.name]
    if tag.name == "code" and tag.language and stack and stack[-1].name == "pre":
        # <pre><code class="language-x"> is one pre entity with a language, as in Telegram.
        stack[-1].language = tag.language
        return i + 1
    if entity_type == "custom_emoji" and not tag.argument.isdigit():
        raise EntityParseError("Invalid custom emoji identifier specified")
    if length <= 0:
        return i + 1
    entity: dict[str, Any] = {"type": entity_type, "offset": tag.offset, "length": length}
    if entity_type == "text_link":
        if not tag.argument:
            return i + 1  # Telegram drops a link without href rather than failing
        entity["url"] = tag.argument
    elif entity_type == "custom_emoji":
        entity["custom_emoji_id"] = tag.argument
    elif entity_type == "pre" and tag.language:
        entity["language"] = tag.language
    elif entity_type == "blockquote" and tag.expandable:
        entity["type"] = "expandable_blockquote"
    entities.append(entity)
    return i + 1


_TAG_OR_REF = re.compile(r"<[^>]*>|&(?:#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,8}|lt|gt|amp|quot);?")


def strip_html(source: str) -> str:
    """Return the visible text of HTML, leniently (for display when it does not parse)."""
    try:
        return parse_html(source).text
    except EntityParseError:
        pass

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token.startswith("<"):
            return ""
        decoded = _decode_char_ref(token, 0)
        return decoded[0] if decoded is not None else token

    return _TAG_OR_REF.sub(replace, source)


# ----------------------------------------------------------------------------------- Markdown

_MDV2_RESERVED = frozenset("_*[]()~`>#+-=|{}.!")
_MDV2_MARKERS = {
    "*": "bold",
    "_": "italic",
    "__": "underline",
    "~": "strikethrough",
    "||": "spoiler",
}


@dataclass(slots=True)
class _Builder:
    """Accumulates visible text and tracks its UTF-16 length."""

    parts: list[str] = field(default_factory=list)
    pos16: int = 0
    entities: list[dict[str, Any]] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.parts.append(text)
        self.pos16 += utf16_len(text)

    def entity(self, kind: str, offset: int, **extra: Any) -> None:
        if self.pos16 > offset:
            self.entities.append(
                {"type": kind, "offset": offset, "length": self.pos16 - offset, **extra}
            )

    def result(self) -> ParsedText:
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return ParsedText("".join(self.parts), self.entities)


def _read_until(source: str, i: int, closer: str, *, escapes: bool) -> tuple[str, int] | None:
    """Read text up to ``closer`` (honouring backslash escapes); None when it never comes."""
    out: list[str] = []
    size = len(source)
    while i < size:
        if escapes and source[i] == "\\" and i + 1 < size:
            out.append(source[i + 1])
            i += 2
            continue
        if source.startswith(closer, i):
            return "".join(out), i + len(closer)
        out.append(source[i])
        i += 1
    return None


def parse_markdown_v2(source: str) -> ParsedText:
    """Parse MarkdownV2 approximately: escapes, paired markers, code, links, reserved characters."""
    built = _Builder()
    stack: list[tuple[str, int, int]] = []  # (marker, text offset, byte offset)
    size = len(source)
    i = 0
    while i < size:
        char = source[i]
        if char == "\\" and i + 1 < size and 0 < ord(source[i + 1]) <= 126:
            built.add(source[i + 1])
            i += 2
            continue
        if char == "`":
            begin = i
            if source.startswith("```", i):
                body = _read_until(source, i + 3, "```", escapes=True)
                if body is None:
                    raise EntityParseError(
                        f"Can't find end of Pre entity at byte offset {_byte_offset(source, begin)}"
                    )
                text, i = body
                language, newline, rest = text.partition("\n")
                if newline and language and not any(c in _SPACES for c in language):
                    text = rest
                else:
                    language = ""
                offset = built.pos16
                built.add(text)
                built.entity("pre", offset, **({"language": language} if language else {}))
            else:
                body = _read_until(source, i + 1, "`", escapes=True)
                if body is None:
                    raise EntityParseError(
                        "Can't find end of Code entity at byte offset "
                        f"{_byte_offset(source, begin)}"
                    )
                text, i = body
                offset = built.pos16
                built.add(text)
                built.entity("code", offset)
            continue
        marker = ""
        for candidate in ("||", "__", "*", "_", "~"):
            if source.startswith(candidate, i):
                marker = candidate
                break
        if marker:
            if stack and stack[-1][0] == marker:
                _, offset, _ = stack.pop()
                built.entity(_MDV2_MARKERS[marker], offset)
            else:
                stack.append((marker, built.pos16, _byte_offset(source, i)))
            i += len(marker)
            continue
        if char == "[" or (char == "!" and source.startswith("![", i)):
            stack.append(("[" if char == "[" else "![", built.pos16, _byte_offset(source, i)))
            i += 1 if char == "[" else 2
            continue
        if char == "]" and stack and stack[-1][0] in ("[", "!["):
            kind, offset, _ = stack.pop()
            if not source.startswith("(", i + 1):
                raise EntityParseError(
                    "Character ']' is reserved and must be escaped with the preceding '\\'"
                )
            body = _read_until(source, i + 2, ")", escapes=True)
            if body is None:
                raise EntityParseError(
                    f"Can't find end of a url at byte offset {_byte_offset(source, i)}"
                )
            url, i = body
            if kind == "[":
                built.entity("text_link", offset, url=url)
            else:
                built.entity("custom_emoji", offset, custom_emoji_id=url.rpartition("=")[2])
            continue
        if char == ">" and (i == 0 or source[i - 1] == "\n"):
            line_end = source.find("\n", i)
            line_end = size if line_end < 0 else line_end
            offset = built.pos16
            inner = parse_markdown_v2(source[i + 1 : line_end])
            for entity in inner.entities:
                built.entities.append({**entity, "offset": entity["offset"] + offset})
            built.add(inner.text)
            built.entity("blockquote", offset)
            i = line_end
            continue
        if char in _MDV2_RESERVED:
            raise EntityParseError(
                f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
            )
        built.add(char)
        i += 1
    if stack:
        marker, _, byte_offset = stack[-1]
        raise EntityParseError(
            f"Can't find end of the entity starting at byte offset {byte_offset}"
        )
    return built.result()


def parse_markdown(source: str) -> ParsedText:
    """Parse legacy Markdown approximately: *bold*, _italic_, `code`, ```pre```, [text](url)."""
    built = _Builder()
    size = len(source)
    i = 0
    kinds = {"*": "bold", "_": "italic", "`": "code"}
    while i < size:
        char = source[i]
        begin = i
        if char == "\\" and i + 1 < size and source[i + 1] in "_*`[":
            built.add(source[i + 1])
            i += 2
            continue
        if source.startswith("```", i):
            body = _read_until(source, i + 3, "```", escapes=False)
            if body is None:
                raise EntityParseError(
                    "Can't find end of the entity starting at byte offset "
                    f"{_byte_offset(source, begin)}"
                )
            text, i = body
            offset = built.pos16
            built.add(text)
            built.entity("pre", offset)
            continue
        if char in kinds:
            body = _read_until(source, i + 1, char, escapes=False)
            if body is None:
                raise EntityParseError(
                    "Can't find end of the entity starting at byte offset "
                    f"{_byte_offset(source, begin)}"
                )
            text, i = body
            offset = built.pos16
            built.add(text)
            built.entity(kinds[char], offset)
            continue
        if char == "[":
            body = _read_until(source, i + 1, "]", escapes=False)
            if body is not None and source.startswith("(", body[1]):
                link = _read_until(source, body[1] + 1, ")", escapes=False)
                if link is not None:
                    offset = built.pos16
                    built.add(body[0])
                    built.entity("text_link", offset, url=link[0])
                    i = link[1]
                    continue
        built.add(char)
        i += 1
    return built.result()
