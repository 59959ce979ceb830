"""Whether a cited paragraph states a claimed figure *for what the claim says it measures*.

A value match alone is not enough: "地区生产总值增长6.5%以上" must not pass because the paragraph says
"城乡居民人均可支配收入分别增长5.5%左右和6.5%以上". `figure_bound` decides, in this order:

1. The paragraph must state the same figure (value, unit, qualifiers: numbers.same_figure), else False.
2. A quote passes: if the claim's text from a clause start through the figure's clause is found verbatim
   in the paragraph, starting at one of its sentence starts, the paragraph says exactly this (the
   extractive answerer quotes whole sentences, so its figures always pass here).
3. Year: the year a figure is stated for is the nearest explicit year before it in its clause, else a year
   opening its sentence ("2023年，…"); a year naming a report ("2024年政府工作报告") does not count. When
   claim and paragraph both give one for the figure, they must agree ("从2020年的3.68万亿元增长到2025年…").
4. Indicator: the context of a figure is the character bigrams of its clause (split at ，；：。！？ and
   table cells, not at the enumeration comma 、, which joins items of one phrase), weight 1, and of the
   clause before it in the same sentence, weight 0.5; figures, marks and years are masked out. Only claim
   bigrams that occur in the paragraph say anything; if there are none (the claim names nothing the
   paragraph has, e.g. a bare table cell) the value match stands. Otherwise the paragraph's figures of the
   same kind of unit compete: the claimed value must be held by a figure whose context overlaps the
   claim's (score > 0) at least as much as any other figure's does (ties pass). On the claim's side the
   clause before counts only when the figure's own clause has no word that at most half of the competing
   figures share ("生产总值完成3880.3亿元，增长3.8%": 增长 is everywhere, 生产总值 is not).

Limits: words the paragraph does not use ("GDP" for 地区生产总值) cannot bind; "A、B分别增长x%、y%" puts
both figures in one clause, so either value passes for either indicator.
"""

from __future__ import annotations

import re

from rag.answering.citations import find_marks
from rag.answering.numbers import (
    Number,
    extract_numbers,
    same_figure,
    unit_family,
    units_match,
)

_FOLD = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F) if c not in (0xFF0C, 0xFF1A, 0xFF1B, 0xFF01, 0xFF1F)}
_CLAUSE_SEP = "，,；;：:。！？!?\n|"
_SENTENCE_END = "；;。！？!?\n|"
_CLOSERS = "”’」』）)"
_YEAR = re.compile(
    r"(?<!\d)((?:19|20)\d\d)\s*(?:年?\s*[-~—–至到]\s*((?:19|20)\d\d)\s*)?年(?!\s*(?:的)?(?:政府)?(?:工作)?报告)"
)
_WORD = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]+")
_PREV_WEIGHT = 0.5


def figure_bound(number: Number, claim: str, paragraph: str) -> bool:
    """True if `paragraph` states `number` (a figure found in `claim`) for what the claim names; see the module."""
    figures = extract_numbers(paragraph)
    candidates = [n for n in figures if same_figure(number, n)]
    if not candidates:
        return False
    if _quoted(number, claim, paragraph):
        return True
    asked = _year_of(claim, number.start)
    if asked:
        candidates = [n for n in candidates if not (y := _year_of(paragraph, n.start)) or y & asked]
        if not candidates:
            return False
    present = _bigrams_of(paragraph, figures)
    rivals = [n for n in figures if _comparable(number, n)]
    contexts = {n.start: _context(paragraph, n, figures) for n in rivals + candidates}
    claimed = extract_numbers(claim)
    evidence = {b: w for b, w in _context(claim, number, claimed, previous=False).items() if b in present}
    if not any(sum(b in contexts[n.start] for n in rivals) * 2 <= len(rivals) for b in evidence):
        # the figure's own clause names nothing that tells the paragraph's figures apart ("，增长3.8%"):
        # its subject is in the clause before ("生产总值完成3880.3亿元，增长3.8%")
        evidence = {b: w for b, w in _context(claim, number, claimed).items() if b in present}
    if not evidence:
        return True

    def score(n: Number) -> float:
        ctx = contexts[n.start]
        return sum(w * ctx.get(b, 0.0) for b, w in evidence.items())

    best = max(score(n) for n in candidates)
    return best > 0 and best >= max((score(n) for n in rivals), default=0.0) - 1e-9


