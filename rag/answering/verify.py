"""Check an answer against the retrieved paragraphs: canonical marks, supported figures, supporting quotes.

Rules (pure, deterministic):
- Marks that point at no retrieved hit are removed from the text and listed in `dropped_marks`.
- The answer is split into claims: each line; a markdown table row ("| ... |") is one claim, any other
  line (list items included) is split into sentences ending 。！？!? (marks right after the end belong to it).
- A claim with figures needs marks, and every figure must be stated, for what the claim says it measures
  (binding.figure_bound: same value, unit and qualifiers, same year, the figure's clause naming the same
  indicator; a verbatim quote always passes), by a paragraph it cites: the nearest cluster of adjacent marks
  after the figure in the claim, else the last cluster before it. Otherwise the claim is removed and listed
  in `unsupported` (the caller shows them).
- A claim that is a context header copied back ("[1] 【济南·2024·第5段】 济南市 · 2024年政府工作报告 · …") is
  removed: it states nothing.
- Claims without figures need a mark too, except structural lines (headings ending "：", table headers,
  "未提及", catalogue notes such as 库中没有…, very short connectives); an uncited claim is removed.
- Citations: the hits cited by the kept text, in order of first appearance; `quote` is the paragraph
  sentence(s) (split at 。！？；) holding the cited figures, else the sentence sharing the most character
  bigrams with the claim, "" if none shares any. A quote is always a substring of the paragraph text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from rag.answering.binding import figure_bound
from rag.answering.citations import Mark, find_hit, find_marks, resolve_marks
from rag.answering.numbers import Number, extract_numbers, number_supported
from rag.types import Citation, Hit

_SENTENCE = re.compile(r"[^。！？!?]+(?:[。！？!?]+(?:[ \t]*【[^【】\n]*】)*)?|[。！？!?]+")
_PARA_SENTENCE = re.compile(r"[^。！？!?；;]+[。！？!?；;]*")
_CLUSTER_GAP = re.compile(r"[\s、，,；;和及与]*")
_EMPTY_LINE = re.compile(r"[\s\-*+>#|:：]*(?:\d{1,2}[.、)）])?\s*")
_MAX_QUOTE_SENTENCES = 3
_ECHO = re.compile(
    r"[\s\-*>]*(?:\[\d+\]\s*)?(?:【[^【】\n]*】\s*)*[^\s·【】]{2,16}\s*·\s*20\d\d年政府工作报告(?:\s*·|\s*$)"
)


@dataclass
class Verified:
    """The checked answer: text with canonical marks, its citations, removed sentences, dropped marks."""

    text: str
    citations: list[Citation] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)
    dropped_marks: list[str] = field(default_factory=list)  # the invented marks as written, e.g. "杭州·2024·第3段"


@dataclass
class _Claim:
    start: int  # in the line
    end: int
    text: str
    support: dict[str, list[Number]] = field(default_factory=dict)  # hit id -> figures it supports


def _claims(line: str) -> list[_Claim]:
    if line.lstrip().startswith("|"):
        return [_Claim(0, len(line), line)] if line.strip() else []
    return [_Claim(m.start(), m.end(), m.group(0)) for m in _SENTENCE.finditer(line) if m.group(0).strip()]


def _clusters(claim: str, marks: list[Mark]) -> list[tuple[int, int, list[Mark]]]:
    """Runs of marks separated only by spaces or list punctuation: (start, end, marks)."""
    out: list[tuple[int, int, list[Mark]]] = []
    for m in marks:
        if out and (m.start < out[-1][1] or _CLUSTER_GAP.fullmatch(claim[out[-1][1] : m.start])):
            out[-1] = (out[-1][0], max(out[-1][1], m.end), out[-1][2] + [m])
        else:
            out.append((m.start, m.end, [m]))
    return out


def _structural(claim: str) -> bool:
    """Lines that state no fact of their own: headings, table headers, 未提及, catalogue notes."""
    if claim.lstrip().startswith("|"):  # a table row without figures: a header or a label row
        return True
    body = claim.strip().strip("-*+>#| \t")
    return (
        not body
        or body.endswith(("：", ":"))
        or "未提及" in body
        or body.startswith("注")
        or re.search(r"库中没有|仅见于|无法回答|不完整|截断", body) is not None
        or re.fullmatch(r"[\s|:：\-—]+", body) is not None
        or len(re.findall(r"[\u4e00-\u9fff]", body)) < 6
    )


def _check(claim: _Claim, hits: list[Hit]) -> bool:
    """Fill claim.support; True if the claim may stay."""
    if _ECHO.match(claim.text):  # a context header copied back ("【济南·2024·第5段】 济南市 · 2024年政府工作报告 · …")
        return False
    figures = extract_numbers(claim.text)
    clusters = _clusters(claim.text, find_marks(claim.text))
    if not figures:
        # Every claim carries a citation; only structural lines may go without one.
        return bool(clusters) or _structural(claim.text)
    if not clusters:
        return False
    for fig in figures:
        after = [c for c in clusters if c[0] >= fig.end]
        cluster = after[0] if after else [c for c in clusters if c[1] <= fig.start][-1]
        supported = False
        for mark in cluster[2]:
            hit = find_hit(mark, hits)
            if hit is not None and figure_bound(fig, claim.text, hit.text):
                claim.support.setdefault(hit.id, []).append(fig)
                supported = True
        if not supported:
            return False
    return True


def _bigrams(text: str) -> set[str]:
    chars = [c for c in text if c.isalnum()]
    return {a + b for a, b in zip(chars, chars[1:])}


def _quote(hit: Hit, claims: list[_Claim]) -> str:
    spans = []
    for m in _PARA_SENTENCE.finditer(hit.text):
        lead = len(m.group(0)) - len(m.group(0).lstrip())
        if m.group(0).strip():
            spans.append((m.start() + lead, m.start() + len(m.group(0).rstrip())))
    figures = [f for c in claims for f in c.support.get(hit.id, [])]
    chosen = sorted({i for i, (s, e) in enumerate(spans) for f in figures if number_supported(f, hit.text[s:e])})
    if not chosen:
        answer = _bigrams("".join(re.sub(r"【[^】]*】", "", c.text) for c in claims))
        scores = [len(answer & _bigrams(hit.text[s:e])) for s, e in spans]
        if not scores or max(scores) == 0:
            return ""
        chosen = [scores.index(max(scores))]
    if chosen[-1] - chosen[0] >= _MAX_QUOTE_SENTENCES:
        chosen = chosen[:1]
    return hit.text[spans[chosen[0]][0] : spans[chosen[-1]][1]]


def verify(text: str, hits: list[Hit]) -> Verified:
    """Check `text` (an answer from any answerer) against the hits it was given; see the module docstring."""
    canonical, _, dropped = resolve_marks(text, hits)
    kept_lines: list[str] = []
    kept_claims: list[_Claim] = []
    unsupported: list[str] = []
    for line in canonical.split("\n"):
        parts, pos = [], 0
        removed = False
        for claim in _claims(line):
            if _check(claim, hits):
                kept_claims.append(claim)
            else:
                unsupported.append(claim.text.strip())
                parts.append(line[pos : claim.start])
                pos, removed = claim.end, True
        parts.append(line[pos:])
        new = "".join(parts)
        if removed and _EMPTY_LINE.fullmatch(new):
            continue
        kept_lines.append(new.rstrip() if removed else new)
    final = "\n".join(kept_lines).strip("\n")

    cited: list[Hit] = []
    for m in find_marks(final):
        hit = find_hit(m, hits)
        if hit is not None and all(hit.id != c.id for c in cited):
            cited.append(hit)
    citations = []
    for hit in cited:
        claims = [
            c for c in kept_claims if any(getattr(find_hit(m, hits), "id", None) == hit.id for m in find_marks(c.text))
        ]
        citations.append(Citation.from_hit(hit, _quote(hit, claims)))
    return Verified(final, citations, unsupported, [m.raw for m in dropped])
