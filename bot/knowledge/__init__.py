"""The guidance knowledge base: entries in ``bot/knowledge/*.toml``, checked when loaded.

Each ``[[entry]]`` has an ``id`` (ascii, kebab-case), a ``title``, ``phrasings`` (how people ask),
``keywords``, an ``answer`` (plain text; rendered through ``templates/kb_answer.j2`` with
escaping), ``related`` entry ids, ``sources`` (``{doc = "tiaoli", article = "第四条"}``; ``doc`` is
a key of ``sources.toml``, an article only where FACTS.md marks it ✔), ``practice`` (true when
the answer rests on common practice, FACTS.md "?": the answer then says so) and ``local`` (true
when it tells local experience from the seed documents: shown as "地方经验，供参考").

The linter checks the local marker against the sources: ``local`` needs a seed document among the
sources; an entry citing only seed documents is local; a line naming a practice that a seed
document describes (its ``practices`` in sources.toml) needs that document cited, ``local``, and,
where the entry also cites rules, a note on that very line saying whose practice it is.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import msgspec

from bot import catalog

HERE = Path(__file__).parent
# The guide a logging secretary can open for each kind of meeting.
KIND_GUIDES = {kind.code: kind.guide for kind in catalog.KINDS}
ANSWER_LIMIT = 1000  # characters of the answer body; the rendered reply must stay <= 1,200
LEAD_LIMIT = 40  # characters of an entry's first line (a guide's title stands there instead)
POINTS_LIMIT = 5  # numbered or bulleted points after it (a guide's steps are not counted)
_POINT = re.compile(r"^(\d+\.|·)")
_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
# Words that say a line is someone's practice, not a rule everyone must follow.
HEDGES = ("有的地方", "一些地方", "有地方", "材料中", "地方经验", "有的城市", "当地做法")


class KnowledgeError(ValueError):
    """An entry or source that breaks the rules above (raised with every problem listed)."""


class Source(msgspec.Struct, frozen=True):
    doc: str
    name: str
    article: str = ""
    local: bool = False  # a seed document: local experience, not a rule


class Entry(msgspec.Struct, frozen=True):
    id: str
    title: str
    phrasings: tuple[str, ...]
    keywords: tuple[str, ...]
    answer: str
    related: tuple[str, ...]
    sources: tuple[Source, ...]
    practice: bool
    topic: str
    local: bool = False

    @property
    def lead(self) -> str:
        """The answer's first line: it answers the question itself (≤ 40 characters)."""
        return self.answer.split("\n", 1)[0]

    @property
    def rest(self) -> str:
        """The answer after its first line: at most five short points."""
        return self.answer.split("\n", 1)[1] if "\n" in self.answer else ""

    @property
    def rules(self) -> tuple[Source, ...]:
        """The rule documents cited, each document once (its articles joined)."""
        return _merged(s for s in self.sources if not s.local)

    @property
    def experience(self) -> tuple[Source, ...]:
        """The seed documents cited (local experience), each once."""
        return _merged(s for s in self.sources if s.local)

    @property
    def is_guide(self) -> bool:
        return self.id.startswith("guide-")


def _merged(sources: Iterable[Source]) -> tuple[Source, ...]:
    """One Source per document, its articles joined with 、 (never the same document twice)."""
    by_doc: dict[str, list[Source]] = {}
    for source in sources:
        by_doc.setdefault(source.doc, []).append(source)
    merged = []
    for doc, found in by_doc.items():
        articles = "、".join(dict.fromkeys(s.article for s in found if s.article))
        merged.append(Source(doc, found[0].name, articles, found[0].local))
    return tuple(merged)


def _sources() -> dict[str, dict]:
    return tomllib.loads((HERE / "sources.toml").read_text("utf-8"))


@cache
def _facts() -> dict[str, dict]:
    """The rule facts added beside FACTS.md (facts_extra.toml), by id."""
    data = tomllib.loads((HERE / "facts_extra.toml").read_text("utf-8"))
    return {fact["id"]: fact for fact in data["fact"]}


def _check_facts(where: str, raw: dict, facts: dict[str, dict], problems: list[str]) -> None:
    """An entry resting on a "?" fact is practice; no article is cited for a fact not ✔."""
    for fid in raw.get("facts", []):
        fact = facts.get(fid)
        if fact is None:
            problems.append(f"{where}: unknown fact {fid!r}")
            continue
        if fact["confidence"] == "?" and not raw.get("practice"):
            problems.append(
                f"{where}: rests on the practice fact {fid!r}: mark it practice = true"
            )
        if fact["confidence"] != "✔":
            cited = [s for s in raw["sources"] if s.get("doc") == fact["doc"] and s.get("article")]
            if cited:
                problems.append(f"{where}: fact {fid!r} is not ✔: cite {fact['doc']} unnumbered")
        if not any(s.get("doc") == fact["doc"] for s in raw["sources"]):
            problems.append(f"{where}: fact {fid!r} comes from {fact['doc']}: cite it")


