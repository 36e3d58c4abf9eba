"""Telegram's parse_mode=HTML, checked strictly: the bot must always escape what users typed."""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from typing import Any

import msgspec

ALLOWED_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
     "code", "pre", "blockquote", "tg-emoji"}
)  # fmt: skip
# The entity type each tag produces; code inside pre only gives pre its language.
_ENTITY_TYPES = {
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "span": "spoiler", "tg-spoiler": "spoiler", "a": "text_link", "code": "code", "pre": "pre",
    "blockquote": "blockquote", "tg-emoji": "custom_emoji",
}  # fmt: skip
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY = re.compile(r"&(#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,8}|[a-zA-Z][a-zA-Z0-9]{0,31});")
# tdlib's is_space: the characters that end a tag name or separate attributes.
_SPACES = frozenset(" \t\r\n\v\f\0")
_NAME_TOKEN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")

_ANSI_RESET = "\x1b[0m"
_ANSI = {
    "b": "\x1b[1m", "strong": "\x1b[1m", "i": "\x1b[3m", "em": "\x1b[3m", "u": "\x1b[4m",
    "ins": "\x1b[4m", "s": "\x1b[9m", "strike": "\x1b[9m", "del": "\x1b[9m", "code": "\x1b[36m",
    "pre": "\x1b[36m", "a": "\x1b[4m",
}  # fmt: skip


class HtmlError(ValueError):
    """Text that Telegram would refuse to parse."""


class _Tag(msgspec.Struct):
    name: str
    argument: str = ""
    start: int = 0  # UTF-16 offset in the visible text, as Telegram counts entity offsets
    extra: dict[str, str] = msgspec.field(default_factory=dict)


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of Telegram's limits and entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _fail(reason: str) -> HtmlError:
    return HtmlError(f"Bad Request: can't parse entities: {reason}")


def _offset(text: str, index: int) -> int:
    # Telegram reports positions in bytes of the UTF-8 text.
    return len(text[:index].encode("utf-8"))


def _entity(text: str, index: int) -> tuple[str, int]:
    """Decode the entity at text[index] == "&"; returns the character and the next index."""
    match = _ENTITY.match(text, index)
    if match is None:
        raise _fail(
            f'Character "&" must be escaped as "&amp;" at byte offset {_offset(text, index)}'
        )
    name = match.group(1)
    if name.startswith("#"):
        code = int(name[2:], 16) if name[1] in "xX" else int(name[1:])
        if not 0 < code <= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise _fail(
                f'Invalid character reference "&{name};" at byte offset {_offset(text, index)}'
            )
        return chr(code), match.end()
    if name not in _NAMED:
        raise _fail(f'Unsupported HTML entity "&{name};" at byte offset {_offset(text, index)}')
    return _NAMED[name], match.end()


def _attribute_value(text: str, index: int, begin: int) -> tuple[str, int]:
    """Read a quoted or bare attribute value starting at text[index]."""
    if text[index] in "'\"":
        quote = text[index]
        index += 1
        chars: list[str] = []
        while index < len(text) and text[index] != quote:
            if text[index] == "&":
                char, index = _entity(text, index)
                chars.append(char)
            else:
                chars.append(text[index])
                index += 1
        if index >= len(text):
            raise _fail(f"Unclosed start tag at byte offset {_offset(text, begin)}")
        return "".join(chars), index + 1
    start = index
    while index < len(text) and text[index] in _NAME_TOKEN:
        index += 1
    if index < len(text) and text[index] not in _SPACES and text[index] != ">":
        raise _fail(f"Unexpected end of name token at byte offset {_offset(text, start)}")
    return text[start:index].lower(), index


def _start_tag(text: str, begin: int) -> tuple[_Tag, int]:
    """Parse the start tag at text[begin] == "<"; returns it and the index after its ">"."""
    index = begin + 1
    while index < len(text) and text[index] not in _SPACES and text[index] != ">":
        index += 1
    if index >= len(text):
        raise _fail(f"Unclosed start tag at byte offset {_offset(text, begin)}")
    name = text[begin + 1 : index].lower()
    if name not in ALLOWED_TAGS:
        raise _fail(f'Unsupported start tag "{name}" at byte offset {_offset(text, begin)}')
    tag = _Tag(name)
    while True:
        while index < len(text) and text[index] in _SPACES:
            index += 1
        if index >= len(text):
            raise _fail(f"Unclosed start tag at byte offset {_offset(text, begin)}")
        if text[index] == ">":
            index += 1
            break
        attr_start = index
        while index < len(text) and text[index] not in _SPACES and text[index] not in "=>":
            index += 1
        attribute = text[attr_start:index].lower()
        while index < len(text) and text[index] in _SPACES:
            index += 1
        if index < len(text) and text[index] != "=" and attribute == "expandable":
            # The one attribute Telegram takes without a value: <blockquote expandable>.
            tag.extra[attribute] = ""
            continue
        if index >= len(text) or text[index] != "=":
            raise _fail(
                f'Expected equal sign in declaration of an attribute of the tag "{name}" at '
                f"byte offset {_offset(text, begin)}"
            )
        index += 1
        while index < len(text) and text[index] in _SPACES:
            index += 1
        if index >= len(text):
            raise _fail(f'Unclosed start tag "{name}" at byte offset {_offset(text, begin)}')
        value, index = _attribute_value(text, index, begin)
        tag.extra[attribute] = value
    _check_attributes(tag, _offset(text, begin))
    return tag, index


