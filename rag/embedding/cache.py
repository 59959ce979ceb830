"""Passage embeddings cached on disk by sha256 of the text: per model identity, a main file and append-only shards."""

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


SHARD_SUFFIX = ".part.npz"
MAX_SHARDS = 64  # past this many shards, the cache is merged into its main file at the end of a call


def cache_file(folder: Path, identity: str) -> Path:
    """The main cache file of one identity: a readable slug plus a hash, so distinct identities never share one."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", identity)[:60].strip("_")
    return Path(folder) / f"{slug}-{hashlib.sha256(identity.encode()).hexdigest()[:12]}.npz"


def cache_files(folder: Path, identity: str) -> list[Path]:
    """Every file holding vectors of the identity: the main file (if any), then its shards in the order written."""
    main = cache_file(folder, identity)
    shards = sorted(main.parent.glob(f"{main.stem}.*{SHARD_SUFFIX}")) if main.parent.is_dir() else []
    return ([main] if main.exists() else []) + shards


class EmbeddingCache:
    """sha256(passage) -> vector for one model identity, stored as a main .npz (keys + float32 matrix) and shards.

    Each slice of `flush_every` newly embedded texts is written as a new shard holding only those texts (temp file
    + os.replace, under a name no other writer uses), so a killed build keeps what it embedded so far, the next one
    resumes there, and saving costs what was embedded, not the size of the cache (a cache of a million passages is
    never rewritten per slice). Past MAX_SHARDS shards, a call that embedded something merges them into the main
    file and removes the shards it merged. A file that cannot be read, or that was written for another identity or
    dimension, is skipped with a warning: it only holds derived data, re-embedded when needed. Entries are never
    evicted. Counters: `hits`/`misses` over the object's life, `last_hits`/`last_misses` for the last call; a miss
    is one distinct text that had to be embedded.
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
        self._chunks: list[np.ndarray] = []  # vectors, one array per file read or slice embedded
        self._starts: list[int] = []  # the first row of each chunk
        self._row: dict[str, int] = {}
        self._shards: list[Path] = []  # the shards read or written: merged into the main file past MAX_SHARDS
        self._written = 0  # shards this object wrote (part of their names)
        for file in cache_files(Path(path), identity):
            self._load(file)

    def __len__(self) -> int:
        return len(self._keys)

    def _load(self, file: Path) -> None:
        try:
            with np.load(file, allow_pickle=False) as data:
                identity = str(data["identity"])
                keys = [str(k) for k in data["keys"]]
                vectors = np.asarray(data["vectors"], dtype=np.float32)
        except Exception as exc:
            log.warning("embedding cache file %s is unreadable (%s); its texts will be embedded again", file, exc)
            return
        if identity != self.identity or vectors.shape != (len(keys), self.dim):
            log.warning(
                "embedding cache file %s belongs to %r (shape %s), not %r; skipped",
                file,
                identity,
                vectors.shape,
                self.identity,
            )
            return
        if file != self.path:
            self._shards.append(file)
        self._add(keys, vectors)

    def _add(self, keys: list[str], vectors: np.ndarray) -> None:
        fresh = [i for i, key in enumerate(keys) if key not in self._row]
        if len(fresh) < len(keys):  # the same text in two files (two writers embedded it): the first one stands
            keys, vectors = [keys[i] for i in fresh], vectors[fresh]
        if not keys:
            return
        self._starts.append(len(self._keys))
        self._chunks.append(vectors)
        for key in keys:
            self._row[key] = len(self._keys)
            self._keys.append(key)

    def _rows(self, rows: list[int]) -> np.ndarray:
        """The vectors of global rows, gathered chunk by chunk."""
        out = np.empty((len(rows), self.dim), np.float32)
        at = np.asarray(rows, np.int64)
        which = np.searchsorted(np.asarray(self._starts), at, side="right") - 1
        for c in np.unique(which):
            mask = which == c
            out[mask] = self._chunks[c][at[mask] - self._starts[c]]
        return out

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
            if len(self._shards) > MAX_SHARDS:
                self._merge()
        self.last_misses = len(missing)
        self.last_hits = sum(1 for key in keys if key not in missing)
        self.misses += self.last_misses
        self.hits += self.last_hits
        if not keys:
            return np.zeros((0, self.dim), np.float32)
        return self._rows([self._row[key] for key in keys])

    def _embed_missing(self, missing: dict[str, str], embedder: Embedder, progress: bool) -> None:
        """Embed the missing texts in slices of `flush_every`, writing a shard after each slice.

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
                keys = [key for key, _ in part]
                self._add(keys, new)
                self._shards.append(self._write(self._shard_name(), keys, new))
                if bar is not None:
                    bar.update(len(part))
        finally:
            if bar is not None:
                bar.close()

    def _shard_name(self) -> Path:
        """A name no other writer uses (time, process, a counter), sorting in the order written."""
        self._written += 1
        return self.path.with_name(
            f"{self.path.stem}.{time.time_ns():020d}-{os.getpid()}-{self._written}{SHARD_SUFFIX}"
        )

    def _merge(self) -> None:
        """Write every entry into the main file, then remove the shards it now holds (other writers' newer ones stay)."""
        merged = list(self._shards)
        self._write(self.path, self._keys, self._rows(list(range(len(self._keys)))))
        for shard in merged:
            shard.unlink(missing_ok=True)
        self._shards = []

    def _write(self, target: Path, keys: list[str], vectors: np.ndarray) -> Path:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, identity=np.array(self.identity), keys=np.array(keys, dtype="U64"), vectors=vectors)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return target
