"""The int8 copy of the prepared e5 ONNX export: made once by onnxruntime's dynamic quantization, never downloaded.

``folder/onnx/model_qint8.onnx`` is ``folder/onnx/model.onnx`` (rag.embedding.onnx_query) with its MatMul and
Gather weights stored as int8, one scale per output channel (``per_channel=True``), activations quantized at
run time. Measured on 160 sample paragraphs: cosine to the fp32 vectors mean 0.997, min 0.995 (without
per-channel scales: mean 0.987, min 0.978), about twice the fp32 passages/s, 118 MB against 470 MB.
onnxruntime's transformer graph optimizer (attention / LayerNorm / GELU fusion, model_type "bert") before
quantizing measured slower here (2 cores, AVX-512 VNNI), so it is not used (bench/embed_bench.py).

The file sits next to the fp32 export with a marker recording the fp32 export's own marker, the quantizer's
settings and QUANT_VERSION: a rebuilt export or a changed recipe makes a new file; anything else reuses it.
Built in a staging file and renamed into place, so a killed build never leaves a half-written file.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from rag.embedding.onnx_query import MARKER as EXPORT_MARKER
from rag.embedding.onnx_query import ONNX_DIR, ONNX_FILE, export_onnx

INT8_FILE = "model_qint8.onnx"
INT8_MARKER = "govqa-qint8.json"
QUANT_VERSION = 1
RECIPE = {"method": "quantize_dynamic", "weight_type": "QInt8", "per_channel": True, "reduce_range": False}


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
    from onnxruntime.quantization import QuantType, quantize_dynamic

    fd, staging = tempfile.mkstemp(prefix=f".{INT8_FILE}.", suffix=".building", dir=onnx_dir)
    os.close(fd)
    try:
        quantize_dynamic(
            str(onnx_dir / ONNX_FILE),
            staging,
            weight_type=QuantType.QInt8,
            per_channel=RECIPE["per_channel"],
            reduce_range=RECIPE["reduce_range"],
        )
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


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
