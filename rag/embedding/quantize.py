"""The int8 copy of the prepared e5 ONNX export: made once from it by onnxruntime's quantizer, never downloaded.

``folder/onnx/model_qint8.onnx`` is ``folder/onnx/model.onnx`` (rag.embedding.onnx_query) edited, then quantized:
1. the attention softmax NaN guards and repeated mask builds removed (exact; rag.embedding.outliers);
2. the few outlier input channels of each weight MatMul moved to an fp32 side path (exact in fp32), found from
   the largest activations over CALIBRATION_PASSAGES real sample paragraphs (rag.embedding.outliers);
3. onnxruntime's dynamic quantization (``quantize_dynamic``): int8 weights with one scale per output channel for
   every other MatMul and the word-embedding Gather, activations quantized per tensor at run time (the fast
   integer kernels); the weights signed where the CPU has VNNI, unsigned elsewhere (`weight_type`).
Why, measured on 160 sample paragraphs (cosine to the fp32 vectors, mean / min; passages/s on 2 cores with
AVX-512 VNNI, see bench/embed_bench.py): plain dynamic int8 0.9968 / 0.9948 moved rankings (frozen hit@5 −2.5
points) because a handful of channels 5-20× larger than the rest set each activation's per-tensor scale; the
previous recipe (QUANT_VERSION 2) kept the 12 feed-forward output MatMuls as 8-bit weight-only blocks
(``MatMulNBits``): 0.9992 / 0.9987 but those 12 took 37% of the run time; SmoothQuant-style scaling of those
MatMuls (alpha 0.5-1.0) instead reached 0.9987 at best. This recipe: 0.9995 / 0.9993 at ~0.9-0.95 of plain
dynamic int8's speed (the guards gone too): 47-51 passages/s against v2's 39 (README, Embeddings).

The file sits next to the fp32 export with a marker recording the fp32 export's own marker, the recipe and
QUANT_VERSION: a rebuilt export or a changed recipe makes a new file; anything else reuses it.
Built in a staging file and renamed into place, so a killed build never leaves a half-written file.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

from rag.embedding.onnx_query import MARKER as EXPORT_MARKER
from rag.embedding.onnx_query import ONNX_DIR, ONNX_FILE, export_onnx, no_telemetry
from rag.embedding.outliers import MAX_OUTLIERS, OUTLIER_RATIO

INT8_FILE = "model_qint8.onnx"
INT8_MARKER = "govqa-qint8.json"
QUANT_VERSION = 3
CALIBRATION_PASSAGES, CALIBRATION_SEED = 64, 2026
VNNI_FLAGS = {"avx512_vnni", "avx_vnni"}  # /proc/cpuinfo flags of the x86 8-bit dot-product instructions


def weight_type(cpu_flags: set[str] | frozenset[str] | None = None) -> str:
    """The int8 weights' type for this machine's CPU (`cpu_flags`: its /proc/cpuinfo flags, read when None).
    Signed ("QInt8", onnxruntime's fastest kernels) where the CPU has VNNI; unsigned ("QUInt8") elsewhere:
    without VNNI, onnxruntime's u8 x s8 kernels (AVX2) add pairs of products in saturating 16-bit sums, and the
    vectors drift. Measured on an AVX2 CPU without VNNI, 60 sample paragraphs, cosine to fp32 mean / min: QInt8
    0.9991 / 0.9986 (a provincial answer test lost its paragraph from the top 3), QUInt8 0.9995 / 0.9993, the
    same as QInt8 with VNNI, at the same speed; reduce_range (7-bit weights) 0.9993 / 0.9991."""
    flags = _cpu_flags() if cpu_flags is None else cpu_flags
    return "QInt8" if flags & VNNI_FLAGS else "QUInt8"


@functools.cache
def _cpu_flags() -> frozenset[str]:
    """The CPU feature flags Linux reports (empty elsewhere: the unsigned weights, right on every CPU), read once:
    every embedder load asks for them several times (its identity, the int8 file's marker)."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace").splitlines():
            if line.startswith("flags"):
                return frozenset(line.partition(":")[2].split())
    except OSError:
        pass
    return frozenset()


def recipe() -> dict[str, Any]:
    """What the int8 file is made by, recorded in its marker: a file made for another CPU's weight type is remade."""
    return {
        "graph": "softmax NaN guards dropped, one attention mask",
        "outliers": {
            "ratio_to_p99": OUTLIER_RATIO,
            "max_per_matmul": MAX_OUTLIERS,
            "calibration": f"{CALIBRATION_PASSAGES} sample paragraphs, seed {CALIBRATION_SEED}",
        },
        "dynamic": {"weight_type": weight_type(), "per_channel": True, "ops": ["MatMul", "Gather"]},
    }


def _int8_marker(folder: Path, size: int) -> dict:
    export = json.loads((folder / ONNX_DIR / EXPORT_MARKER).read_text(encoding="utf-8"))
    return {"export": export, "quant_version": QUANT_VERSION, "recipe": recipe(), "size": size}


def is_quantized(folder: Path) -> bool:
    """True when folder/onnx holds a complete int8 file made by this recipe from the current fp32 export."""
    onnx_dir = Path(folder) / ONNX_DIR
    try:
        marker = json.loads((onnx_dir / INT8_MARKER).read_text(encoding="utf-8"))
        return marker == _int8_marker(Path(folder), (onnx_dir / INT8_FILE).stat().st_size)
    except (OSError, ValueError):
        return False


def _remove_stale_staging(onnx_dir: Path, older_than: float = 3600.0) -> None:
    """Staging files of a quantization killed halfway (not of one running now)."""
    now = time.time()
    for path in onnx_dir.glob(f".{INT8_FILE}.*"):
        try:
            if now - path.stat().st_mtime > older_than:
                path.unlink()
        except OSError:
            pass


def quantize_int8(folder: Path) -> Path:
    """folder/onnx/model_qint8.onnx, exported (fp32) and quantized first if needed (~30-60 s, once)."""
    folder = Path(folder)
    export_onnx(folder)
    onnx_dir = folder / ONNX_DIR
    target = onnx_dir / INT8_FILE
    if is_quantized(folder):
        return target
    _remove_stale_staging(onnx_dir)
    no_telemetry()  # before onnxruntime is first imported (by the quantizers)

    fd, staging = tempfile.mkstemp(prefix=f".{INT8_FILE}.", suffix=".building", dir=onnx_dir)
    os.close(fd)
    try:
        _quantize(folder, Path(staging))
        os.chmod(staging, 0o666 & ~_umask())
        marker = _int8_marker(folder, Path(staging).stat().st_size)
        if not is_quantized(folder):  # another process may have finished first: keep its file
            os.replace(staging, target)
            tmp_marker = onnx_dir / f".{INT8_MARKER}.{os.getpid()}"
            tmp_marker.write_text(json.dumps(marker, indent=2), encoding="utf-8")
            os.replace(tmp_marker, onnx_dir / INT8_MARKER)
    finally:
        Path(staging).unlink(missing_ok=True)
    return target


def _quantize(folder: Path, target: Path) -> None:
    """recipe(), with onnxruntime's quantizer kept quiet (its modules log a line per node at INFO); the root
    logger's level and handlers are put back afterwards."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        root.setLevel(logging.WARNING)
        _quantize_quietly(folder, target)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def _quantize_quietly(folder: Path, target: Path) -> None:
    """The graph edits of rag.embedding.outliers, then dynamic int8 for all MatMuls and Gathers off the side paths."""
    import onnx
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from rag.embedding import outliers
    from rag.embedding.onnx_query import load_tokenizer, sorted_batches

    logging.getLogger().setLevel(logging.WARNING)  # in case the import above set it to INFO
    logging.getLogger("onnxruntime.quantization").setLevel(logging.WARNING)

    model = onnx.load(str(folder / ONNX_DIR / ONNX_FILE))
    if outliers.drop_nan_guards(model) != 12:
        raise RuntimeError("expected the 12 attention softmax NaN guards of the e5-small export")
    tokenizer, pad_id = load_tokenizer(folder)
    batches = [(ids, mask) for _, ids, mask in sorted_batches(tokenizer, pad_id, calibration_passages(), 16)]

    def session(model_bytes: bytes):
        options = ort.SessionOptions()
        options.intra_op_num_threads = 2
        return ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])

    split = outliers.split_outliers(model, outliers.channel_maxima(model, batches, session))
    if not split:
        raise RuntimeError("no outlier channels found in the e5-small export: calibration went wrong")
    dynamic = recipe()["dynamic"]
    quantize_dynamic(
        model,
        str(target),
        weight_type=QuantType[dynamic["weight_type"]],
        per_channel=dynamic["per_channel"],
        op_types_to_quantize=dynamic["ops"],
        nodes_to_exclude=outliers.side_nodes(model),
        extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},  # the side paths' outputs have no inferred type
    )


def calibration_passages() -> list[str]:
    """CALIBRATION_PASSAGES paragraphs (30-400 characters) of the sample reports, drawn with a fixed seed, with
    e5's passage prefix: what the outlier channels are found on."""
    from rag.embedding.e5convert import PROMPTS
    from rag.settings import default_reports_dir

    lines = [
        line.strip()
        for path in sorted(default_reports_dir().glob("*.txt"))
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
        if 30 <= len(line.strip()) <= 400
    ]
    if len(lines) < CALIBRATION_PASSAGES:
        raise RuntimeError(f"the sample reports ({default_reports_dir()}) hold too few paragraphs to calibrate on")
    chosen = random.Random(CALIBRATION_SEED).sample(lines, CALIBRATION_PASSAGES)
    return [PROMPTS["document"] + line for line in chosen]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
