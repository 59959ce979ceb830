"""The eval set: it loads, covers every question type and seed report, follows its rules, and every quote is
found in the ingested sample corpus. Also the loader's error messages on broken files."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from eval.dataset import EvalSetError, Evidence, check_evidence, gold_paragraphs, load_items, quote_paragraphs

ROOT = Path(__file__).resolve().parents[2]
QUESTIONS = ROOT / "eval" / "questions.jsonl"
REPORTS = ROOT / "data" / "reports"

# The 11 reports of the sample corpus (region, report year).
SEED_REPORTS = {
    ("石家庄市", 2023),
    ("石家庄市", 2025),
    ("保定市", 2023),
    ("廊坊市", 2023),
    ("济南市", 2024),
    ("沈阳市", 2024),
    ("福州市", 2024),
    ("本溪市", 2024),
    ("盘锦市", 2024),
    ("商丘市", 2024),
    ("内江市", 2024),
}
MIN_PER_TYPE = {"target": 30, "list": 15, "footnote": 12, "comparison": 15, "unanswerable": 15, "trap": 12}


@pytest.fixture(scope="module")
def items():
    return load_items(QUESTIONS)


@pytest.fixture(scope="module")
def corpus():
    from ingest import load_reports

    return load_reports([str(REPORTS)])


def test_size_and_type_coverage(items):
    counts = Counter(i.type for i in items)
    assert len(items) >= 150
    assert counts["figure"] + counts["outcome"] >= 40, counts
    for kind, least in MIN_PER_TYPE.items():
        assert counts[kind] >= least, (kind, counts)


def test_every_seed_report_is_asked_about(items):
    used = {(e.region, e.year) for i in items if i.answerable for e in i.evidence}
    assert used == SEED_REPORTS


def test_ids_are_sequential(items):
    assert [i.id for i in items] == [f"q{n:03d}" for n in range(1, len(items) + 1)]


def test_refusals_and_keys(items):
    for i in items:
        if i.refuse:
            assert i.type in ("unanswerable", "trap") and i.keys == [], i.id
        else:
            assert i.keys and i.evidence, i.id
    traps = [i for i in items if i.type == "trap"]
    assert any(t.refuse for t in traps) and any(not t.refuse for t in traps)  # both behaviours are exercised


def test_quotes_follow_the_quote_rules(items):
    for i in items:
        for e in i.evidence:
            q = re.sub(r"\s+", "", e.quote)
            assert 8 <= len(q) <= 40, (i.id, e.quote)
            assert not re.search(r"\[\d+\]|X|ZZ|[下上]转", q), (i.id, e.quote)


def test_keys_stand_in_the_quotes(items):
    # Every key of an answerable item is in one of its quotes (or is the name of one of its regions).
    for i in items:
        if i.refuse:
            continue
        quotes = [re.sub(r"\s+", "", e.quote) for e in i.evidence]
        regions = {e.region for e in i.evidence} | {e.region.rstrip("市") for e in i.evidence}
        for key in i.keys:
            assert key in regions or any(re.sub(r"\s+", "", key) in q for q in quotes), (i.id, key)


def test_comparisons_have_two_sides(items):
    for i in items:
        if i.type == "comparison":
            assert len(i.evidence) >= 2 and len(i.keys) >= 2, i.id


def test_every_quote_is_found_in_the_ingested_corpus(items, corpus):
    assert check_evidence(items, corpus) == []


def test_every_answerable_item_has_gold_paragraphs(items, corpus):
    ids = {p.id for r in corpus.reports for p in r.paragraphs}
    for i in items:
        if i.answerable:
            gold = gold_paragraphs(i, corpus)
            assert gold and set(gold) <= ids, i.id


def test_region_matches_by_short_form(corpus):
    full = quote_paragraphs(corpus, Evidence("保定市", 2023, "全市生产总值完成3880.3亿元"))
    short = quote_paragraphs(corpus, Evidence("保定", 2023, "全市生产总值完成 3880.3 亿元"))
    assert full and full == short
    assert quote_paragraphs(corpus, Evidence("保定市", 2024, "全市生产总值完成3880.3亿元")) == []


def test_check_evidence_reports_missing_quotes_and_reports(tmp_path, corpus):
    path = tmp_path / "mine.jsonl"
    lines = [
        {
            "id": "a",
            "question": "?",
            "type": "figure",
            "keys": ["1"],
            "evidence": [{"region": "保定市", "year": 2023, "quote": "这句话不在报告里面"}],
        },
        {
            "id": "b",
            "question": "?",
            "type": "figure",
            "keys": ["1"],
            "evidence": [{"region": "杭州市", "year": 2024, "quote": "全市生产总值完成"}],
        },
    ]
    path.write_text("\n".join(json.dumps(x, ensure_ascii=False) for x in lines), encoding="utf-8")
    problems = check_evidence(load_items(path), corpus)
    assert len(problems) == 2
    assert "mine.jsonl:1" in problems[0] and "quote not found" in problems[0]
    assert "mine.jsonl:2" in problems[1] and "no report of 杭州市 for 2024" in problems[1]


GOOD = {
    "id": "x1",
    "question": "保定去年经济总量多大?",
    "type": "figure",
    "answer": "3880.3亿元",
    "keys": ["3880.3亿元"],
    "evidence": [{"region": "保定市", "year": 2023, "quote": "全市生产总值完成3880.3亿元"}],
    "refuse": False,
}

# (name, change to GOOD, field the error must name)
BROKEN = [
    ("unknown type", {"type": "numbers"}, "type"),
    ("missing keys", {"keys": None}, "keys"),
    ("keys not a list", {"keys": "3880.3亿元"}, "keys"),
    ("empty keys on an answerable item", {"keys": []}, "keys"),
    (
        "year as text",
        {"evidence": [{"region": "保定市", "year": "2023", "quote": "全市生产总值完成"}]},
        "evidence[0].year",
    ),
    (
        "year out of range",
        {"evidence": [{"region": "保定市", "year": 23, "quote": "全市生产总值完成"}]},
        "evidence[0].year",
    ),
    ("evidence without quote", {"evidence": [{"region": "保定市", "year": 2023}]}, "evidence[0]"),
    ("refuse on a figure item", {"refuse": True, "keys": []}, "refuse"),
    ("keys on a refusal", {"type": "unanswerable", "refuse": True}, "keys"),
    ("refuse not a bool", {"refuse": "no"}, "refuse"),
    ("unknown field", {"evidense": []}, "evidense"),
]


@pytest.mark.parametrize("name,change,field", BROKEN, ids=[b[0] for b in BROKEN])
def test_loader_names_file_line_and_field(tmp_path, name, change, field):
    bad = {**GOOD, **change}
    bad = {k: v for k, v in bad.items() if v is not None}
    path = tmp_path / "set.jsonl"
    path.write_text(
        json.dumps(GOOD, ensure_ascii=False) + "\n\n" + json.dumps({**bad, "id": "x2"}, ensure_ascii=False) + "\n",
        encoding="utf-8",
    )
    with pytest.raises(EvalSetError) as err:
        load_items(path)
    text = str(err.value)
    assert f"{path}:3" in text and repr(field) in text and "fix:" in text, text


def test_loader_rejects_bad_json_and_duplicate_ids(tmp_path):
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps(GOOD, ensure_ascii=False) + "\n{not json\n", encoding="utf-8")
    with pytest.raises(EvalSetError, match=r"set.jsonl:2"):
        load_items(path)
    path.write_text((json.dumps(GOOD, ensure_ascii=False) + "\n") * 2, encoding="utf-8")
    with pytest.raises(EvalSetError, match=r"duplicate id 'x1'"):
        load_items(path)


def test_loader_keeps_notes_and_defaults(tmp_path):
    item = {k: v for k, v in GOOD.items() if k not in ("answer", "refuse")} | {"_note": "mine"}
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps(item, ensure_ascii=False), encoding="utf-8")
    (loaded,) = load_items(path)
    assert loaded.refuse is False and loaded.answer == "" and loaded.extra == {"_note": "mine"}
    assert loaded.evidence == [Evidence("保定市", 2023, "全市生产总值完成3880.3亿元")]
    assert loaded.source == f"{path}:1"


EXTRA_QUESTIONS = ROOT / "eval" / "questions_extra.jsonl"
EXTRA_REPORTS = ROOT.parent / "shared" / "corpus-extra"


@pytest.mark.skipif(not EXTRA_REPORTS.is_dir(), reason="../shared/corpus-extra is not beside the repo")
def test_provincial_training_quotes_are_found_in_the_ingested_reports():
    """The training questions on four provincial reports: every quote stands in the report ingested from its CSV,
    and every answerable item has gold paragraphs."""
    from ingest import load_reports

    extra = load_items(EXTRA_QUESTIONS)
    corpus = load_reports([str(EXTRA_REPORTS)])
    assert check_evidence(extra, corpus) == []
    assert all(gold_paragraphs(i, corpus) for i in extra if not i.refuse)
    assert not {i.question for i in extra} & {i.question for i in load_items(QUESTIONS)}


BLIND_QUESTIONS = ROOT / "eval" / "questions_blind.jsonl"


def test_blind_sample_questions_stand_in_the_sample_reports_and_are_new():
    """The eleventh session's blind questions on the sample corpus: every quote stands in the ingested sample
    reports, every answerable item has gold paragraphs, and none repeats a question of another set."""
    from ingest import load_reports

    blind = load_items(BLIND_QUESTIONS)
    corpus = load_reports([str(ROOT / "data" / "reports")])
    assert check_evidence(blind, corpus) == []
    assert all(gold_paragraphs(i, corpus) for i in blind if not i.refuse)
    others = {i.question for p in (QUESTIONS, EXTRA_QUESTIONS) for i in load_items(p)}
    assert not {i.question for i in blind} & others
    assert sum(i.refuse for i in blind) >= 100  # mostly near misses: the hard kind to refuse
