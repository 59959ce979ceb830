"""The dense-vector backend seam: one narrow interface the retriever searches, whatever stores the vectors.

A backend answers one question: the chunks nearest a question vector, optionally only among the chunks of
given reports (the plan's region/year slice). Rows are chunk positions of the loaded index (row i =
``LoadedIndex.chunks[i]``). FAISS (default, in the index generation) implements it here; other backends
(Milvus) implement the same methods, chosen by ``GOVQA_VECTOR_STORE``.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class VectorSearch(Protocol):
    """What the retriever needs from a vector backend.

    Optional, looked up with getattr (Milvus has them, FAISS not): `keyword_search(query_tokens, k, rows)` → the
    backend's own BM25 ranking [(row, score)], or None to use the index's local BM25; `fused_search(qvec,
    query_tokens, k, rrf_k, rows)` → a ranking fused by the backend that replaces the retriever's fusion, or None;
    `configure(keyword_mode)` → take the keyword mode of the Assistant's settings.
    """

    dim: int

    @property
    def ntotal(self) -> int:
        """Number of chunk rows the backend holds."""
        ...

    def search(self, qvec: np.ndarray, k: int, rows: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(row, cosine) of the k nearest chunks, best first; `rows` (int64 chunk positions) restricts the search."""
        ...


class FaissVectors:
    """A FAISS index of L2-normalised vectors (inner product = cosine); a filter is an exact ID selector."""

    def __init__(self, index):
        self.index = index
        self.dim = int(index.d)

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    def search(self, qvec: np.ndarray, k: int, rows: np.ndarray | None = None) -> list[tuple[int, float]]:
        import faiss

        params = None
        if rows is not None and len(rows) < self.ntotal:
            k = min(k, len(rows))
            params = faiss.SearchParameters(sel=faiss.IDSelectorBatch(np.asarray(rows, dtype=np.int64)))  # type: ignore[call-arg]  # faiss's wrapper takes fields as kwargs (keeping `sel` alive); its stub lacks them
        if k <= 0:
            return []
        scores, ids = self.index.search(np.asarray(qvec, dtype=np.float32).reshape(1, -1), k, params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]
