"""Button data: one typed route per prefix, encoded and decoded in one place.

A button carries `<prefix>:<field>:<field>…` (Telegram allows 64 bytes). Each route names its
fields' types, so a handler receives typed values or is never called: forged or out-of-range
data (a 30-digit id, year 0 or 99999, a kind that does not exist, a missing part) is refused as
an expired button. The form engine's buttons have their own format (bot.forms.engine).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import msgspec
from telegram import Update
from telegram.ext import CallbackQueryHandler

MAX_BYTES = 64  # Telegram's limit on callback data


class Field(msgspec.Struct, frozen=True):
    """One part of a button's data: how a value is written and read back (ValueError: refused).

    `widest` is the value with the longest text, so a test can check every route's 64 bytes.
    Each kind of field defines `widest` and `decode`.
    """

    @property
    def widest(self) -> Any:
        """The valid value whose text is longest."""
        raise NotImplementedError

    def encode(self, value: Any) -> str:
        """The value as button text."""
        return str(value)

    def decode(self, text: str) -> Any:
        """The value of a part, or ValueError."""
        raise NotImplementedError


class Int(Field, frozen=True):
    """An integer in [low, high]; written in plain decimal (no sign unless negative)."""

    low: int
    high: int
    also: tuple[int, ...] = ()  # values outside the range that mean something (0: "all")

    @property
    def widest(self) -> int:
        return max((self.low, self.high, *self.also), key=lambda v: len(str(v)))

    def decode(self, text: str) -> int:
        digits = text[1:] if text.startswith("-") else text
        if not digits.isascii() or not digits.isdigit() or len(digits) > 20:
            raise ValueError(text)
        value = int(text)
        if not (self.low <= value <= self.high or value in self.also):
            raise ValueError(text)
        return value


class Choice(Field, frozen=True):
    """One of a fixed set of words."""

    values: tuple[str, ...]

    @property
    def widest(self) -> str:
        return max(self.values, key=len)

    def decode(self, text: str) -> str:
        if text not in self.values:
            raise ValueError(text)
        return text

    def encode(self, value: Any) -> str:
        if value not in self.values:
            raise ValueError(value)
        return str(value)


class Word(Field, frozen=True):
    """A short word of the bot's own making (a code, a key), checked against a pattern."""

    pattern: str
    longest: str  # the longest text the pattern accepts (checked by the tests)

    @property
    def widest(self) -> str:
        return self.longest

    def decode(self, text: str) -> str:
        if not re.fullmatch(self.pattern, text):
            raise ValueError(text)
        return text


class Day(Field, frozen=True):
    """A date as YYYY-MM-DD, between 2000 and 2100."""

    @property
    def widest(self) -> date:
        return date(2100, 12, 31)

    def encode(self, value: Any) -> str:
        return str(value.isoformat())

    def decode(self, text: str) -> date:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError(text)
        value = date.fromisoformat(text)
        if not 2000 <= value.year <= 2100:
            raise ValueError(text)
        return value


class Month(Field, frozen=True):
    """A month as YYYY-MM, 2000 to 2099 (kept as that text)."""

    @property
    def widest(self) -> str:
        return "2099-12"

    def decode(self, text: str) -> str:
        if not re.fullmatch(r"20\d{2}-(0[1-9]|1[0-2])", text):
            raise ValueError(text)
        return text


# Row ids (a SQLite file of this bot holds far fewer rows), and Telegram user ids (up to 2^52).
ID = Int(1, 10**10 - 1)
USER = Int(1, 2**53)
PAGE = Int(0, 9_999)
YEAR = Int(2000, 2100)
YEAR_OR_ALL = Int(2000, 2100, also=(0,))  # 0: every year


class Route(msgspec.Struct, frozen=True):
    """A button kind: its prefix and the types of its fields."""

    prefix: str
    fields: tuple[Field, ...] = ()

    def __call__(self, *values: Any) -> str:
        """The button data for these values."""
        if len(values) != len(self.fields):
            raise TypeError(f"{self.prefix} takes {len(self.fields)} values")
        parts = [self.prefix]
        for field, value in zip(self.fields, values, strict=True):
            text = field.encode(value)
            try:
                if ":" in text:  # it would read back as two parts
                    raise ValueError(text)
                field.decode(text)  # what parse() does with it when the button is tapped
            except ValueError:
                raise ValueError(f"{self.prefix}: values out of range") from None
            parts.append(text)
        data = ":".join(parts)
        if len(data.encode()) > MAX_BYTES:
            raise ValueError(f"{self.prefix}: button data over {MAX_BYTES} bytes")
        return data

    def parse(self, data: str) -> tuple[Any, ...] | None:
        """The typed values of a button of this route, or None if it is not a valid one."""
        head = self.prefix.count(":") + 1
        parts = data.split(":")
        if ":".join(parts[:head]) != self.prefix or len(parts) != head + len(self.fields):
            return None
        try:
            return tuple(f.decode(p) for f, p in zip(self.fields, parts[head:], strict=True))
        except ValueError:
            return None

    def matches(self, data: object) -> bool:
        """What python-telegram-bot routes here: the prefix and anything after it (a plain
        test, not a pattern: the bot registers some 140 routes at every start)."""
        prefix = self.prefix
        return (
            isinstance(data, str)
            and data.startswith(prefix)
            and data[len(prefix) : len(prefix) + 1] in ("", ":")
        )


ROUTES: dict[str, Route] = {}


def route(prefix: str, *fields: Field) -> Route:
    """Declare a button kind (each prefix once)."""
    if prefix in ROUTES:
        raise ValueError(f"route {prefix} declared twice")
    found = ROUTES[prefix] = Route(prefix, fields)
    return found


Callback = Callable[..., Awaitable[None]]


def on(found: Route, callback: Callback) -> CallbackQueryHandler[Any, None]:
    """A handler calling `callback(update, context, *values)` for valid data of the route;
    anything else with its prefix is answered as an expired button."""

    async def handle(update: Update, context: Any) -> None:
        query = update.callback_query
        values = found.parse(query.data or "") if query is not None else None
        if values is None:
            from bot.handlers.common import stale

            await stale(update, context)
            return
        await callback(update, context, *values)

    handle.__name__ = getattr(callback, "__name__", "handle")
    return CallbackQueryHandler(handle, pattern=found.matches)