def _comparable(a: Number, b: Number) -> bool:
    """Figures that could state the same kind of quantity (both %, both money, ...)."""
    return units_match(a.unit, b.unit) or units_match(b.unit, a.unit) or unit_family(a.unit) == unit_family(b.unit)


# --- clauses and contexts -------------------------------------------------------------------------------
def _clause_bounds(text: str, pos: int) -> tuple[int, int]:
    start = max((text.rfind(c, 0, pos) for c in _CLAUSE_SEP), default=-1) + 1
    ends = [i for i in (text.find(c, pos) for c in _CLAUSE_SEP) if i >= 0]
    return start, min(ends, default=len(text))


def _previous_clause(text: str, start: int) -> tuple[int, int] | None:
    """The clause before the one starting at `start`, if a comma or colon (not a sentence end) parts them."""
    if start == 0 or text[start - 1] in _SENTENCE_END:
        return None
    return _clause_bounds(text, start - 1)[0], start - 1


def _masked(text: str, figures: list[Number]) -> str:
    """The text with figures, marks and year expressions blanked (same length)."""
    chars = list(text.translate(_FOLD))
    spans = [(n.start, n.end) for n in figures] + [(m.start, m.end) for m in find_marks(text)]
    spans += [m.span() for m in _YEAR.finditer("".join(chars))]
    for s, e in spans:
        chars[s:e] = " " * (e - s)
    return "".join(chars)


def _bigrams(text: str) -> set[str]:
    out: set[str] = set()
    for run in _WORD.findall(text.lower()):
        out.update(run[i : i + 2] for i in range(len(run) - 1))
    return out


def _bigrams_of(text: str, figures: list[Number]) -> set[str]:
    return _bigrams(_masked(text, figures))


def _context(text: str, number: Number, figures: list[Number], previous: bool = True) -> dict[str, float]:
    """Bigram -> weight around `number`: its own clause 1, the clause before it in the sentence 0.5."""
    masked = _masked(text, figures)
    start, end = _clause_bounds(text, number.start)
    out = dict.fromkeys(_bigrams(masked[start:end]), 1.0)
    prev = _previous_clause(text, start) if previous else None
    if prev:
        for b in _bigrams(masked[prev[0] : prev[1]]):
            out.setdefault(b, _PREV_WEIGHT)
    return out


# --- years ----------------------------------------------------------------------------------------------
def _years(m: re.Match) -> set[int]:
    a, b = int(m.group(1)), int(m.group(2) or m.group(1))
    return set(range(min(a, b), max(a, b) + 1)) if abs(b - a) <= 20 else {a, b}


def _year_of(text: str, pos: int) -> set[int]:
    """The years a figure at `pos` is stated for: the nearest year before it in its clause, else the year
    opening its sentence; empty when neither."""
    folded = text.translate(_FOLD)
    start, _ = _clause_bounds(folded, pos)
    near = list(_YEAR.finditer(folded, start, pos))
    if near:
        return _years(near[-1])
    sentence = max((folded.rfind(c, 0, pos) for c in _SENTENCE_END), default=-1) + 1
    while sentence < pos and folded[sentence].isspace():
        sentence += 1
    opening = _YEAR.match(folded, sentence)
    return _years(opening) if opening else set()


# --- quotes ---------------------------------------------------------------------------------------------
def _normalised(text: str) -> tuple[str, list[int]]:
    """Text without marks and whitespace, full-width folded, with each kept char's original position."""
    marks = find_marks(text)
    folded = text.translate(_FOLD)
    chars, where = [], []
    for i, c in enumerate(folded):
        if c.isspace() or any(m.start <= i < m.end for m in marks):
            continue
        chars.append(c)
        where.append(i)
    return "".join(chars), where


def _sentence_start(p: str, at: int) -> bool:
    before = p[:at].rstrip(_CLOSERS)
    return not before or before[-1] in _SENTENCE_END


def _quoted(number: Number, claim: str, paragraph: str) -> bool:
    """Whether the claim, from a clause start through the figure's clause, is the paragraph's own text
    starting at one of the paragraph's sentence starts."""
    c, where = _normalised(claim)
    p, _ = _normalised(paragraph)
    try:
        at = next(i for i, pos in enumerate(where) if pos >= number.start)
    except StopIteration:
        return False
    start, end = _clause_bounds(c, at)
    while True:
        piece = c[start:end]
        if piece not in p:
            return False
        found = p.find(piece)
        while found >= 0:
            if _sentence_start(p, found):
                return True
            found = p.find(piece, found + 1)
        if start == 0:
            return False
        start = _clause_bounds(c, start - 1)[0]
