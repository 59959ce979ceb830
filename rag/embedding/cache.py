"""Passage embeddings cached on disk by sha256 of the text, one file per model identity."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import time
from pathlib import Path

import numpy as np

from ingest.errors import IndexError_, LimitError
from rag.embedding.embed import Embedder

log = logging.getLogger(__name__)


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def cache_file(folder: Path, identity: str) -> Path:
    """The cache file of one identity: a readable slug plus a hash, so distinct identities never share one."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", identity)[:60].strip("_")
    return Path(folder) / f"{slug}-{hashlib.sha256(identity.encode()).hexdigest()[:12]}.npz"


class EmbeddingCache:
    """sha256(passage) -> vector for one model identity, stored as one .npz (keys + float32 matrix).

    Saved atomically (temp file + os.replace) every `flush_every` newly embedded texts and at the end of
    each call that embedded something, so a killed build keeps what it embedded so far and the next one
    resumes there. A cache
    file that cannot be read, or that was written for another identity or dimension, is treated as
    empty and rebuilt (a warning is logged): it only holds derived data. Entries are never evicted.
    Counters: `hits`/`misses` over the object's life, `last_hits`/`last_misses` for the last call;
    a miss is one distinct text that had to be embedded.
    """

    def __init__(
        self,
        path: Path,
        identity: str,
        dim: int,
        flush_every: int = 128,
        deadline: float | None = None,
        deadline_setting: str = "",
    ):
        self.deadline = deadline  # time.monotonic() after which embedding stops (LimitError); what is done is kept
        self.deadline_setting = deadline_setting  # the setting that set it, named in the error
        self.path = cache_file(path, identity)
        self.identity = identity
        self.dim = dim
        self.flush_every = max(1, int(flush_every))
        self.hits = self.misses = self.last_hits = self.last_misses = 0
        self._keys: list[str] = []
        self._vectors = np.zeros((0, dim), np.float32)
        self._load()
        self._row = {key: i for i, key in enumerate(self._keys)}

    def __len__(self) -> int:
        return len(self._keys)

    def _load(self) -> None:
        if not self.path.exists():
            return
        try:
            with np.load(self.path, allow_pickle=False) as data:
                identity = str(data["identity"])
                keys = [str(k) for k in data["keys"]]
                vectors = np.asarray(data["vectors"], dtype=np.float32)
        except Exception as exc:
            log.warning("embedding cache %s is unreadable (%s); rebuilding it", self.path, exc)
            return
        if identity != self.identity or vectors.shape != (len(keys), self.dim):
            log.warning(
                "embedding cache %s belongs to %r (shape %s); rebuilding it for %r",
                self.path,
                identity,
                vectors.shape,
                self.identity,
            )
            return
        self._keys, self._vectors = keys, vectors

    def embed(self, texts: list[str], embedder: Embedder, progress: bool = False) -> np.ndarray:
        """Vectors (len(texts), dim) for texts; only texts not seen before are sent to the embedder."""
        if embedder.identity != self.identity or embedder.dim != self.dim:
            raise IndexError_(
                f"embedding cache is for {self.identity!r} ({self.dim} dims), "
                f"not {embedder.identity!r} ({embedder.dim} dims)",
                path=str(self.path),
                fix="open the cache with the embedder's identity and dim",
            )
        keys = [text_key(t) for t in texts]
        missing: dict[str, str] = {}
        for key, text in zip(keys, texts):
            if key not in self._row and key not in missing:
                missing[key] = text
        if missing:
            self._embed_missing(missing, embedder, progress)
        self.last_misses = len(missing)
        self.last_hits = sum(1 for key in keys if key not in missing)
        self.misses += self.last_misses
        self.hits += self.last_hits
        if not keys:
            return np.zeros((0, self.dim), np.float32)
        return self._vectors[[self._row[key] for key in keys]]

    def _embed_missing(self, missing: dict[str, str], embedder: Embedder, progress: bool) -> None:
        """Embed the missing texts in slices of `flush_every`, saving the cache after each slice.

        Shortest first: each slice then holds texts of similar length, so an embedder that pads a batch to its
        longest text (all of them) wastes little; the order of the rows in the cache does not matter."""
        items = sorted(missing.items(), key=lambda item: len(item[1]))
        bar = None
        if progress:
            from tqdm import tqdm

            bar = tqdm(total=len(items), desc="embed", unit="text")
        try:
            for start in range(0, len(items), self.flush_every):
                if self.deadline is not None and time.monotonic() > self.deadline:
                    raise LimitError(
                        f"stopped at the time limit ({self.deadline_setting or 'deadline'}): {start} of {len(items)} "
                        "new texts were embedded and are kept in the embedding cache",
                        path=str(self.path),
                        fix="run it again to continue where it stopped, ingest it with `govqa "
                        f"ingest` (no time limit), or raise {self.deadline_setting or 'the limit'}",
                    )
                part = items[start : start + self.flush_every]
                new = np.asarray(embedder.embed_passages([t for _, t in part], progress=False), np.float32)
                if new.shape != (len(part), self.dim):
                    raise IndexError_(
                        f"embedder returned shape {new.shape}, expected ({len(part)}, {self.dim})",
                        path=str(self.path),
                        fix="check the embedding model",
                    )
                for key, _ in part:
                    self._row[key] = len(self._keys)
                    self._keys.append(key)
                self._vectors = np.concatenate([self._vectors, new])
                self._save()
                if bar is not None:
                    bar.update(len(part))
        finally:
            if bar is not None:
                bar.close()

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(
                    fh, identity=np.array(self.identity), keys=np.array(self._keys, dtype="U64"), vectors=self._vectors
                )
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
