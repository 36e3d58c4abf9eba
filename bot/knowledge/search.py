"""Finding the entry that answers a question typed on a phone.

The question is normalized (traditional → simplified with OpenCC, full-width → half-width,
Chinese numerals before a unit → digits, polite filler removed), segmented with jieba plus the
domain words, mapped through the synonyms, and ranked with BM25 over each entry's fields (title,
phrasings, keywords, body: a phrasing close to the question counts most) plus a character-bigram
BM25 that forgives typos. The entries themselves go through the same pipeline when indexed.
"""

from __future__ import annotations

import itertools
import logging
import marshal
import re
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec

# jieba, numpy, OpenCC and pypinyin (about a second to import) are imported by the index when it
# is first built, not when the bot starts: a bot that is never asked a question never loads them.
from bot.knowledge import HERE, Entry, entries
from bot.textnorm import chinese_to_int, clean_line, to_halfwidth

if TYPE_CHECKING:
    import jieba

_LOGGER = logging.getLogger(__name__)

# Field weights of the word channel, and the weight of the character-bigram channel.
WEIGHTS = {"title": 1.0, "phrasing": 1.0, "keywords": 1.0, "body": 0.35}
BIGRAM_WEIGHT = 1.6
# The best entry must beat the second by this factor, and the question must hold a term that is
# not common to many entries; otherwise the match is weak and the top 3 are offered instead.
MARGIN = 1.03
GENERIC_SHARE = 0.1
# Nor is a best score this low: less evidence than any labelled question answered right had
# (the lowest was 20.2), as when only "党员" and "吗" match ("党员受了处分还能评优吗": 18.6).
MIN_SCORE = 20.0

_FILLER = re.compile(
    r"(请问一下|请问|请教一下|请教|麻烦问一下|麻烦问下|麻烦|想问一下|想问下|想问|问一下|问下|"
    r"你好|您好|谢谢你|谢谢您|谢谢|多谢|小助手|助手|急急急|急|在吗|哈哈|呵呵)"
)
_NUMERAL = re.compile(r"[零〇一二两三四五六七八九十百千万]+(?=[个名位人元块岁年月天日号%次])")
# Terms whose numerals are part of the name, not a count.
_PROTECTED = ("三会一课", "三个有利于", "三必谈", "三同步", "三不会", "八有", "六有", "五好",
              "两新", "一课", "三会", "一岗双责", "四类", "四个")  # fmt: skip
_PUNCTUATION = re.compile(r"[\s\W_]+", re.UNICODE)
# The kind of answer a question asks for, by its question words. An entry's profile is the share
# of its title and phrasings of each kind; the question's kinds lift the entries asked that way.
INTENTS = {
    "procedure": re.compile(r"怎么|如何|流程|程序|步骤|手续|咋|哪几步|怎样|办理"),
    "time": re.compile(
        r"多久|几次|多长时间|什么时候|何时|每年|每月|几月|哪天|期限|几天|几年|一回"
    ),
    "count": re.compile(r"几个|多少人|几名|几人|多少|几家|几种|比例|几票"),
    "who": re.compile(r"谁|哪个部门|哪里|归哪|上级是"),
    "yes_no": re.compile(r"吗|能不能|可不可以|要不要|是否|行不行|可以不|算不算|需不需要|不\?*$"),
    "definition": re.compile(r"是什么|啥意思|什么意思|指什么|是啥|指的是|含义"),
    "list": re.compile(r"哪些|包括|有啥|内容|要求"),
}
INTENT_WEIGHT = 0.1
# Question words are never typos of a domain word (几票 is not 计票, 该选 is not 改选).
_QUESTION_CHARS = frozenset("几该啥咋谁哪吗呢吧么怎多少")
# Taiwan wording that OpenCC's t2s keeps (it converts script, not vocabulary).
_TAIWAN = {"发展物件": "发展对象", "程式": "程序", "登出": "注销", "社群党": "社区党",
           "社群和": "社区和", "资讯": "信息", "网路": "网络"}  # fmt: skip
_TAIWAN_WORDS = re.compile("|".join(_TAIWAN))


