"""Which index an eval config runs on: the main one when its embedding model matches, else one of its own."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import IndexError_
from rag.index.build import update
from rag.index.store import INDEX_FORMAT, current_generation
from rag.settings import Settings, default_reports_dir

from .config import safe_name


@dataclass
class EvalIndex:
    """The data dir an eval run reads, and whether (and how long) it took to build it now."""

    data_dir: Path
    built: bool = False
    build_seconds: float = 0.0


def index_manifest(data_dir: Path) -> dict | None:
    """The manifest of the current index generation under data_dir, or None when there is no usable index."""
    try:
        gen = current_generation(Path(data_dir) / "index")
        return json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    except (IndexError_, OSError, ValueError):
        return None


def own_data_dir(settings: Settings) -> Path:
    """Where an eval config whose embedding model or corpus differs from the main index keeps its own corpus and
    index: one folder per embedding model, and per reports folder when that is not the sample corpus."""
    name = safe_name(settings.embed_model)
    if settings.vector_store != "faiss":  # another vector backend (Milvus): an index of its own
        name += "-" + settings.vector_store
    if not _sample_corpus(settings):
        name += "-" + safe_name(Path(settings.reports_dir).name)
    return settings.data_dir / "eval" / "indexes" / name


def _sample_corpus(settings: Settings) -> bool:
    return Path(settings.reports_dir).resolve() == default_reports_dir().resolve()


def _fits(manifest: dict | None, settings: Settings, identity: str | None) -> bool:
    """The index was built with settings.embed_model and vector backend and, where it is known beforehand, the same
    identity (the e5 backend int8/fp32 changes it)."""
    if manifest is None or manifest.get("embed_model") != settings.embed_model:
        return False
    if manifest.get("format") != INDEX_FORMAT:  # built by an older version: rebuilt (vectors from the cache)
        return False
    backend = manifest.get("vectors", {}).get("backend", "faiss") if manifest.get("dim") else settings.vector_store
    if backend != settings.vector_store:  # GOVQA_VECTOR_STORE: FAISS or Milvus
        return False
    return identity is None or manifest.get("embed_identity") == identity


def ensure_index(settings: Settings, progress: bool = False) -> EvalIndex:
    """The main data dir when its index was built with settings.embed_model (and identity); otherwise
    data_dir/eval/indexes/<embed_model>, built from settings.reports_dir the first time and rebuilt (from its
    embedding cache, which keeps every identity's vectors) when the identity changed."""
    from rag.embedding.embed import known_identity

    identity = known_identity(settings)
    if _fits(index_manifest(settings.data_dir), settings, identity) and _sample_corpus(settings):
        return EvalIndex(settings.data_dir)
    own = own_data_dir(settings)
    if _fits(index_manifest(own), settings, identity):
        return EvalIndex(own)
    t0 = time.perf_counter()
    update(settings.model_copy(update={"data_dir": own}), [settings.reports_dir], progress=progress)
    return EvalIndex(own, built=True, build_seconds=time.perf_counter() - t0)
