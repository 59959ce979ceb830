"""Print warm `Assistant.ask` latency (p50/p95/max) of the extractive answerer over the eval questions."""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from rag import Assistant, Settings
from rag.settings import PROJECT_ROOT

QUESTIONS = PROJECT_ROOT / "eval" / "questions.jsonl"


def load_questions(path: Path) -> list[str]:
    """The `question` field of every line of a JSONL eval file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data-dir", type=Path, help="Data dir with the index (default: GOVQA_DATA_DIR).")
    parser.add_argument("--questions", type=Path, default=QUESTIONS, help="JSONL file with a 'question' field.")
    parser.add_argument("--rounds", type=int, default=3, help="Timed passes over the questions.")
    args = parser.parse_args()

    settings = Settings(answerer="extractive", **({"data_dir": args.data_dir} if args.data_dir else {}))
    start = time.perf_counter()
    assistant = Assistant.load(settings=settings)
    loaded = time.perf_counter() - start
    questions = load_questions(args.questions)
    for q in questions:  # warm-up: jieba dictionaries, model graph, caches
        assistant.ask(q)

    times, refused = [], 0
    for _ in range(args.rounds):
        for q in questions:
            t0 = time.perf_counter()
            ans = assistant.ask(q)
            times.append((time.perf_counter() - t0) * 1000)
            refused += ans.refused
    print(f"index: {settings.index_dir} | load {loaded:.1f} s | {len(questions)} questions x {args.rounds} rounds")
    print(
        f"extractive ask latency (warm): p50 {statistics.median(times):6.1f} ms | "
        f"p95 {percentile(times, 95):6.1f} ms | max {max(times):6.1f} ms | mean {statistics.fmean(times):6.1f} ms "
        f"(target p50 <= 50 ms)"
    )
    print(f"refused: {refused / args.rounds:.0f} of {len(questions)}")
    if assistant.embedder is not None:  # how much of it is the query embedding
        embed = []
        for q in questions:
            t0 = time.perf_counter()
            assistant.embedder.embed_query(q)
            embed.append((time.perf_counter() - t0) * 1000)
        print(f"of which query embedding: p50 {statistics.median(embed):6.1f} ms | p95 {percentile(embed, 95):6.1f} ms")


if __name__ == "__main__":
    main()
