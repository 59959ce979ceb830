"""Citation marks in answer text: find the canonical and tolerant forms, resolve them against retrieved hits."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.types import Hit

# Full-width digits/letters -> ASCII, one char for one char, so spans stay valid in the original text.
_FULLWIDTH = {c: c - 0xFEE0 for c in range(0xFF10, 0xFF1A)}
_FULLWIDTH.update({c: c - 0xFEE0 for c in range(0xFF21, 0xFF3B)})
_FULLWIDTH.update({c: c - 0xFEE0 for c in range(0xFF41, 0xFF5B)})
_FULLWIDTH[0x3000] = 0x20

_SEP = r"[·・•‧∙．.\-—–_/|｜:：\s,，]"  # between region, year and paragraph inside one mark
_ITEM = re.compile(
    rf"(?:(?P<region>[\u4e00-\u9fff]{{1,16}}?){_SEP}*(?P<year>(?:19|20)\d\d)(?P<gap>年?{_SEP}*(?:第|[pP]|段|¶|#)?)\s*)?"
    rf"(?:第|[pP]|段|¶|#)?\s*(?P<para>\d{{1,4}})\s*(?:自然)?段?"
)
_LIST_SEP = re.compile(r"[；;、,，\s]*")
_BRACKET = re.compile(r"[【\[［]([^【】\[\]［］\n]{1,120})[】\]］]")
_REGION_SUFFIX = re.compile(r"(?:特别行政区|自治区|自治州|自治县|地区|市|省|县|区|盟|旗)$")


@dataclass(frozen=True)
class Mark:
    """One citation found in text. start/end span the whole bracket (shared by marks in one bracket).

    `short` is the region name as written (short or full), `raw` the mark's own text inside the bracket.
    """

    start: int
    end: int
    short: str
    year: int
    paragraph: int
    raw: str = ""


def _parse_bracket(content: str) -> list[tuple[str, int, int, str]] | None:
    """The (region, year, paragraph, raw) items of one bracket's content, or None if it is not a mark."""
    items: list[tuple[str, int, int, str]] = []
    pos = 0
    region, year = None, None
    while pos < len(content):
        sep = _LIST_SEP.match(content, pos)
        if sep is None:  # cannot happen: the pattern matches the empty string
            raise AssertionError("_LIST_SEP did not match")
        if items and sep.end() == pos and pos < len(content):
            return None  # two items must be separated
        pos = sep.end()
        if pos >= len(content):
            break
        m = _ITEM.match(content, pos)
        if not m or m.end() == pos:
            return None
        if m.group("year"):
            if not m.group("region") or not m.group("gap"):
                return None  # "2024" glued to the paragraph number, or no region
            region, year = m.group("region"), int(m.group("year"))
        elif region is None or year is None:
            return None  # a bare number like the footnote [12]
        items.append((region, year, int(m.group("para")), m.group(0).strip()))
        pos = m.end()
    return items or None


def find_marks(text: str) -> list[Mark]:
    """Every citation mark in `text`, in order: 【济南·2024·第12段】 and the variants LLMs write."""
    norm = text.translate(_FULLWIDTH)
    marks: list[Mark] = []
    for b in _BRACKET.finditer(norm):
        items = _parse_bracket(b.group(1))
        for region, year, para, raw in items or ():
            marks.append(Mark(b.start(), b.end(), region, year, para, raw))
    return marks


def _base_name(name: str) -> str:
    return _REGION_SUFFIX.sub("", name) or name


def find_hit(mark: Mark, hits: list[Hit]) -> Hit | None:
    """The retrieved hit a mark points at (by short or full region name, year, paragraph), or None."""
    for h in hits:
        if h.year != mark.year or h.paragraph != mark.paragraph:
            continue
        names = {h.short, h.region, h.report_id.rsplit("-", 1)[0]}
        if mark.short in names or _base_name(mark.short) in {_base_name(n) for n in names}:
            return h
    return None


def resolve_marks(text: str, hits: list[Hit]) -> tuple[str, list[Hit], list[Mark]]:
    """Rewrite marks that match a hit to the canonical form; remove marks that match none.

    Returns (text with canonical marks, hits cited in order of first appearance, dropped marks).
    Several marks in one bracket become adjacent canonical marks; a repeated mark in one bracket is kept once.
    """
    by_bracket: dict[tuple[int, int], list[Mark]] = {}
    for m in find_marks(text):
        by_bracket.setdefault((m.start, m.end), []).append(m)
    out, cited, dropped, pos = [], [], [], 0
    seen: set[str] = set()
    for (start, end), marks in by_bracket.items():
        out.append(text[pos:start])
        canon: list[str] = []
        for m in marks:
            hit = find_hit(m, hits)
            if hit is None:
                dropped.append(m)
                continue
            if hit.mark not in canon:
                canon.append(hit.mark)
            if hit.id not in seen:
                seen.add(hit.id)
                cited.append(hit)
        out.append("".join(canon))
        pos = end
    out.append(text[pos:])
    return "".join(out), cited, dropped
