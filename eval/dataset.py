"""The eval set format: load and validate question items, and check their evidence quotes against a corpus."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from ingest.errors import GovQAError
from ingest.model import Corpus, Report

TYPES = ("figure", "target", "outcome", "list", "footnote", "comparison", "unanswerable", "trap")
REFUSAL_TYPES = ("unanswerable", "trap")  # the only types whose items may have refuse=true
REQUIRED = ("id", "question", "type", "keys", "evidence")
OPTIONAL = ("answer", "refuse")
EVIDENCE_FIELDS = ("region", "year", "quote")
MIN_YEAR, MAX_YEAR = 1949, 2100
MAX_QUOTE = 200

_SPACE = re.compile(r"\s+")


class EvalSetError(GovQAError):
    """An eval set file is malformed: names the file, line and field, and says how to fix it."""


@dataclass(frozen=True)
class Evidence:
    """Where the gold answer stands: an exact quote from the report of `region` (full or short name) of `year`."""

    region: str
    year: int  # the REPORT year (a 2024 report holds the 2023 outcomes)
    quote: str


@dataclass
class EvalItem:
    """One eval question with its gold answer, the strings a correct answer must contain, and its evidence."""

    id: str
    question: str
    type: str
    keys: list[str]
    evidence: list[Evidence]
    answer: str = ""
    refuse: bool = False
    source: str = ""  # "file:line" the item was read from
    extra: dict = field(default_factory=dict)  # fields starting with "_" (free notes), kept as read

    @property
    def answerable(self) -> bool:
        return not self.refuse


def squash(text: str) -> str:
    """The form quotes are compared in: all whitespace removed, nothing else changed."""
    return _SPACE.sub("", text)


def _fail(where: str, field_name: str, message: str, fix: str) -> EvalSetError:
    return EvalSetError(f"field {field_name!r}: {message}", fix=fix, path=where)


def _string(obj: dict, name: str, where: str) -> str:
    value = obj[name]
    if not isinstance(value, str) or not value.strip():
        raise _fail(where, name, f"must be a non-empty string, got {value!r}", f"write the {name} as a JSON string")
    return value.strip()


def _evidence(value, where: str) -> list[Evidence]:
    if not isinstance(value, list):
        raise _fail(
            where,
            "evidence",
            f"must be a list, got {type(value).__name__}",
            'write "evidence": [{"region": "保定市", "year": 2023, "quote": "..."}] (or [] for refusals)',
        )
    out = []
    for i, ev in enumerate(value):
        name = f"evidence[{i}]"
        if not isinstance(ev, dict):
            raise _fail(where, name, "must be an object", 'write {"region": ..., "year": ..., "quote": ...}')
        missing = [f for f in EVIDENCE_FIELDS if f not in ev]
        unknown = sorted(set(ev) - set(EVIDENCE_FIELDS))
        if missing or unknown:
            raise _fail(
                where,
                name,
                f"missing {missing} / unknown {unknown}",
                f"an evidence object has exactly the fields {list(EVIDENCE_FIELDS)}",
            )
        region, year, quote = ev["region"], ev["year"], ev["quote"]
        if not isinstance(region, str) or not region.strip():
            raise _fail(where, f"{name}.region", f"must be a region name, got {region!r}", 'e.g. "保定市" or "保定"')
        if isinstance(year, bool) or not isinstance(year, int) or not MIN_YEAR <= year <= MAX_YEAR:
            raise _fail(
                where,
                f"{name}.year",
                f"must be an integer report year, got {year!r}",
                f"write the year of the REPORT as a number between {MIN_YEAR} and {MAX_YEAR}, e.g. 2024",
            )
        if not isinstance(quote, str) or not squash(quote):
            raise _fail(where, f"{name}.quote", "must be a non-empty string", "copy a span of the report text")
        if len(squash(quote)) > MAX_QUOTE:
            raise _fail(
                where,
                f"{name}.quote",
                f"is {len(squash(quote))} characters long",
                f"quote a short span (at most {MAX_QUOTE} characters) that holds the answer",
            )
        out.append(Evidence(region.strip(), year, quote.strip()))
    return out


def parse_item(obj, where: str) -> EvalItem:
    """Validate one decoded JSON line; `where` ("file:line") is put in every error."""
    if not isinstance(obj, dict):
        raise _fail(where, "(line)", f"must be a JSON object, got {type(obj).__name__}", "write one {...} per line")
    missing = [f for f in REQUIRED if f not in obj]
    if missing:
        raise _fail(where, missing[0], "is missing", f"every item needs the fields {list(REQUIRED)}")
    unknown = sorted(k for k in obj if k not in REQUIRED + OPTIONAL and not k.startswith("_"))
    if unknown:
        raise _fail(
            where,
            unknown[0],
            "is not a known field",
            f"use only {list(REQUIRED + OPTIONAL)}; put free notes in fields starting with '_'",
        )
    item_id, question, kind = _string(obj, "id", where), _string(obj, "question", where), _string(obj, "type", where)
    if kind not in TYPES:
        raise _fail(where, "type", f"unknown type {kind!r}", f"use one of {', '.join(TYPES)}")
    answer = obj.get("answer", "")
    if not isinstance(answer, str):
        raise _fail(where, "answer", "must be a string", "write the gold answer as a JSON string")
    refuse = obj.get("refuse", False)
    if not isinstance(refuse, bool):
        raise _fail(where, "refuse", f"must be true or false, got {refuse!r}", "write refuse: true or false")
    keys = obj["keys"]
    if not isinstance(keys, list) or not all(isinstance(k, str) and squash(k) for k in keys):
        raise _fail(where, "keys", f"must be a list of non-empty strings, got {keys!r}", 'e.g. "keys": ["3880.3亿元"]')
    evidence = _evidence(obj["evidence"], where)
    if refuse and kind not in REFUSAL_TYPES:
        raise _fail(
            where,
            "refuse",
            f"is true for a {kind!r} item",
            f"only {' / '.join(REFUSAL_TYPES)} items may expect a refusal; change the type or set refuse false",
        )
    if refuse and keys:
        raise _fail(where, "keys", "must be [] when refuse is true", "a refusal has no keys; drop them")
    if not refuse and not keys:
        raise _fail(
            where,
            "keys",
            "is empty for an answerable item",
            "list the strings a correct answer must contain, e.g. the figure with its unit",
        )
    if not refuse and not evidence:
        raise _fail(where, "evidence", "is empty for an answerable item", "quote where the report states the answer")
    if kind == "unanswerable" and not refuse:
        raise _fail(where, "refuse", "is false for an unanswerable item", "set refuse: true")
    extra = {k: v for k, v in obj.items() if k.startswith("_")}
    return EvalItem(item_id, question, kind, [k.strip() for k in keys], evidence, answer.strip(), refuse, where, extra)


def load_items(path: str | Path) -> list[EvalItem]:
    """Read a JSONL eval set (one item per line, blank lines allowed); raise EvalSetError naming file:line:field."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise EvalSetError("eval set file not found", fix="pass the path of a .jsonl file", path=str(path)) from None
    except UnicodeDecodeError as e:
        raise EvalSetError(f"not UTF-8 text ({e.reason})", fix="save the file as UTF-8", path=str(path)) from None
    items: list[EvalItem] = []
    seen: dict[str, str] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise EvalSetError(
                f"not valid JSON ({e.msg} at column {e.colno})",
                fix="write each item as one JSON object on one line",
                path=where,
            ) from None
        item = parse_item(obj, where)
        if item.id in seen:
            raise _fail(
                where, "id", f"duplicate id {item.id!r} (first at {seen[item.id]})", "give every item its own id"
            )
        seen[item.id] = where
        items.append(item)
    if not items:
        raise EvalSetError("the eval set has no items", fix="add one JSON object per line", path=str(path))
    return items


