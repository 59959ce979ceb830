"""Print what concurrent writers and readers of one data dir see (issue 13): N trials of two `govqa ingest`
processes of different reports started together (reports present, crashes, who waited), then M `load_index`
calls made while another process swaps generations (failures, generations seen).

    python bench/concurrent_writers.py [--trials 10] [--loads 200] [--model bm25]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ingest.errors import IndexError_  # noqa: E402
from rag import Settings  # noqa: E402
from rag.index.build import update  # noqa: E402
from rag.index.store import load_index  # noqa: E402

REPORT = """{year}年{city}政府工作报告
{city}市长
各位代表：
现在，我代表市人民政府，向大会报告工作，请予审议。
一、{prev}年工作回顾
过去一年，全市地区生产总值增长6.2%，新建城市书房二十八座。
二、{year}年工作安排
今年全市经济社会发展的主要预期目标是：地区生产总值增长6%左右，新建{city}城市书房二十座。
"""
WRITER = """
import sys
from rag import Settings
from rag.index.build import update
for i in range(int(sys.argv[1])):
    update(Settings(), [])
"""


def _report(folder: Path, city: str, year: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{city}-{year}.txt"
    path.write_text(REPORT.format(city=city, year=year, prev=year - 1), encoding="utf-8")
    return path


def writers(trials: int, model: str, work: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GOVQA_EMBED_MODEL": model, "COLUMNS": "200"}
    lost = crashes = waited = 0
    times = []
    for t in range(trials):
        data = work / f"w{t}"
        update(Settings(data_dir=data, embed_model=model), [ROOT / "data" / "reports"])
        files = [_report(work / f"in{t}a", "廊坊市", 2024), _report(work / f"in{t}b", "唐山市", 2024)]
        t0 = time.perf_counter()
        procs = [
            subprocess.Popen(
                [sys.executable, "cli.py", "ingest", str(f)],
                cwd=ROOT,
                env={**env, "GOVQA_DATA_DIR": str(data)},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for f in files
        ]
        outs = [p.communicate()[0] for p in procs]
        times.append(time.perf_counter() - t0)
        crashes += sum(p.returncode != 0 for p in procs)
        waited += sum("等待" in o for o in outs)
        ids = {r.id for r in load_index(data / "index").corpus.reports}
        lost += len({"廊坊-2024", "唐山-2024"} - ids) + (len(ids) != 13)
        print(
            f"trial {t + 1}: exit codes {[p.returncode for p in procs]}, reports {len(ids)}, "
            f"waited {sum('等待' in o for o in outs)}, {times[-1]:.1f}s",
            flush=True,
        )
    print(
        f"\ntwo concurrent ingests x {trials}: reports lost {lost}, crashes {crashes}, "
        f"a process waited in {waited} of {trials} trials, median {sorted(times)[len(times) // 2]:.1f}s a trial"
    )


def readers(loads: int, model: str, work: Path) -> None:
    data = work / "r"
    update(Settings(data_dir=data, embed_model=model), [ROOT / "data" / "reports"])
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GOVQA_EMBED_MODEL": model, "GOVQA_DATA_DIR": str(data)}
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, "1000"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    failures, seen, done = [], set(), 0
    try:
        time.sleep(3)
        while done < loads:
            try:
                seen.add(load_index(data / "index").path.name)
            except IndexError_ as e:
                failures.append(str(e).splitlines()[0])
            done += 1
    finally:
        writer.kill()
        writer.wait()
    print(
        f"{loads} load_index calls while another process rebuilt the index: {len(failures)} failures, "
        f"{len(seen)} generations seen"
    )
    for f in failures[:5]:
        print("  ", f)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--loads", type=int, default=200)
    parser.add_argument("--model", default="bm25", help="GOVQA_EMBED_MODEL of the data dirs (default bm25: fast)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="govqa-writers-") as tmp:
        writers(args.trials, args.model, Path(tmp))
        readers(args.loads, args.model, Path(tmp))


if __name__ == "__main__":
    main()
