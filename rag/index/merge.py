"""How the reports of an ingest meet the corpus already there: refused (same id from another file), replacing their
file's old version, unchanged (given again exactly as they were), or added; a file that failed keeps its old reports."""

from __future__ import annotations

from dataclasses import replace as replace_field

from ingest.model import Corpus, FileProblem, Report
from rag.index.store import report_hash


def _same_file(a: Report, b: Report) -> bool:
    return a.source == b.source or (bool(a.source_sha256) and a.source_sha256 == b.source_sha256)


def refuse_replacements(old: Corpus, new: Corpus) -> Corpus:
    """`new` without the reports whose id is already in `old` from another file, with a problem added for each
    refused one naming the id, both files and the fix (--replace, or remove the old one first)."""
    by_id = {r.id: r for r in old.reports}
    kept, refused = [], []
    for r in new.reports:
        first = by_id.get(r.id)
        if first is None or _same_file(first, r):
            kept.append(r)
            continue
        refused.append(
            FileProblem(
                r.source,
                f"report {r.id} is already in the corpus, from {first.source}; not replaced",
                f"to replace it, ingest again with --replace (Python: replace=True; UI: tick 替换同编号的已有报告), "
                f"or remove it first: govqa remove {r.id}; if this is another report, set its region/year in the manifest",
            )
        )
    gone = {r.id for r in new.reports} - {r.id for r in kept}
    listed = [x if x.report_id not in gone else replace_field(x, report_id=None, has_text=False) for x in new.listed]
    return Corpus(reports=kept, listed=listed, problems=new.problems + refused)


def merge(old: Corpus, new: Corpus) -> tuple[Corpus, list[str], list[str]]:
    """`old` with the reports of `new` added; a report from a file ingested again replaces its old version. A file
    that gave no report this time (its problems are in `new`; refuse_replacements' too) keeps its old reports."""
    # Only a file that gave reports (or TOC entries) replaces its old version: one that failed now keeps it.
    sources = {r.source for r in new.reports} | {x.source for x in new.listed}
    ids = {r.id for r in new.reports}
    kept = [r for r in old.reports if r.source not in sources and r.id not in ids]
    kept_ids = {id(r) for r in kept}  # identity: comparing reports field by field is O(n²) at 10,000 reports
    replaced = [r.id for r in old.reports if id(r) not in kept_ids]
    added = [r.id for r in new.reports if r.id not in replaced]
    cleared = sources | {p.path for p in new.problems}
    merged = Corpus(
        reports=kept + new.reports,
        listed=[x for x in old.listed if x.source not in sources] + new.listed,
        problems=[p for p in old.problems if p.path not in cleared] + new.problems,
    )
    return merged, added, replaced


def unchanged_reports(old: Corpus, new: Corpus, replaced: list[str], hashes: dict[str, str]) -> list[str]:
    """The `replaced` reports that came back exactly as they were: same paragraphs and metadata (`hashes`: the
    content hashes of the reports of record)."""
    before = {r.id: r for r in old.reports}
    again = {r.id: r for r in new.reports}
    return [
        rid
        for rid in replaced
        if rid in again
        and hashes.get(rid) == report_hash(again[rid])
        and replace_field(again[rid], paragraphs=[]) == before[rid]
    ]