def find_reports(corpus: Corpus, region: str, year: int) -> list[Report]:
    """The reports of `region` (full name like "保定市" or short form like "保定") for report year `year`."""
    return [r for r in corpus.reports if r.year == year and region in (r.region, r.short)]


def quote_paragraphs(corpus: Corpus, evidence: Evidence) -> list[str]:
    """Ids of the paragraphs that hold the quote (whitespace-insensitive, otherwise exact)."""
    needle = squash(evidence.quote)
    return [
        p.id
        for report in find_reports(corpus, evidence.region, evidence.year)
        for p in report.paragraphs
        if needle in squash(p.text)
    ]


def gold_paragraphs(item: EvalItem, corpus: Corpus) -> list[str]:
    """The paragraph ids (f"{report.id}-p{number}") holding any of the item's evidence quotes, in evidence order."""
    out: list[str] = []
    for ev in item.evidence:
        for pid in quote_paragraphs(corpus, ev):
            if pid not in out:
                out.append(pid)
    return out


def check_evidence(items: list[EvalItem], corpus: Corpus) -> list[str]:
    """One problem string per evidence quote that has no report or is not found in that report's paragraphs."""
    problems = []
    for item in items:
        for i, ev in enumerate(item.evidence):
            where = f"{item.source or item.id} ({item.id}) evidence[{i}]"
            reports = find_reports(corpus, ev.region, ev.year)
            if not reports:
                held = sorted({f"{r.region}/{r.year}" for r in corpus.reports if ev.region in (r.region, r.short)})
                problems.append(
                    f"{where}: no report of {ev.region} for {ev.year} in the corpus"
                    + (f" (it holds {', '.join(held)})" if held else "")
                )
            elif not quote_paragraphs(corpus, ev):
                problems.append(f"{where}: quote not found in {', '.join(r.id for r in reports)}: {ev.quote!r}")
    return problems