def _entry(raw: dict, topic: str, docs: dict[str, dict], problems: list[str]) -> Entry | None:
    eid = raw.get("id", "?")
    where = f"{topic}:{eid}"
    for field, kind in (("id", str), ("title", str), ("answer", str), ("phrasings", list),
                        ("keywords", list), ("related", list), ("sources", list)):  # fmt: skip
        if not isinstance(raw.get(field), kind) or not raw.get(field):
            problems.append(f"{where}: field {field!r} missing or empty")
    if problems and problems[-1].startswith(where):
        return None
    if not _ID.match(eid):
        problems.append(f"{where}: id must be kebab-case ascii")
    if len(raw["phrasings"]) < 3:
        problems.append(f"{where}: at least 3 phrasings")
    if len(raw["answer"].strip()) > ANSWER_LIMIT:
        problems.append(f"{where}: answer longer than {ANSWER_LIMIT} characters")
    lead, _, rest = raw["answer"].strip().partition("\n")
    if not eid.startswith("guide-") and len(lead) > LEAD_LIMIT:
        problems.append(f"{where}: first line longer than {LEAD_LIMIT} characters")
    points = [line for line in rest.splitlines() if _POINT.match(line.strip())]
    if not eid.startswith("guide-") and len(points) > POINTS_LIMIT:
        problems.append(f"{where}: more than {POINTS_LIMIT} points")
    sources = []
    for src in raw["sources"]:
        doc = docs.get(src.get("doc", ""))
        if doc is None:
            problems.append(f"{where}: unknown source {src!r}")
            continue
        article = src.get("article", "")
        if article and article not in doc["checked"]:
            problems.append(f"{where}: {src['doc']} {article} is not marked ✔ in FACTS.md")
        sources.append(Source(src["doc"], doc["name"], article, bool(doc.get("local"))))
    local = bool(raw.get("local", False))
    _check_local(where, raw, sources, local, docs, problems)
    _check_facts(where, raw, _facts(), problems)
    return Entry(
        id=eid,
        title=raw["title"].strip(),
        phrasings=tuple(p.strip() for p in raw["phrasings"]),
        keywords=tuple(k.strip() for k in raw["keywords"]),
        answer=raw["answer"].strip(),
        related=tuple(raw["related"]),
        sources=tuple(sources),
        practice=bool(raw.get("practice", False)),
        topic=topic,
        local=local,
    )


def _check_local(
    where: str,
    raw: dict,
    sources: list[Source],
    local: bool,
    docs: dict[str, dict],
    problems: list[str],
) -> None:
    """The local-experience marker against the sources (see the module's docstring)."""
    seeds = {s.doc for s in sources if s.local}
    rules = [s for s in sources if not s.local]
    if local and not seeds:
        problems.append(f"{where}: local = true but no seed document among the sources")
    if seeds and not rules and not local:
        problems.append(f"{where}: cites only seed documents: mark it local = true")
    for line in (raw["title"], *raw["answer"].splitlines()):
        for doc_key, doc in docs.items():
            for term in doc.get("practices", ()):
                if term not in line:
                    continue
                holders = {k for k, d in docs.items() if term in d.get("practices", ())}
                if not holders & seeds:
                    problems.append(f"{where}: names the practice {term!r} of {doc_key} "
                                    "without citing it")  # fmt: skip
                elif not local:
                    problems.append(f"{where}: names the practice {term!r}: mark it local = true")
                elif rules and not any(h in line for h in HEDGES):
                    problems.append(f"{where}: states the practice {term!r} as a rule: "
                                    "say whose it is on that line (有的地方…)")  # fmt: skip


def load(directory: Path = HERE) -> dict[str, Entry]:
    """Every entry by id; raises KnowledgeError listing every problem found."""
    docs = _sources()
    problems: list[str] = []
    entries: dict[str, Entry] = {}
    for path in sorted(directory.glob("*.toml")):
        if path.name in ("sources.toml", "facts_extra.toml"):
            continue
        try:
            data = tomllib.loads(path.read_text("utf-8"))
        except tomllib.TOMLDecodeError as exc:
            problems.append(f"{path.name}: {exc}")
            continue
        for raw in data.get("entry", []):
            entry = _entry(raw, path.stem, docs, problems)
            if entry is None:
                continue
            if entry.id in entries:
                problems.append(f"{path.stem}:{entry.id}: duplicate id")
            entries[entry.id] = entry
    for entry in entries.values():
        for rid in entry.related:
            if rid not in entries or rid == entry.id:
                problems.append(f"{entry.topic}:{entry.id}: related {rid!r} does not exist")
    if problems:
        raise KnowledgeError("\n".join(problems))
    return entries


@cache
def entries() -> dict[str, Entry]:
    return load()
