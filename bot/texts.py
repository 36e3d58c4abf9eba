"""Every word the user sees comes from a Jinja2 template in bot/templates/ (HTML-escaped)."""

from __future__ import annotations

import contextlib
import re
from datetime import date
from functools import cache, lru_cache
from typing import Any

from jinja2 import Environment, FileSystemBytecodeCache, PackageLoader, StrictUndefined
from jinja2.bccache import Bucket, BytecodeCache
from markupsafe import Markup

MAX_MESSAGE = 4096
_TOKEN = re.compile(r"<[^>]*>|&[^;\s]*;|.", re.DOTALL)


class _SparingCache(FileSystemBytecodeCache):
    """Compiled templates on disk, never in the way of a reply: a full disk or an unreadable
    file only means compiling again."""

    def load_bytecode(self, bucket: Bucket) -> None:
        with contextlib.suppress(OSError):
            super().load_bytecode(bucket)

    def dump_bytecode(self, bucket: Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def _bytecode_cache() -> BytecodeCache | None:
    """A private folder in the temp dir (none where there is no safe one)."""
    try:
        return _SparingCache()
    except (OSError, RuntimeError):
        return None


@cache
def environment() -> Environment:
    """The template environment: autoescape on, tidy whitespace, undefined names are errors."""
    env = Environment(
        loader=PackageLoader("bot", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=StrictUndefined,
        # Compiled templates kept on disk (a private folder in the temp dir, keyed by each
        # template's source): compiling labels.j2 alone took a quarter of a second of every start.
        bytecode_cache=_bytecode_cache(),
        # The templates ship with the bot and never change while it runs: no stat of the file
        # on every render (two per branch in a city's sweep).
        auto_reload=False,
    )
    env.globals["labels"] = env.get_template("labels.j2").module
    return env


def render(template: str, **context: Any) -> str:
    """Render ``bot/templates/<template>.j2`` to a message text.

    A template sees nothing but its context (no clock, no user), so a context of plain values
    (texts, numbers, dates) renders the same every time: the last two thousand such texts are
    kept. A hundred secretaries at the same step of /log get one render, not a hundred.
    """
    if not context:
        return render_fixed(template)
    key = _plain_key(context)
    if key is None:
        return _render(template, context)
    return _render_plain(template, key)


# Exact types only: a subclass may carry meaning the value does not show (Markup is not
# escaped again; a str is), so the type is part of the key.
_PLAIN_TYPES = frozenset({str, int, float, bool, type(None), date, Markup})
_Key = tuple[tuple[str, type, Any], ...]


def _plain_key(context: dict[str, Any]) -> _Key | None:
    key = []
    for name, value in context.items():
        kind = type(value)
        if kind not in _PLAIN_TYPES:
            return None
        key.append((name, kind, value))
    return tuple(key)


def _render(template: str, context: dict[str, Any]) -> str:
    return environment().get_template(f"{template}.j2").render(**context).strip()


@lru_cache(maxsize=2048)
def _render_plain(template: str, key: _Key) -> str:
    return _render(template, {name: value for name, _, value in key})


# Bounded: the choices of every fixed text are a handful of constants in the code.
@lru_cache(maxsize=512)
def render_fixed(template: str, **choices: str | int | bool | None) -> str:
    """A text that depends only on constant choices (a help topic, a view name), never on a
    user's data, rendered once per choice: /help costs a dictionary look-up, not a render."""
    return environment().get_template(f"{template}.j2").render(**choices).strip()


@cache
def labels() -> Any:
    """Button labels, option names and command descriptions, from labels.j2."""
    return environment().globals["labels"]


def split_message(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """Split a long text into messages under Telegram's limit, at line breaks.

    Templates close every tag on the line that opens it, so cutting between lines never cuts a
    tag; a single line longer than the limit is cut where no element is open.
    """
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            cut = _safe_cut(line, limit)
            if current:
                parts.append(current)
                current = ""
            parts.append(line[:cut])
            line = line[cut:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current:
        parts.append(current)
    return parts


def _safe_cut(line: str, limit: int) -> int:
    """The last position at or before the limit outside any tag, entity or open element."""
    best = 0
    depth = 0
    for token in _TOKEN.finditer(line):
        if token.end() > limit:
            break
        text = token.group()
        if text.startswith("</"):
            depth -= 1
        elif text.startswith("<") and len(text) > 1:
            depth += 1
        if depth <= 0:
            best = token.end()
    return best or limit
