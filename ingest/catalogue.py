"""One row per report (and per listed-only report) for the CLI table and the UI."""

from __future__ import annotations

from .model import LEVELS, Corpus
from .report import TRUNCATED_WARNING

LISTED_ONLY = "仅见于目录，无正文"
TRUNCATED = "正文不完整（截断）"
COLUMNS = ("region", "year", "level", "province", "paragraphs", "chars", "warnings", "id")


def catalogue_rows(corpus: Corpus) -> list[dict]:
    """Rows with keys region, year, level (Chinese label), province, paragraphs, chars, warnings, id, source (the file
    it came from) and provenance (where each detected field was read: title, text, manifest, csv, …).

    Reports come first in corpus order; then compilation entries whose text is not in the corpus
    (paragraphs 0, warning "仅见于目录，无正文", id "").
    """
    rows = []
    for r in corpus.reports:
        warnings = [TRUNCATED if w == TRUNCATED_WARNING else w for w in r.warnings]
        if r.truncated and TRUNCATED not in warnings:
            warnings.insert(0, TRUNCATED)
        if r.abridged:
            warnings.append("摘要本")
        rows.append(
            {
                "region": r.region,
                "year": r.year,
                "level": LEVELS.get(r.level, r.level),
                "province": r.province,
                "paragraphs": len(r.paragraphs),
                "chars": r.chars,
                "warnings": "；".join(warnings),
                "id": r.id,
                "source": r.source,
                "provenance": dict(r.provenance),
            }
        )
    from .gazetteer import gazetteer

    g = gazetteer()
    for item in corpus.listed:
        if item.has_text:
            continue
        place = g.find(item.region)
        rows.append(
            {
                "region": place.full if place else item.region,
                "year": item.year,
                "level": LEVELS[place.level] if place else "",
                "province": place.province if place else "",
                "paragraphs": 0,
                "chars": 0,
                "warnings": LISTED_ONLY,
                "id": "",
                "source": item.source,
                "provenance": {},
            }
        )
    return rows
