"""The int8 copy of the prepared e5 ONNX export: made once by onnxruntime's dynamic quantization, never downloaded.

``folder/onnx/model_qint8.onnx`` is ``folder/onnx/model.onnx`` (rag.embedding.onnx_query) with int8 weights:
- every MatMul but the feed-forward output ones, and the word-embedding Gather: onnxruntime's dynamic quantization
  (``quantize_dynamic``, int8 weights with one scale per output channel, activations quantized per tensor at run
  time: the fast integer kernels);
- the 12 feed-forward output MatMuls (1536 → 384, whose GELU inputs have the widest range): 8-bit weight-only
  blocks of 32 (``MatMulNBits``, accuracy level 4: activations quantized per block of 32, not per tensor).
Why mixed, measured on 160 sample paragraphs (cosine to the fp32 vectors, mean / min) and on the eval: dynamic
quantization of every MatMul (per channel) gives 0.9968 / 0.9948, 1.3-2x the fp32 passages/s, but its per-tensor
activation scale depends on the whole batch and moved rankings: hit@5 on the frozen set fell 2.5 points, hit@1
6 points. Mixed: 0.9992 / 0.9987 at ~0.8 of that speed. All MatMuls weight-only 8-bit: 0.99991 at ~0.6 of it.
onnxruntime's transformer graph optimizer (attention / LayerNorm / GELU fusion, model_type "bert") before
quantizing measured slower here (2 cores, AVX-512 VNNI), so it is not used (bench/embed_bench.py --try-optimizer).

The file sits next to the fp32 export with a marker recording the fp32 export's own marker, the quantizer's
settings and QUANT_VERSION: a rebuilt export or a changed recipe makes a new file; anything else reuses it.
Built in a staging file and renamed into place, so a killed build never leaves a half-written file.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from pathlib import Path

from rag.embedding.onnx_query import MARKER as EXPORT_MARKER
from rag.embedding.onnx_query import ONNX_DIR, ONNX_FILE, export_onnx, no_telemetry

INT8_FILE = "model_qint8.onnx"
INT8_MARKER = "govqa-qint8.json"
QUANT_VERSION = 2
RECIPE = {
    "dynamic": {"weight_type": "QInt8", "per_channel": True, "ops": ["MatMul", "Gather"]},
    "weight_only": {"nodes": "feed-forward output MatMuls", "bits": 8, "block_size": 32, "accuracy_level": 4},
}
FFN_OUTPUT = "/output/dense/MatMul"  # /model/encoder/layer.N/output/dense/MatMul (not attention/output/dense)


def _int8_marker(folder: Path, size: int) -> dict:
    export = json.loads((folder / ONNX_DIR / EXPORT_MARKER).read_text(encoding="utf-8"))
    return {"export": export, "quant_version": QUANT_VERSION, "recipe": RECIPE, "size": size}


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
    """folder/onnx/model_qint8.onnx, exported (fp32) and quantized first if needed (~20 s, once)."""
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
        _quantize(onnx_dir / ONNX_FILE, Path(staging))
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


def _quantize(source: Path, target: Path) -> None:
    """RECIPE, with onnxruntime's quantizers kept quiet: importing the MatMulNBits one configures the root logger
    at INFO (a line per graph node); the root logger's level and handlers are put back afterwards."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    try:
        root.setLevel(logging.WARNING)
        _quantize_quietly(source, target)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def _quantize_quietly(source: Path, target: Path) -> None:
    """Dynamic int8 for all MatMuls and Gathers but the feed-forward outputs, weight-only 8-bit for those."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    logging.getLogger().setLevel(logging.WARNING)  # the import above set it to INFO
    for name in ("onnxruntime.quantization", "onnxruntime.quantization.matmul_nbits_quantizer"):
        logging.getLogger(name).setLevel(logging.WARNING)

    graph = onnx.load(str(source), load_external_data=False).graph
    ffn_out = [n.name for n in graph.node if n.op_type == "MatMul" and _is_ffn_output(n.name)]
    if len(ffn_out) != 12:
        raise RuntimeError(f"expected the 12 feed-forward output MatMuls of e5-small, found {len(ffn_out)}")
    dynamic = RECIPE["dynamic"]
    quantize_dynamic(
        str(source),
        str(target),
        weight_type=QuantType.QInt8,
        per_channel=dynamic["per_channel"],
        op_types_to_quantize=dynamic["ops"],
        nodes_to_exclude=ffn_out,
    )
    weight_only = RECIPE["weight_only"]
    quantizer = MatMulNBitsQuantizer(
        onnx.load(str(target)),
        bits=weight_only["bits"],
        block_size=weight_only["block_size"],
        is_symmetric=True,
        accuracy_level=weight_only["accuracy_level"],
        nodes_to_include=ffn_out,
    )
    quantizer.process()
    quantizer.model.save_model_to_file(str(target), use_external_data_format=False)


def _is_ffn_output(name: str) -> bool:
    return name.endswith(FFN_OUTPUT) and "/attention/" not in name


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
