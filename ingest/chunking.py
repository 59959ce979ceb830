"""Cut a report's paragraphs into chunks to embed: whole paragraphs, or sentence-aligned pieces.

- one chunk per body/footnote paragraph when it fits in max_chars;
- a longer paragraph is cut only after 。！？；(!?;), packing whole sentences up to max_chars;
- a single sentence longer than max_chars is cut after ，/, (never in a number like 3,456), and only
  as a last resort at max_chars;
- heading paragraphs get no chunk of their own: their text is in the header of every chunk below.
The header is short: "济南市 2024年政府工作报告 · 二、2024年政府工作安排 > （三）大力实施创新驱动…".
"""

from __future__ import annotations

import re

from .model import Chunk, Report
from .paragraphs import SECTION_SEP

_SENTENCE = re.compile(r".*?(?:[。！？!?；]|;(?!\d)|$)(?:[”’」』）)]*)", re.S)
_CLAUSE = re.compile(r".*?(?:，|,(?!\d)|$)", re.S)
_TITLE_CHARS = 20


def chunk_report(report: Report, max_chars: int = 350) -> list[Chunk]:
    """Chunks of every non-heading paragraph of `report`, in paragraph order."""
    if max_chars < 20:
        raise ValueError("max_chars must be at least 20")
    chunks: list[Chunk] = []
    for p in report.paragraphs:
        if p.kind == "heading":
            continue
        header = chunk_header(report, p.section)
        for part, text in enumerate(split_text(p.text, max_chars)):
            chunks.append(Chunk(report_id=report.id, paragraph=p.number, part=part, text=text, header=header))
    return chunks


def chunk_header(report: Report, section: str) -> str:
    """Region, year and the last one or two section titles (each cut to 20 characters)."""
    head = f"{report.region} {report.year}年政府工作报告"
    titles = [t for t in section.split(SECTION_SEP) if t][-2:]
    if not titles:
        return head
    short = [t if len(t) <= _TITLE_CHARS else t[:_TITLE_CHARS] + "…" for t in titles]
    return f"{head} · {SECTION_SEP.join(short)}"


def split_text(text: str, max_chars: int) -> list[str]:
    """Sentence-aligned pieces of `text`, each at most max_chars (see module docstring)."""
    if len(text) <= max_chars:
        return [text]
    units: list[str] = []
    for sentence in _pieces(_SENTENCE, text):
        if len(sentence) <= max_chars:
            units.append(sentence)
            continue
        for clause in _pieces(_CLAUSE, sentence):
            units.extend(_hard_split(clause, max_chars) if len(clause) > max_chars else [clause])
    # Aim at equal pieces (no tiny tail): close a piece at the target size, never above max_chars.
    target = -(-len(text) // -(-len(text) // max_chars))
    out: list[str] = []
    current = ""
    for unit in units:
        if current and (len(current) + len(unit) > max_chars or len(current) >= target):
            out.append(current)
            current = ""
        current += unit
    if current:
        out.append(current)
    return out


def _pieces(pattern: re.Pattern, text: str) -> list[str]:
    return [m.group(0) for m in pattern.finditer(text) if m.group(0)]


def _hard_split(text: str, max_chars: int) -> list[str]:
    """Last resort for a clause longer than max_chars: cut at max_chars, moved back off digits."""
    out = []
    while len(text) > max_chars:
        cut = max_chars
        while cut > max_chars // 2 and _in_number(text, cut):
            cut -= 1
        out.append(text[:cut])
        text = text[cut:]
    if text:
        out.append(text)
    return out


def _in_number(text: str, cut: int) -> bool:
    numeric = "0123456789.．,%"
    return text[cut - 1] in numeric and text[cut] in numeric
