"""Place names in a question: the name forms of the corpus's regions and of other places, matched as words.

A name matches only where jieba puts word boundaries at both its ends, and place names glued together into one
proper noun (宁波舟山港) do not count, so a place is never found inside a longer word.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from ingest.gazetteer import gazetteer, short_name
from ingest.model import Corpus

# The country is a place too, one level above the provinces, though the gazetteer's table starts at the provinces:
# its report is the State Council's (国务院政府工作报告). These are the words that name it as a whole; "中国" is left
# out because it mostly stands inside names and slogans (中国式现代化), and a country word beside a region of the corpus
# is a comparison or a modifier ("高于全国", "全国城市信用监测排名"), not the country asked about.
COUNTRY = "全国"
COUNTRY_NAMES = {"全国": COUNTRY, "我国": COUNTRY, "国务院": COUNTRY}


@lru_cache(maxsize=1)
def place_names() -> tuple[str, ...]:
    """Full names from the gazetteer, so that a region the corpus lacks can be named in the answer."""
    return tuple(p.full for p in gazetteer().names_at("province", "prefecture", "county-city"))


def name_forms(full: str, short: str) -> set[str]:
    names = {full, short}
    for suffix in ("市", "省", "县", "区"):
        if full.endswith(suffix) and len(full) > 2:
            names.add(full[: -len(suffix)])
    return {n for n in names if len(n) >= 2}


@lru_cache(maxsize=4)
def place_table(places: tuple[str, ...]) -> dict[str, str]:
    """Every name form of every place: full name, the name without its 市/省/县/区 suffix, and the gazetteer's
    short name (西藏自治区 -> 西藏, 延边朝鲜族自治州 -> 延边), the form reports and readers use."""
    return {n: p for p in places for n in name_forms(p, _short(p))}


def _short(full: str) -> str:
    place = gazetteer().find(full)
    return short_name(place) if place is not None else full


def _word_edges(text: str) -> set[int]:
    """Positions where jieba puts a word boundary (a place name must start and end on one)."""
    from rag.index.tokenize import cut

    edges, pos = {0}, 0
    for word in cut(text):
        pos += len(word)
        edges.add(pos)
    return edges


def _compound_names(text: str, spans: list[tuple[int, int]]) -> set[tuple[int, int]]:
    """Spans of place names run together into one proper noun (宁波舟山港: 宁波+舟山 glued to 港)."""
    out: set[tuple[int, int]] = set()
    spans = sorted(spans)
    i = 0
    while i < len(spans):
        j = i
        while j + 1 < len(spans) and spans[j + 1][0] == spans[j][1]:
            j += 1
        end = spans[j][1]
        if j > i and end < len(text) and "\u4e00" <= text[end] <= "\u9fff":
            out.update(spans[i : j + 1])
        i = j + 1
    return out


def find_places(question: str, names: dict[str, str]) -> list[str]:
    """Values of `names` whose keys occur in question as words, longest match first, in order of appearance.

    A name inside a longer word is not a mention of the place: it must start and end on a word boundary
    (jieba), and place names glued together into one proper noun (宁波舟山港) do not count either.
    """
    found: list[tuple[int, str]] = []
    taken = [False] * len(question)
    edges = _word_edges(question)
    matches: list[tuple[int, int, str]] = []
    for name in sorted((n for n in names if n in question), key=len, reverse=True):
        start = question.find(name)
        while start >= 0:
            end = start + len(name)
            if start in edges and end in edges:
                matches.append((start, end, name))
            start = question.find(name, start + 1)
    compound = _compound_names(question, [(s, e) for s, e, _ in matches])
    for start, end, name in matches:
        if (start, end) not in compound and not any(taken[start:end]):
            taken[start:end] = [True] * len(name)
            found.append((start, names[name]))
    out: list[str] = []
    for _, v in sorted(found):
        if v not in out:
            out.append(v)
    return out


@dataclass
class NameTables:
    """Name forms (full name, name without suffix, short name) of the places a question may name, by kind."""

    regions: dict[str, str]  # regions with a report in the corpus
    provinces: dict[str, str]  # provinces of those regions
    listed: dict[str, str]  # regions only listed in a compilation's table of contents (no text)
    other: dict[str, str]  # other places (the gazetteer): not in the corpus at all


_tables: dict[int, tuple[weakref.ref, object, NameTables]] = {}
_positions: dict[int, tuple[weakref.ref, object, dict[str, list[int]]]] = {}


def _kept(cache: dict, corpus: Corpus, key, make):
    """make() once per corpus object and `key`, kept while that corpus lives (dead corpora's entries dropped)."""
    kept = cache.get(id(corpus))
    if kept is not None and kept[0]() is corpus and kept[1] == key:
        return kept[2]
    value = make()
    cache[id(corpus)] = (weakref.ref(corpus), key, value)
    for k in [k for k, v in cache.items() if v[0]() is None]:
        del cache[k]
    return value


def name_tables(corpus: Corpus, places: Iterable[str]) -> NameTables:
    """The name tables of the corpus's regions, provinces, listed-only regions and the other `places` (made once
    per corpus object and kept while it lives: at 10,000 reports making them costs ~0.2 s a question)."""
    places = tuple(places)
    key = (len(corpus.reports), len(corpus.listed), places)
    return _kept(_tables, corpus, key, lambda: _name_tables(corpus, places))


def report_positions(corpus: Corpus) -> dict[str, list[int]]:
    """region or province -> positions in corpus.reports of the reports of that region or in that province
    (made once per corpus object, like name_tables)."""

    def make() -> dict[str, list[int]]:
        at: dict[str, list[int]] = {}
        for i, r in enumerate(corpus.reports):
            at.setdefault(r.region, []).append(i)
            if r.province != r.region:
                at.setdefault(r.province, []).append(i)
        return at

    return _kept(_positions, corpus, len(corpus.reports), make)


def _name_tables(corpus: Corpus, places: tuple[str, ...]) -> NameTables:
    reports = corpus.reports
    region_names: dict[str, str] = {}
    for r in reports:
        for n in name_forms(r.region, r.short):
            region_names.setdefault(n, r.region)
    province_names: dict[str, str] = {}
    for r in reports:
        for n in name_forms(r.province, r.province):
            if n not in region_names:
                province_names[n] = r.province
    listed_names = {}
    for item in corpus.listed:
        if not item.has_text:
            for n in name_forms(item.region, item.region):
                if n not in region_names:
                    listed_names[n] = item.region
    other = {
        n: p
        for n, p in place_table(tuple(places)).items()
        if n not in region_names and n not in province_names and n not in listed_names
    }
    return NameTables(region_names, province_names, listed_names, other)
