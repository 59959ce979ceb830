"""Print ingest throughput (characters/second) on the sample corpus, and on corpus-extra if present."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from ingest import chunk_report, load_reports

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "reports"
EXTRA = ROOT.parent / "shared" / "corpus-extra"


def bench(name: str, folder: Path, repeats: int) -> None:
    files = [p for p in folder.glob("*.*") if p.suffix in (".txt", ".csv") and p.name != "manifest.toml"]
    raw_chars = sum(len(p.read_text(encoding="utf-8", errors="replace")) for p in files)
    t0 = time.perf_counter()
    corpus = load_reports([folder])
    cold = time.perf_counter() - t0
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        corpus = load_reports([folder])
        times.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    chunks = [c for r in corpus.reports for c in chunk_report(r)]
    chunk_time = time.perf_counter() - t0
    kept = sum(r.chars for r in corpus.reports)
    best = min(times) if times else cold
    print(
        f"{name}: {len(corpus.reports)} reports, {sum(len(r.paragraphs) for r in corpus.reports)} paragraphs, "
        f"{len(chunks)} chunks, {len(corpus.problems)} problems"
    )
    print(f"  raw {raw_chars:,} chars -> kept {kept:,} chars")
    print(f"  first run (incl. gazetteer load): {cold:.3f} s")
    if times:
        print(f"  warm runs: best {best:.3f} s, mean {sum(times) / len(times):.3f} s over {len(times)}")
    print(f"  throughput: {raw_chars / best:,.0f} raw chars/s ({kept / best:,.0f} kept chars/s)")
    print(f"  chunking: {chunk_time:.3f} s ({kept / max(chunk_time, 1e-9):,.0f} chars/s)")
    print(f"  target < 2 s for the whole corpus: {'met' if cold < 2 else 'NOT met'} ({cold:.2f} s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    bench("sample corpus (data/reports)", SAMPLE, args.repeats)
    if EXTRA.is_dir():
        bench("corpus-extra (8 CSV)", EXTRA, args.repeats)


if __name__ == "__main__":
    main()
