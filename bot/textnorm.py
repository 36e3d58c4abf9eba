"""Normalizing what people type on a phone: full-width forms, Chinese numerals, stray spaces."""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from typing import Any

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6,
           "七": 7, "八": 8, "九": 9}  # fmt: skip
_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
_CHINESE_NUMBER = re.compile(r"^[零〇一二两三四五六七八九十百千万]+$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u200b-\u200f\u2028-\u202e\ufeff]")
_BLANKS = re.compile(r"[ \t\u3000]+")
_SPACES = re.compile(r"\s+")


def to_halfwidth(text: str) -> str:
    """Full-width letters, digits and punctuation to their ASCII forms (NFKC)."""
    return unicodedata.normalize("NFKC", text)


def clean_line(text: str) -> str:
    """One line of user text: control and zero-width characters removed, spaces collapsed."""
    text = _CONTROL.sub("", text.replace("\r", ""))
    return _BLANKS.sub(" ", text).strip()


def chinese_to_int(text: str) -> int | None:
    """A Chinese numeral such as 十二, 二十三, 一百零五, 两千 as an int, or None."""
    if not text or not _CHINESE_NUMBER.match(text):
        return None
    if all(ch in _DIGITS for ch in text) and len(text) > 1:
        return int("".join(str(_DIGITS[ch]) for ch in text))
    total = section = 0
    number = None
    for ch in text:
        if ch in _DIGITS:
            number = _DIGITS[ch]
        elif ch == "万":
            section = (section + (number or 0)) * 10000
            total += section
            section, number = 0, None
        else:
            section += (1 if number is None else number) * _UNITS[ch]
            number = None
    return total + section + (number or 0)


def parse_int(text: str) -> int | None:
    """An integer typed as 12, １２, 十二 or -3 (units such as 人/名/个 allowed), or None."""
    text = to_halfwidth(clean_line(text)).replace(",", "").replace(" ", "")
    text = re.sub(r"(人|名|个|位|号|日)$", "", text)
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    return chinese_to_int(text)


@cache
def _t2s() -> Any:
    import opencc  # loaded on first use: its dictionaries take a moment

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional script to simplified (OpenCC), for reading answers and matching."""
    return str(_t2s().convert(text)) if text else text


def match_key(text: str) -> str:
    """The form two texts are compared by (林曉紅 matches 林晓红, Ｗａｎｇ matches wang).

    What people typed is stored as typed; only matching and search use this form.
    """
    return _SPACES.sub("", to_halfwidth(to_simplified(clean_line(text)))).lower()
