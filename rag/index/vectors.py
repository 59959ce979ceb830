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

        sel = None
        if rows is not None and len(rows) < self.ntotal:
            k = min(k, len(rows))
            sel = faiss.IDSelectorBatch(np.asarray(rows, dtype=np.int64))
        return self.search_selected(qvec, k, sel)

    def search_selected(self, qvec: np.ndarray, k: int, sel=None) -> list[tuple[int, float]]:
        """(row, cosine) of the k nearest rows that `sel` (a FAISS IDSelector; None: every row) admits."""
        import faiss

        if k <= 0:
            return []
        params = faiss.SearchParameters(sel=sel) if sel is not None else None  # type: ignore[call-arg]  # faiss's wrapper takes fields as kwargs (keeping `sel` alive); its stub lacks them
        scores, ids = self.index.search(np.asarray(qvec, dtype=np.float32).reshape(1, -1), k, params=params)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]


class SegmentedVectors:
    """The dense backend of a segmented generation: one FAISS index per segment, searched over its live rows.

    `parts`: (FaissVectors, local_to_pos, live) per segment (see rag.index.bm25.KeywordIndex); positions are the
    generation's chunk positions. A slice (`rows`) is searched exactly with an ID selector per segment (a range
    selector when the slice is one run of rows); masked rows are never returned.
    """

    def __init__(self, parts: list[tuple[FaissVectors, np.ndarray, np.ndarray]]):
        import faiss

        self.parts = parts
        self.dim = parts[0][0].dim if parts else 0
        self._ntotal = sum(len(live) for _, _, live in parts)
        self._live_sel: list[
            tuple | None
        ] = []  # a bitmap selector for a segment with masked rows (None when all its rows are live)
        for vec, _, live in parts:
            if len(live) == vec.ntotal:
                self._live_sel.append(None)
                continue
            mask = np.zeros(vec.ntotal, dtype=bool)
            mask[live] = True
            bits = np.packbits(mask, bitorder="little")
            self._live_sel.append((faiss.IDSelectorBitmap(vec.ntotal, faiss.swig_ptr(bits)), bits))

    @property
    def ntotal(self) -> int:
        return self._ntotal

    def search(self, qvec: np.ndarray, k: int, rows: np.ndarray | None = None) -> list[tuple[int, float]]:
        found: list[tuple[int, float]] = []
        for (vec, to_pos, live), sel in zip(self.parts, self._live_sel):
            if not len(live):
                continue
            if rows is None:
                local = None
            else:
                first = int(to_pos[live[0]])
                lo, hi = np.searchsorted(rows, first), np.searchsorted(rows, first + len(live))
                if lo == hi:
                    continue
                local = live[rows[lo:hi] - first] if hi - lo < len(live) else None
            found.extend((int(to_pos[i]), s) for i, s in _search_local(vec, qvec, k, local, sel))
        found.sort(key=lambda x: (-x[1], x[0]))  # ties by position, however many segments (so a compaction
        return found[:k]  # that keeps the positions' order changes no ranking)


def _search_local(vec: FaissVectors, qvec: np.ndarray, k: int, local: np.ndarray | None, live_sel):
    """Search one segment: its live rows (local None), or the given local rows (ascending)."""
    import faiss

    if local is None:
        if live_sel is None:
            return vec.search(qvec, k)
        sel, k = live_sel[0], min(k, int(vec.ntotal))
    elif len(local) == local[-1] - local[0] + 1:
        sel = faiss.IDSelectorRange(int(local[0]), int(local[-1]) + 1)
    else:
        sel = faiss.IDSelectorBatch(np.asarray(local, dtype=np.int64))
    if local is not None:
        k = min(k, len(local))
    return vec.search_selected(qvec, k, sel)