def _check_attributes(tag: _Tag, offset: int) -> None:
    """Apply Telegram's rules for the attributes each tag needs."""
    extra = tag.extra
    if tag.name == "a":
        if not extra.get("href"):
            raise _fail(f'Tag "a" must have attribute "href" at byte offset {offset}')
        tag.argument = extra["href"]
    elif tag.name == "span":
        if extra.get("class") != "tg-spoiler":
            raise _fail(f'Tag "span" must have class "tg-spoiler" at byte offset {offset}')
    elif tag.name == "tg-emoji":
        if not extra.get("emoji-id", "").isdigit():
            raise _fail(f'Tag "tg-emoji" must have attribute "emoji-id" at byte offset {offset}')
        tag.argument = extra["emoji-id"]
    elif tag.name == "code" and extra.get("class", "").startswith("language-"):
        tag.argument = extra["class"][len("language-") :]
    elif tag.name == "blockquote" and "expandable" in extra:
        tag.argument = "expandable"


def _end_tag(text: str, begin: int, stack: list[_Tag]) -> int:
    """Check the end tag at text[begin:] against the open tags; returns the index after it."""
    if not stack:
        raise _fail(f"Unexpected end tag at byte offset {_offset(text, begin)}")
    index = begin + 2
    while index < len(text) and text[index] not in _SPACES and text[index] != ">":
        index += 1
    name = text[begin + 2 : index].lower()
    while index < len(text) and text[index] in _SPACES:
        index += 1
    if index >= len(text) or text[index] != ">":
        raise _fail(f"Unclosed end tag at byte offset {_offset(text, begin)}")
    expected = stack[-1].name
    if name and name != expected:
        raise _fail(
            f"Unmatched end tag at byte offset {_offset(text, begin)}, expected "
            f'"</{expected}>", found "</{name}>"'
        )
    return index + 1


def _scan(text: str) -> Iterator[tuple[str, Any]]:
    """Yield ("text", str), ("open", _Tag) and ("close", _Tag) events, validating as we go."""
    stack: list[_Tag] = []
    index = 0
    plain_start = 0
    while index < len(text):
        char = text[index]
        if char not in "<&":
            index += 1
            continue
        if plain_start < index:
            yield "text", text[plain_start:index]
        if char == "&":
            decoded, index = _entity(text, index)
            yield "text", decoded
        elif index + 1 < len(text) and text[index + 1] == "/":
            index = _end_tag(text, index, stack)
            yield "close", stack.pop()
        else:
            tag, index = _start_tag(text, index)
            stack.append(tag)
            yield "open", tag
        plain_start = index
    if plain_start < len(text):
        yield "text", text[plain_start:]
    if stack:
        raise _fail(f'Can\'t find end tag corresponding to start tag "{stack[-1].name}"')


def parse_html_entities(text: str) -> tuple[str, list[dict[str, Any]]]:
    """Validate Telegram HTML; returns the visible text and its entities as Telegram sends them.

    The bot sends the same texts again and again (/help, the menu): each text is parsed once.
    Telegram parses on its servers, so this work is not the bot's; a benchmark measuring the
    bot through the emulator should not count it over and over."""
    plain, entities = _parsed(text)
    return plain, [dict(entity) for entity in entities]


@functools.lru_cache(maxsize=1024)
def _parsed(text: str) -> tuple[str, tuple[dict[str, Any], ...]]:
    parts: list[str] = []
    entities: list[dict[str, Any]] = []
    position = 0
    stack: list[_Tag] = []
    for kind, value in _scan(text):
        if kind == "text":
            parts.append(value)
            position += utf16_len(value)
        elif kind == "open":
            value.start = position
            stack.append(value)
        else:
            tag: _Tag = stack.pop()
            if tag.name == "code" and stack and stack[-1].name == "pre":
                # <pre><code class="language-x"> is one pre entity with a language.
                if tag.argument:
                    stack[-1].argument = tag.argument
                continue
            length = position - tag.start
            if length <= 0:
                continue  # Telegram drops empty entities
            entity: dict[str, Any] = {
                "type": _ENTITY_TYPES[tag.name],
                "offset": tag.start,
                "length": length,
            }
            if tag.name == "a":
                entity["url"] = tag.argument
            elif tag.name == "pre" and tag.argument:
                entity["language"] = tag.argument
            elif tag.name == "tg-emoji":
                entity["custom_emoji_id"] = tag.argument
            elif tag.name == "blockquote" and tag.argument:
                entity["type"] = "expandable_blockquote"
            entities.append(entity)
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(parts), tuple(entities)


def parse_html(text: str) -> str:
    """Validate the text as Telegram HTML and return what the user sees."""
    return parse_html_entities(text)[0]


def html_to_terminal(text: str, *, ansi: bool) -> str:
    """Readable terminal text for a Telegram HTML message (links as "text (url)")."""
    out: list[str] = []
    styles: list[_Tag] = []
    link_text: list[int] = []  # where each open link's text begins in `out`
    try:
        for kind, value in _scan(text):
            if kind == "text":
                out.append(value)
            elif kind == "open":
                styles.append(value)
                if value.name == "a":
                    link_text.append(len(out))
                if ansi and value.name in _ANSI:
                    out.append(_ANSI[value.name])
            else:
                styles.pop()
                if ansi and value.name in _ANSI:
                    # ANSI has no "end bold": reset, then restore the styles still open.
                    out.append(_ANSI_RESET + "".join(_ANSI.get(t.name, "") for t in styles))
                if value.name == "a":
                    shown = "".join(p for p in out[link_text.pop() :] if not p.startswith("\x1b"))
                    if shown.strip() != value.argument:
                        out.append(f" ({value.argument})")
    except HtmlError:
        return text  # not valid HTML: show it as it is
    return "".join(out)
