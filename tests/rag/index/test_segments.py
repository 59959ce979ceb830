"""Segmented generations: a one-report update writes only that report's segment, masks its old version, and a
loaded Assistant sees it; the other segments' files are not touched. Reports from bench/scale_bench.py's generator."""

from __future__ import annotations

import importlib.util
import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from rag import Assistant
from rag.index.build import current_corpus, update
from rag.index.segment import load_segment
from rag.index.store import corpus_chunks, current_generation, load_index

ROOT = Path(__file__).resolve().parents[3]


def _scale_bench():
    spec = importlib.util.spec_from_file_location("scale_bench", ROOT / "bench" / "scale_bench.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _files(index_dir: Path) -> dict[str, int]:
    """mtime (ns) of every file of every segment."""
    return {str(p.relative_to(index_dir)): p.stat().st_mtime_ns for p in index_dir.glob("seg-*/*")}


def _segments(index_dir: Path) -> list[dict]:
    return json.loads((current_generation(index_dir) / "manifest.json").read_text(encoding="utf-8"))["segments"]


@pytest.fixture(scope="module")
def generated_once(assistant, sample_settings, tmp_path_factory):
    """50 generated reports ingested in two batches (two segments), with the sample's hashed embedder."""
    reports = _scale_bench().generate(50, 7, assistant.corpus.reports)
    settings = sample_settings(tmp_path_factory.mktemp("generated") / "data")
    update(settings, reports=reports[:25], embedder=assistant.embedder)
    update(settings, reports=reports[25:], embedder=assistant.embedder)
    return settings, reports


@pytest.fixture
def generated(generated_once, sample_settings, tmp_path):
    """A private copy of the generated data dir."""
    settings, reports = generated_once
    shutil.copytree(settings.data_dir, tmp_path / "data")
    return sample_settings(tmp_path / "data"), reports


def test_generator_is_reproducible(assistant):
    bench = _scale_bench()
    a, b = bench.generate(30, 5, assistant.corpus.reports), bench.generate(30, 5, assistant.corpus.reports)
    assert [(r.id, r.region, r.year, len(r.paragraphs)) for r in a] == [
        (r.id, r.region, r.year, len(r.paragraphs)) for r in b
    ]
    assert len({r.id for r in a}) == 30 and all(80 <= len(r.paragraphs) <= 150 for r in a)
    assert len({r.region for r in a}) > 10 and len({r.province for r in a}) > 3


def test_replacing_one_report_writes_only_its_segment(generated, assistant):
    settings, reports = generated
    index_dir = settings.index_dir
    before = _files(index_dir)
    first = load_index(index_dir)
    assert [len(s["reports"]) for s in _segments(index_dir)] == [25, 25]

    old = reports[3]
    para = next(p for p in old.paragraphs if p.kind != "heading")
    changed = replace(old, paragraphs=list(old.paragraphs))
    changed.paragraphs[para.number - 1] = replace(para, text=para.text + "新增的测试句子含有词语琥珀湾。")
    result = update(settings, reports=[changed], embedder=assistant.embedder, replace=True)
    assert result.replaced == [old.id]

    segments = _segments(index_dir)
    assert [len(s["reports"]) for s in segments] == [24, 25, 1]  # the old version is masked, not rewritten
    assert segments[2]["reports"] == [old.id]
    after = _files(index_dir)
    assert {k: v for k, v in after.items() if k in before} == before  # no file of the other segments touched
    assert {k.split("/")[0] for k in after.keys() - before.keys()} == {segments[2]["name"]}

    index = load_index(index_dir)
    assert load_segment(index_dir / segments[0]["name"]) is first.layout.segments[0]  # read once, shared
    assert len(index.chunks) == len(corpus_chunks(index.corpus)) == index.vectors.ntotal
    assert [r.id for r in index.corpus.reports] == [r.id for r in reports if r.id != old.id] + [old.id]  # as merged
    reloaded = Assistant(index, settings, assistant.embedder)
    hits = reloaded.search("琥珀湾", region=old.region, year=old.year).hits
    assert hits and hits[0].report_id == old.id and "琥珀湾" in hits[0].text
    assert sum(c.report_id == old.id for c in index.chunks) == len(corpus_chunks(type(index.corpus)(reports=[changed])))
    assert current_corpus(settings).report(old.id).paragraph(para.number).text.endswith("琥珀湾。")


def test_adding_and_removing_one_report(generated, assistant):
    settings, reports = generated
    before = _files(settings.index_dir)
    new = replace(reports[0], id="新增-2026", region="新增市", short="新增", year=2026, source="test/new")
    new.paragraphs = [replace(p, report_id=new.id) for p in new.paragraphs]
    update(settings, reports=[new], embedder=assistant.embedder)
    assert [len(s["reports"]) for s in _segments(settings.index_dir)] == [25, 25, 1]
    assert {k: v for k, v in _files(settings.index_dir).items() if k in before} == before
    reloaded = Assistant(load_index(settings.index_dir), settings, assistant.embedder)
    assert {h.report_id for h in reloaded.search("政府工作", region="新增市", year=2026).hits} == {new.id}

    update(settings, remove=[reports[30].id], embedder=assistant.embedder)
    assert [len(s["reports"]) for s in _segments(settings.index_dir)] == [25, 24, 1]
    index = load_index(settings.index_dir)
    assert reports[30].id not in {c.report_id for c in index.chunks}
    unfiltered = Assistant(index, settings, assistant.embedder).retrieve(reports[30].paragraphs[5].text[:200], k=20)
    assert all(h.report_id != reports[30].id for h in unfiltered)


def _answers(assistant, reports) -> list:
    """What a user sees for filtered and unfiltered questions: hits (report, paragraph, score) and answer texts."""
    out = []
    for r in reports[:6]:
        question = f"{r.short}{r.year}年经济增长目标是多少?"
        hits = assistant.search(question, region=r.region, year=r.year).hits
        out.append([(h.report_id, h.paragraph, round(h.score, 5)) for h in hits])
        out.append(assistant.ask(question).text)
    for question in ("粮食总产量多少?", "如何推进老旧小区改造?"):
        out.append([(h.report_id, h.paragraph, round(h.score, 5)) for h in assistant.retrieve(question, k=10)])
    return out


def test_compaction_merges_the_small_segments_and_changes_no_answer(generated, assistant):
    settings, reports = generated
    changed = replace(reports[3], paragraphs=list(reports[3].paragraphs))  # a masked row in the first segment
    para = next(p for p in changed.paragraphs if p.kind != "heading")
    changed.paragraphs[para.number - 1] = replace(para, text=para.text + "新增的测试句子含有词语琥珀湾。")
    update(settings, reports=[changed], embedder=assistant.embedder, replace=True)
    new = replace(reports[0], id="新增-2026", region="新增市", short="新增", year=2026, source="test/new")
    new.paragraphs = [replace(p, report_id=new.id) for p in new.paragraphs]
    update(settings, reports=[new], embedder=assistant.embedder)
    assert [len(s["reports"]) for s in _segments(settings.index_dir)] == [24, 25, 1, 1]
    before_index = load_index(settings.index_dir)
    before = _answers(Assistant(before_index, settings, assistant.embedder), reports[2:] + [new])

    result = update(settings, embedder=assistant.embedder, compact=True)
    assert result.embedded == 0  # every vector came from the embedding cache
    segments = _segments(settings.index_dir)
    assert len(segments) == 1 and len(segments[0]["reports"]) == 51
    index = load_index(settings.index_dir)
    assert index.corpus.reports == before_index.corpus.reports and len(index.chunks) == len(before_index.chunks)
    after = _answers(Assistant(index, settings, assistant.embedder), reports[2:] + [new])
    assert after == before
    assert len(list(settings.index_dir.glob("seg-*"))) == 5  # the previous generation is kept (KEEP_PREVIOUS)
    update(settings, embedder=assistant.embedder)  # the next generation prunes the old segments
    assert {p.name for p in settings.index_dir.glob("seg-*")} == {segments[0]["name"]}


def test_an_ingest_compacts_when_there_are_too_many_segments(generated, assistant):
    settings, reports = generated
    settings = settings.model_copy(update={"index_max_segments": 3})
    for i in range(2):
        new = replace(reports[i], id=f"新增{i}-2026", region=f"新增{i}市", short=f"新增{i}", year=2026, source=f"t/{i}")
        new.paragraphs = [replace(p, report_id=new.id) for p in new.paragraphs]
        update(settings, reports=[new], embedder=assistant.embedder)
    # 2 + 1 segments, then a fourth would exceed 3: everything small went into the new one
    assert [len(s["reports"]) for s in _segments(settings.index_dir)] == [52]