def _lines(name: str) -> list[str]:
    text = (HERE / name).read_text("utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and line[0] != "#"]


class Hit(msgspec.Struct, frozen=True):
    """An entry and how well it matched."""

    entry: Entry
    score: float


class Result(msgspec.Struct, frozen=True):
    """The ranking for a question: `confident` when the best hit is clearly the answer,
    `off_topic` when nothing in the question belongs to the knowledge base."""

    hits: tuple[Hit, ...]
    confident: bool
    off_topic: bool
    terms: tuple[str, ...]

    @property
    def best(self) -> Hit | None:
        return self.hits[0] if self.hits else None


class Index:
    """The searchable knowledge base (build once; searching is thread-safe and read-only)."""

    def __init__(self, found: Mapping[str, Entry]) -> None:
        import jieba
        import numpy as np
        import opencc
        from pypinyin import lazy_pinyin

        from bot.knowledge.bm25 import Bm25

        started = time.perf_counter()
        jieba.setLogLevel(logging.WARNING)
        self.converter = opencc.OpenCC("t2s")
        self.stopwords = frozenset(_lines("stopwords.txt"))
        self.synonyms: dict[str, str] = {}
        for line in _lines("synonyms.txt"):
            canonical, *others = line.split()
            for word in others:
                self.synonyms[word] = canonical
        self.tokenizer = _tokenizer()
        words = set(_lines("domain_words.txt")) | set(self.synonyms) | set(self.synonyms.values())
        for entry in found.values():
            words.update(k for k in entry.keywords if len(k) >= 2)
        vocabulary = sorted({self.normalize(word) for word in words})
        # How common each domain word is in everyday Chinese, before it is boosted below: a typo
        # is corrected to a word only where the typo itself is the rarer of the two.
        self.everyday = {word: self.tokenizer.FREQ.get(word, 0) for word in vocabulary}
        for word in vocabulary:
            self.tokenizer.add_word(word, freq=20000)
        self.sounds: dict[tuple[str, ...], str] = {}
        for word in vocabulary:
            if 2 <= len(word) <= 6 and all("\u4e00" <= ch <= "\u9fff" for ch in word):
                key = tuple(lazy_pinyin(word))
                # Two domain words that sound alike: neither is a safe correction.
                self.sounds[key] = "" if key in self.sounds else word
        self.entries = list(found.values())
        owners: list[int] = []
        phrasings: list[list[str]] = []
        for i, entry in enumerate(self.entries):
            for text in (entry.title, *entry.phrasings):
                phrasings.append(self.terms(text))
                owners.append(i)
        self.phrasing_owner = np.array(owners)
        # Each entry's phrasings are contiguous: the best of each is one reduceat.
        self.phrasing_starts = np.flatnonzero(np.r_[True, np.diff(self.phrasing_owner) != 0])
        # The tokenized documents of each field (kept: tests compare the scores with rank-bm25's).
        self.corpora: dict[str, list[list[str]]] = {
            "phrasing": phrasings,
            "title": [self.terms(e.title) for e in self.entries],
            "keywords": [self.terms(" ".join(e.keywords)) for e in self.entries],
            "body": [self.terms(e.answer) for e in self.entries],
            "bigrams": [
                self.bigrams_of(" ".join((e.title, *e.phrasings, *e.keywords)))
                for e in self.entries
            ],
        }
        self.fields = {field: Bm25(corpus) for field, corpus in self.corpora.items()}
        self.bigrams = self.fields.pop("bigrams")
        self.intent_profile = np.zeros((len(self.entries), len(INTENTS)))
        for i, entry in enumerate(self.entries):
            texts = [self.normalize(t) for t in (entry.title, *entry.phrasings)]
            for j, pattern in enumerate(INTENTS.values()):
                hits = sum(bool(pattern.search(t)) for t in texts)
                self.intent_profile[i, j] = hits / len(texts)
        # Core terms: words of titles, phrasings and keywords (not digits, not single characters),
        # with how many entries use each.
        core: list[set[str]] = [set() for _ in self.entries]
        for owner, doc in zip(owners, phrasings, strict=True):
            core[owner].update(doc)
        for i, entry in enumerate(self.entries):
            core[i].update(self.terms(" ".join(entry.keywords)))
        self.core_df: dict[str, int] = {}
        for terms in core:
            for term in terms:
                if len(term) >= 2 and not term.isdigit():
                    self.core_df[term] = self.core_df.get(term, 0) + 1
        self.build_seconds = time.perf_counter() - started

    def normalize(self, text: str) -> str:
        """Simplified, half-width, lower-case, numerals before units as digits, no filler."""
        value = self.converter.convert(to_halfwidth(clean_line(text))).lower()
        value = _TAIWAN_WORDS.sub(lambda match: _TAIWAN[match.group()], value)
        value = _FILLER.sub(" ", value)
        return _digits(value)

    def terms(self, text: str) -> list[str]:
        """The search terms of a text: words (and their parts) mapped through the synonyms."""
        return self._terms_of(self.tokenizer.lcut_for_search(self.normalize(text)))

    def _terms_of(self, words: Iterable[str]) -> list[str]:
        result = []
        for word in words:
            word = word.strip()
            if not word or _PUNCTUATION.fullmatch(word) or word in self.stopwords:
                continue
            result.append(self.synonyms.get(word, word))
        return result

    def _for_search(self, tokens: list[str]) -> list[str]:
        """jieba's cut_for_search from words already cut (the parts of long words, then each
        word), so a question is segmented once."""
        found = []
        for word in tokens:
            if len(word) > 2:
                found += [word[i : i + 2] for i in range(len(word) - 1)
                          if self.tokenizer.FREQ.get(word[i : i + 2])]  # fmt: skip
            if len(word) > 3:
                found += [word[i : i + 3] for i in range(len(word) - 2)
                          if self.tokenizer.FREQ.get(word[i : i + 3])]  # fmt: skip
            found.append(word)
        return found

    def _corrected(self, value: str) -> tuple[str, list[str]]:
        """Homophone typos of domain words put right (换界 → 换届, 三会一颗 → 三会一课, 党元 →
        党员), and the words of the result. A candidate is a run of 1–3 whole words of the
        segmented question (never part of a word) that sounds like a domain word (toneless
        pinyin, any reading of each character), holds no domain word and no stop word, and is
        rarer in everyday Chinese than the word it sounds like. Longest runs first."""
        tokens = self.tokenizer.lcut(value)
        out: list[str] = []
        changed = False
        i = 0
        while i < len(tokens):
            for size in (3, 2, 1):
                run = tokens[i : i + size]
                chunk = "".join(run)
                if len(run) < size or not 2 <= len(chunk) <= 6:
                    continue
                if any(t in self.everyday or t in self.stopwords for t in run):
                    continue
                if any(ch in _QUESTION_CHARS for ch in chunk):
                    continue
                word = self._sounds_like(chunk)
                if word and self.tokenizer.FREQ.get(chunk, 0) < max(self.everyday[word], 1):
                    out.append(word)
                    changed = True
                    i += size
                    break
            else:
                out.append(tokens[i])
                i += 1
        if not changed:
            return value, tokens
        value = "".join(out)
        return value, self.tokenizer.lcut(value)

    def _sounds_like(self, chunk: str) -> str:
        readings = [_readings(ch) for ch in chunk]
        if not all(readings):
            return ""
        for key in itertools.product(*readings):
            if word := self.sounds.get(key):
                return word
        return ""

    def bigrams_of(self, text: str, *, normalized: bool = False) -> list[str]:
        value = _PUNCTUATION.sub(" ", text if normalized else self.normalize(text))
        grams = []
        for chunk in value.split():
            grams += [chunk[i : i + 2] for i in range(len(chunk) - 1)] or [chunk]
        return grams

    def search(self, question: str, limit: int = 3) -> Result:
        """The best `limit` entries for a question."""
        import numpy as np

        question, words = self._corrected(self.normalize(question))
        terms = self._terms_of(self._for_search(words))
        # Each term counts once: a word and its own parts (支委会 and 委会) already weigh it more.
        terms = list(dict.fromkeys(terms))
        known = {t for t in terms if t in self.core_df}
        if not known:
            return Result((), False, True, tuple(terms))
        scores = np.zeros(len(self.entries))
        for field, weight in WEIGHTS.items():
            found = self.fields[field].scores(terms)
            if field == "phrasing":
                found = np.maximum(np.maximum.reduceat(found, self.phrasing_starts), 0)
            scores += weight * found
        scores += BIGRAM_WEIGHT * self.bigrams.scores(self.bigrams_of(question, normalized=True))
        asked = [j for j, pattern in enumerate(INTENTS.values()) if pattern.search(question)]
        if asked and INTENT_WEIGHT:
            scores *= 1 + INTENT_WEIGHT * self.intent_profile[:, asked].max(axis=1)
        order = np.argsort(-scores)[:limit]
        hits = tuple(Hit(self.entries[i], float(scores[i])) for i in order if scores[i] > 0)
        if not hits:
            return Result((), False, True, tuple(terms))
        specific = any(self.core_df[t] <= GENERIC_SHARE * len(self.entries) for t in known)
        clear = len(hits) == 1 or hits[0].score >= MARGIN * hits[1].score
        enough = hits[0].score >= MIN_SCORE
        return Result(hits, specific and clear and enough, False, tuple(terms))


@cache
def _readings(char: str) -> tuple[str, ...]:
    """Every toneless pinyin reading of a Chinese character (none for anything else)."""
    if not "\u4e00" <= char <= "\u9fff":
        return ()
    from pypinyin import Style, pinyin

    return tuple(dict.fromkeys(pinyin(char, style=Style.NORMAL, heteronym=True)[0]))


def _digits(text: str) -> str:
    """二十三个 → 23个, 两名 → 2名; names such as 三会一课 and 八有 stay as they are."""
    guarded: list[tuple[str, str]] = []
    for n, term in enumerate(_PROTECTED):
        if term in text:
            token = f"\x00{n}\x00"
            guarded.append((token, term))
            text = text.replace(term, token)

    def number(match: re.Match[str]) -> str:
        value = chinese_to_int(match.group())
        return match.group() if value is None else str(value)

    text = _NUMERAL.sub(number, text)
    for token, term in guarded:
        text = text.replace(token, term)
    return text


_lock = threading.Lock()


@cache
def _built() -> Index:
    return Index(entries())


def ready() -> bool:
    """Whether the index is built (searching will not wait)."""
    return _built.cache_info().currsize > 0


def index() -> Index:
    """The index, built on first use (start-up warms it in the background)."""
    with _lock:
        return _built()


def _tokenizer() -> jieba.Tokenizer:
    """jieba's tokenizer with its prefix dictionary loaded.

    jieba reads its cached dictionary with marshal.load on the open file, which reads it in
    small pieces: 1.5 s of a 2.6 s index build. The same cache read whole and loaded from the
    bytes takes 0.3 s. Anything unexpected (no cache yet, another dictionary) is left to jieba.
    """
    import jieba

    tokenizer = jieba.Tokenizer()
    cache_file = Path(tokenizer.tmp_dir or tempfile.gettempdir()) / "jieba.cache"
    if tokenizer.dictionary == jieba.DEFAULT_DICT and cache_file.is_file():
        try:
            tokenizer.FREQ, tokenizer.total = marshal.loads(cache_file.read_bytes())
            tokenizer.initialized = True
        except (OSError, EOFError, ValueError, TypeError):
            tokenizer.FREQ, tokenizer.total = {}, 0
    tokenizer.initialize()  # returns at once when loaded above
    return tokenizer


def warm_up() -> None:
    """Build the index now (called in a worker thread at start so replies are not delayed)."""
    found = index()
    _LOGGER.info(
        "Knowledge index ready: %d entries in %.2f s", len(found.entries), found.build_seconds
    )


def accuracy(questions: Iterable[tuple[str, str]]) -> tuple[int, int, list[tuple[str, str, str]]]:
    """(right, total, misses as (question, expected, got)) of top-1 answers."""
    found = index()
    right = total = 0
    misses = []
    for text, expected in questions:
        total += 1
        best = found.search(text).best
        got = best.entry.id if best else "-"
        if got == expected:
            right += 1
        else:
            misses.append((text, expected, got))
    return right, total, misses
