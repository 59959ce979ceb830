"""Print what kill -9 at random points of an ingest leaves (issue 13): after each kill, does the old index still
load and answer, how much did the embedding cache keep; then one full run: does it embed only what was not cached?

    python bench/killed_ingest.py [--trials 10] [--model usem3] [--max-delay 20]
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag import Assistant, Settings  # noqa: E402
from rag.embedding.cache import EmbeddingCache  # noqa: E402
from rag.index.build import open_embedder, update  # noqa: E402

SAMPLE = ROOT / "data" / "reports"
EXTRA = ROOT.parent / "shared" / "corpus-extra"
SEED = SAMPLE / "003_0b171038f676049e.txt"  # 廊坊-2023: the index every kill must leave answering
QUESTION = "廊坊2022年地区生产总值增长多少?"
CODE = "import sys; from rag.index.build import update; from rag import Settings; update(Settings(), sys.argv[1:])"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--model", default="usem3")
    parser.add_argument("--max-delay", type=float, default=20.0, help="kill after a random 1..MAX seconds")
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    inputs = [str(SAMPLE)] + ([str(EXTRA)] if EXTRA.is_dir() else [])
    with tempfile.TemporaryDirectory(prefix="govqa-kill-") as tmp:
        data = Path(tmp) / "var"
        settings = Settings(data_dir=data, embed_model=args.model)
        embedder = open_embedder(settings)
        update(settings, [SEED], embedder=embedder)
        folder = data / "cache" / "embeddings"
        env = {**os.environ, "PYTHONPATH": str(ROOT), "GOVQA_DATA_DIR": str(data), "GOVQA_EMBED_MODEL": args.model}
        answered = 0
        for t in range(args.trials):
            delay = rng.uniform(1.0, args.max_delay)
            proc = subprocess.Popen(
                [sys.executable, "-c", CODE, *inputs],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(delay)
            finished = proc.poll() is not None
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            assistant = Assistant.load(settings=settings)
            answer = assistant.ask(QUESTION)
            ok = not answer.refused and "廊坊" in answer.text
            answered += ok
            cached = len(EmbeddingCache(folder, embedder.identity, embedder.dim))
            partial = len(list((data / "index").glob("*.partial")))
            print(
                f"trial {t + 1}: killed after {delay:.1f}s{' (had finished)' if finished else ''}; "
                f"reports in the index {len(assistant.corpus.reports)}, answered {ok}, cache {cached} texts, "
                f".partial left {partial}",
                flush=True,
            )
            if finished:
                break
        cached = len(EmbeddingCache(folder, embedder.identity, embedder.dim))
        t0 = time.perf_counter()
        result = update(settings, inputs, embedder=embedder)
        total = len(EmbeddingCache(folder, embedder.identity, embedder.dim))
        print(f"\nold index answered after {answered} of {t + 1} kills")
        print(
            f"full run after the kills: {result.embedded} texts embedded, {total - cached} not cached before "
            f"(of {total}); {time.perf_counter() - t0:.1f}s; .partial left "
            f"{len(list((data / 'index').glob('*.partial')))}"
        )


if __name__ == "__main__":
    main()
