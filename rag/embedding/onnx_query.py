"""The prepared e5 folder's ONNX export and the encoder that runs it: same vectors, no torch at query time.

Importing sentence-transformers (torch, transformers, sklearn) takes 7-10 s on a 2-core machine, and
its per-call overhead makes a one-question forward pass ~40 ms. The prepared folder therefore also
carries ``onnx/model.onnx`` (the folder's transformer exported once by torch, the layout
sentence-transformers' own ONNX backend uses), and questions are embedded by onnxruntime with the
folder's ``tokenizer.json``, mean pooling and L2 normalisation: ~2.5 s to load, ~10-20 ms a question,
cosine > 0.9999 against ``SentenceTransformer(folder)`` (tested). The same encoder embeds passages (sorted by
token count, each batch padded only to its longest and cut at BATCH_TOKENS tokens) and runs the int8 copy of the
export (rag.embedding.quantize).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import uuid
import warnings
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ingest.errors import ConfigError

ONNX_DIR = "onnx"
ONNX_FILE = "model.onnx"
MARKER = "govqa-export.json"
EXPORT_VERSION = 1
OPSET = 17
# At most this many padded tokens per onnxruntime run when embedding passages (batch_size texts at most as well).
# A run of 32 texts of ~110 tokens holds 3,500 tokens: each layer's activations (up to 3,500 x 1,536 floats,
# 21 MB) then stream through memory between operators; runs of <= 512 tokens stay in the CPU caches. Measured on
# 160 sample paragraphs, int8 (bench/embed_bench.py): 1.4-1.6x the passages/s of 32-text runs; 256-512 alike.
BATCH_TOKENS = 512


def _export_marker(folder: Path, size: int) -> dict:
    """What an export of this folder records: the folder's conversion marker, the exporter, the file size."""
    from rag.embedding.e5convert import MARKER as SOURCE_MARKER

    source = json.loads((folder / SOURCE_MARKER).read_text(encoding="utf-8"))
    return {"source": source, "export_version": EXPORT_VERSION, "opset": OPSET, "size": size}


def is_exported(folder: Path) -> bool:
    """True when folder/onnx holds a complete export of this very folder (a truncated file does not count)."""
    onnx_dir = Path(folder) / ONNX_DIR
    try:
        marker = json.loads((onnx_dir / MARKER).read_text(encoding="utf-8"))
        size = (onnx_dir / ONNX_FILE).stat().st_size
        return marker == _export_marker(Path(folder), size)
    except (OSError, ValueError):
        return False


def _remove_leftovers(folder: Path, older_than: float = 3600.0) -> None:
    """Delete staging/trash folders that an export killed halfway left behind (not a running one's)."""
    now = time.time()
    for path in folder.glob(f".{ONNX_DIR}.*-*"):
        try:
            if ".old-" in path.name or (path.is_dir() and now - path.stat().st_mtime > older_than):
                shutil.rmtree(path, ignore_errors=True)
        except OSError:
            pass


def export_onnx(folder: Path) -> Path:
    """Write folder/onnx/model.onnx (inputs input_ids, attention_mask; output last_hidden_state) once.

    Needs torch, transformers and onnx (done once, ~15 s). Built in a hidden staging folder and renamed
    into place, so a crash never leaves a half-written onnx/ (its staging folder is removed by a later
    export); when another process finished first, its export is kept.
    """
    folder = Path(folder)
    if is_exported(folder):
        return folder / ONNX_DIR / ONNX_FILE
    _remove_leftovers(folder)
    import torch
    from transformers import AutoModel

    from rag.embedding.e5convert import share_mode

    class _Encoder(torch.nn.Module):
        def __init__(self, model):
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask):
            return self.model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    model = _Encoder(AutoModel.from_pretrained(str(folder), local_files_only=True).eval())
    staging = Path(tempfile.mkdtemp(prefix=f".{ONNX_DIR}.building-", dir=folder))
    try:
        # a padded batch of two, so the traced graph handles padding and any length
        ids = torch.tensor([[0, 6, 2, 1], [0, 6, 7, 2]], dtype=torch.long)
        mask = torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]], dtype=torch.long)
        axes = {0: "batch", 1: "tokens"}
        with torch.inference_mode(), warnings.catch_warnings():
            # the tracer warns about shape checks that are constant for an encoder fed a full attention mask
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model,
                (ids, mask),
                str(staging / ONNX_FILE),
                input_names=["input_ids", "attention_mask"],
                output_names=["last_hidden_state"],
                opset_version=OPSET,
                dynamo=False,
                dynamic_axes={"input_ids": axes, "attention_mask": axes, "last_hidden_state": axes},
            )
        marker = _export_marker(folder, (staging / ONNX_FILE).stat().st_size)
        (staging / MARKER).write_text(json.dumps(marker, indent=2), encoding="utf-8")
        share_mode(staging)  # mkdtemp makes it private; the rest of the model folder is not
        if not is_exported(folder):  # another process may have finished first: keep its export
            target = folder / ONNX_DIR
            if target.exists():
                trash = folder / f".{ONNX_DIR}.old-{uuid.uuid4().hex[:8]}"
                os.replace(target, trash)
                shutil.rmtree(trash, ignore_errors=True)
            os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder / ONNX_DIR / ONNX_FILE


def no_telemetry() -> None:
    """Turn off onnxruntime's telemetry before it starts: since 1.29 its Linux builds look up a Microsoft host
    (DNS) a few seconds after the first session and write a device id under ~/.cache/Microsoft/. The variables
    must be set before onnxruntime initialises; a value the user set is kept."""
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("ORT_TELEMETRY_DISABLED", "1")


