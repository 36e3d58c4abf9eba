"""Telegram's parse_mode=HTML, checked strictly: the bot must always escape what users typed."""

from __future__ import annotations

import html
import re

ALLOWED_TAGS = frozenset(
    {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a",
     "code", "pre", "blockquote", "tg-emoji"}
)  # fmt: skip
_TOKEN = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^<>]*)?)>|&(#\d+|#x[0-9a-fA-F]+|[a-z]+);|[<>&]"
)
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ANSI = {"b": "\x1b[1m", "strong": "\x1b[1m", "i": "\x1b[3m", "em": "\x1b[3m", "u": "\x1b[4m"}


class HtmlError(ValueError):
    """Text that Telegram would refuse to parse."""


def _fail(reason: str) -> HtmlError:
    return HtmlError(f"Bad Request: can't parse entities: {reason}")


def parse_html(text: str) -> str:
    """Validate the text as Telegram HTML and return what the user sees."""
    out: list[str] = []
    stack: list[str] = []
    pos = 0
    for match in _TOKEN.finditer(text):
        out.append(text[pos : match.start()])
        pos = match.end()
        token = match.group(0)
        offset = len(text[: match.start()].encode("utf-8"))
        if match.group(2):
            closing, tag, attrs = match.group(1), match.group(2).lower(), match.group(3) or ""
            if tag not in ALLOWED_TAGS:
                raise _fail(f'Unsupported start tag "{tag}" at byte offset {offset}')
            if closing:
                if not stack or stack[-1] != tag:
                    raise _fail(f"Unexpected end tag at byte offset {offset}")
                stack.pop()
            else:
                if tag == "a" and "href" not in attrs:
                    raise _fail(f'Can\'t find "href" attribute of "a" tag at byte offset {offset}')
                stack.append(tag)
        elif match.group(4):
            entity = match.group(4)
            if entity.startswith("#x"):
                out.append(chr(int(entity[2:], 16)))
            elif entity.startswith("#"):
                out.append(chr(int(entity[1:])))
            elif entity in _NAMED:
                out.append(_NAMED[entity])
            else:
                raise _fail(f'Unsupported HTML entity "&{entity};" at byte offset {offset}')
        elif token == ">":
            out.append(">")
        else:
            raise _fail(
                f'Character "{token}" is reserved and must be escaped, at byte offset {offset}'
            )
    if stack:
        raise _fail(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    out.append(text[pos:])
    return "".join(out)


def html_to_terminal(text: str, *, ansi: bool) -> str:
    """Readable terminal text for a valid Telegram HTML message."""

    def tag(match: re.Match[str]) -> str:
        if match.group(4) or match.group(0) in "<>&":
            return html.unescape(match.group(0))
        name = match.group(2).lower()
        if not ansi or name not in _ANSI:
            return ""
        return "\x1b[0m" if match.group(1) else _ANSI[name]

    return _TOKEN.sub(tag, text)