def open_query_encoder(folder: Path, threads: int = 2, int8: bool = False) -> OnnxQueryEncoder:
    """Export (and, for int8, quantize) the folder if needed and load its encoder; a failure is a ConfigError
    saying what to do."""
    folder = Path(folder)
    try:
        if int8:
            from rag.embedding.quantize import quantize_int8

            model_file = quantize_int8(folder)
        else:
            model_file = export_onnx(folder)
        return OnnxQueryEncoder(folder, threads, model_file)
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(
            f"the ONNX encoder cannot be prepared or loaded ({exc})",
            path=str(folder / ONNX_DIR),
            fix="delete that folder to export it again (govqa prepare-model), "
            "or set GOVQA_EMBED_BACKEND=torch (and GOVQA_QUERY_ENCODER=torch) to embed with sentence-transformers",
        ) from exc


def load_tokenizer(folder: Path):
    """The folder's tokenizer.json, truncating at the model's maximum length and padding with its pad token;
    returns (tokenizer, pad id)."""
    from tokenizers import Tokenizer

    config = json.loads((Path(folder) / "tokenizer_config.json").read_text(encoding="utf-8"))
    tokenizer = Tokenizer.from_file(str(Path(folder) / "tokenizer.json"))
    tokenizer.enable_truncation(int(config.get("model_max_length", 512)))
    pad = config.get("pad_token", "<pad>")
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id(pad), pad_token=pad)
    return tokenizer, int(tokenizer.padding["pad_id"]) if tokenizer.padding else 1


def sorted_batches(tokenizer, pad_id: int, texts: list[str], batch_size: int, max_tokens: int | None = None):
    """(rows, input_ids, attention_mask) for batches of texts of similar token count, each padded (on the right)
    only to its own longest; rows are the texts' positions. A batch holds at most batch_size texts and, when
    max_tokens is given, at most max_tokens padded tokens (always at least one text)."""
    encodings = tokenizer.encode_batch(list(texts))  # padded to the longest of all
    ids = [e.ids[: sum(e.attention_mask)] for e in encodings]
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    limit = max_tokens if max_tokens else float("inf")
    groups: list[list[int]] = [[]]
    for i in order:  # ascending length: the newest text is the batch's longest
        if groups[-1] and (len(groups[-1]) >= max(1, batch_size) or (len(groups[-1]) + 1) * len(ids[i]) > limit):
            groups.append([])
        groups[-1].append(i)
    for rows in groups if groups[0] else []:
        width = max(len(ids[i]) for i in rows)
        batch = np.full((len(rows), width), pad_id, np.int64)
        mask = np.zeros((len(rows), width), np.int64)
        for r, i in enumerate(rows):
            batch[r, : len(ids[i])] = ids[i]
            mask[r, : len(ids[i])] = 1
        yield rows, batch, mask


class OnnxQueryEncoder:
    """Embeds texts with folder/onnx/model.onnx (or model_file, e.g. its int8 copy): tokenizer.json, the
    transformer, mean pooling, L2 norm."""

    def __init__(self, folder: Path, threads: int = 2, model_file: Path | None = None):
        no_telemetry()
        import onnxruntime as ort

        folder = Path(folder)
        pooling = json.loads((folder / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
        if pooling.get("pooling_mode") != "mean" or not pooling.get("include_prompt", True):
            raise ConfigError(
                f"the ONNX query encoder needs mean pooling over all tokens, the folder has {pooling}",
                path=str(folder),
                fix="set GOVQA_QUERY_ENCODER=torch",
            )
        self.tokenizer, self.pad_id = load_tokenizer(folder)
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(1, threads)
        options.inter_op_num_threads = 1
        # no busy-waiting between ops: on 2 shared cores a spinning pool starves the other requests
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.model_file = Path(model_file) if model_file else folder / ONNX_DIR / ONNX_FILE
        self.session = ort.InferenceSession(str(self.model_file), options, providers=["CPUExecutionProvider"])
        self.dim = int(pooling["embedding_dimension"])
        self.batch_tokens: int | None = BATCH_TOKENS
        self.threads = max(1, threads)

    def encode(self, texts: list[str]) -> np.ndarray:
        """L2-normalised float32 vectors, one row per text (texts already carry their prefix)."""
        encodings = self.tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        return self._run(ids, mask)

    def encode_sorted(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Like encode, for many texts: batches of texts of similar token count, each padded only to its own
        longest, so short passages do not pay for long ones, and of at most self.batch_tokens padded tokens
        (BATCH_TOKENS; None: batch_size texts whatever their length), `threads` batches at a time; rows come back
        in the order of `texts`."""
        out = np.zeros((len(texts), self.dim), np.float32)
        batches = sorted_batches(self.tokenizer, self.pad_id, texts, batch_size, self.batch_tokens)
        # `threads` batches in flight on the one session (its runs are thread-safe and release the GIL): small
        # runs keep both cores busy better than one run split across them; at most threads + 1 batches held
        pending: deque = deque()
        with ThreadPoolExecutor(self.threads) as pool:
            for rows, batch, mask in batches:
                pending.append((rows, pool.submit(self._run, batch, mask)))
                if len(pending) > self.threads:
                    done_rows, future = pending.popleft()
                    out[done_rows] = future.result()
            for done_rows, future in pending:
                out[done_rows] = future.result()
        return out

    def _run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        states = self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        summed = (states * mask[..., None]).sum(axis=1)
        vectors = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        return (vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)).astype(np.float32)
