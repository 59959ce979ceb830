"""Searching a Milvus collection as the retriever's vector backend (rag.index.vectors.VectorSearch).

Rows are chunk positions of the loaded generation (row i = LoadedIndex.chunks[i]); Milvus knows chunks by id, so
ids map to rows and back. A rows filter (always the chunks of a set of reports: the plan's region/year slice)
becomes `report_id in [...]` (report_id is the partition key, so Milvus prunes partitions); a filter that is not
whole reports becomes `chunk_id in [...]`. Hits on chunks this generation does not hold (a writer synced a newer
corpus since it was loaded) are dropped.

Besides the dense search (the VectorSearch interface), the backend offers `keyword_search`: Milvus's own BM25
ranking (jieba analyzer; Milvus returns BM25 scores negated, this returns them positive; IDF is per segment), or
None when the collection has no BM25 field (server before 2.5, or GOVQA_MILVUS_KEYWORD=local): the retriever then
uses the index's local BM25. With GOVQA_MILVUS_KEYWORD=hybrid, `fused_search` returns the chunk ranking of
Milvus's hybrid_search (dense + BM25, RRFRanker) which then replaces the retriever's own fusion.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ingest.model import Chunk
from rag.index.milvus_store import (
    DENSE,
    ID_FIELD,
    REPORT_FIELD,
    SPARSE,
    MilvusTarget,
    _quoted,
    connect,
    has_keyword_field,
    is_lite,
    open_collection,
)

MAX_LIMIT = 16384  # Milvus's largest topk


class MilvusVectors:
    """The dense (and BM25) search of one generation's chunks in a Milvus collection."""

    def __init__(self, target: MilvusTarget, chunks: Sequence[Chunk], dim: int, client=None):
        self.target = target
        self.dim = int(dim)
        self.client = client if client is not None else connect(target)
        open_collection(self.client, target, self.dim)  # loads the collection (needed after every reopen)
        self._ids = [c.id for c in chunks]
        self._row = {cid: i for i, cid in enumerate(self._ids)}
        self._report = np.array([c.report_id for c in chunks], dtype=object)
        self._report_rows: dict[str, int] = {}
        for rid in self._report:
            self._report_rows[rid] = self._report_rows.get(rid, 0) + 1
        self._bm25 = has_keyword_field(self.client, target.collection)
        self.configure(target.keyword)

    def configure(self, keyword: str) -> None:
        """Set the keyword ranking (GOVQA_MILVUS_KEYWORD); 'local' when the collection has no BM25 field."""
        self.keyword_mode = keyword if self._bm25 else "local"

    @property
    def ntotal(self) -> int:
        return len(self._row)

    def _filter(self, rows: np.ndarray | None) -> str:
        if rows is None:
            return ""
        rows = np.asarray(rows, dtype=np.int64)
        reports, counts = np.unique(self._report[rows], return_counts=True)
        if all(self._report_rows[r] == n for r, n in zip(reports, counts)):
            return f"{REPORT_FIELD} in {_quoted([str(r) for r in reports])}"
        return f"{ID_FIELD} in {_quoted([self._ids[int(i)] for i in rows])}"

    def _hits(self, result, negate: bool = False) -> list[tuple[int, float]]:
        out = []
        for hit in result[0]:
            row = self._row.get(hit.get(ID_FIELD) or hit.get("id"))  # the primary key: by name, or "id" (Milvus 2.3)
            if row is not None:
                out.append((row, -float(hit["distance"]) if negate else float(hit["distance"])))
        return out

    def _limit(self, k: int, rows: np.ndarray | None) -> int:
        return min(k, MAX_LIMIT, len(rows) if rows is not None else MAX_LIMIT)

    def search(self, qvec: np.ndarray, k: int, rows: np.ndarray | None = None) -> list[tuple[int, float]]:
        """(row, cosine) of the k nearest chunks, best first; `rows` restricts the search."""
        limit = self._limit(k, rows)
        if limit <= 0:
            return []
        result = self.client.search(
            self.target.collection,
            data=[np.asarray(qvec, dtype=np.float32).reshape(-1).tolist()],
            anns_field=DENSE,
            limit=limit,
            filter=self._filter(rows),
            search_params={"metric_type": "IP"},
        )
        return self._hits(result)

    def keyword_search(self, query_tokens: list[str], k: int, rows: np.ndarray | None = None):
        """(row, BM25 score) by Milvus's BM25, best first; None when the retriever should use its local BM25."""
        if self.keyword_mode != "milvus" or not query_tokens:
            return None if self.keyword_mode != "milvus" else []
        limit = self._limit(k, rows)
        if limit <= 0:
            return []
        result = self.client.search(
            self.target.collection,
            data=[" ".join(query_tokens)],
            anns_field=SPARSE,
            limit=limit,
            filter=self._filter(rows),
            search_params={"metric_type": "BM25"},
        )
        hits = self._hits(result, negate=True)  # Milvus returns BM25 scores negated (smaller = better)
        return [(row, score) for row, score in hits if score > 0]

    def fused_search(self, qvec: np.ndarray, query_tokens: list[str], k: int, rrf_k: int, rows=None):
        """(row, RRF score) of Milvus's hybrid_search (dense + BM25, RRFRanker(rrf_k)); None unless keyword=hybrid."""
        if self.keyword_mode != "hybrid":
            return None
        from pymilvus import AnnSearchRequest, RRFRanker

        limit = self._limit(k, rows)
        if limit <= 0:
            return []
        expr = self._filter(rows)
        requests = [
            AnnSearchRequest(
                data=[np.asarray(qvec, dtype=np.float32).reshape(-1).tolist()],
                anns_field=DENSE,
                param={"metric_type": "IP"},
                limit=limit,
                expr=expr,
            )
        ]
        if query_tokens:
            requests.append(
                AnnSearchRequest(
                    data=[" ".join(query_tokens)],
                    anns_field=SPARSE,
                    param={"metric_type": "BM25"},
                    limit=limit,
                    expr=expr,
                )
            )
        result = self.client.hybrid_search(self.target.collection, requests, ranker=RRFRanker(rrf_k), limit=limit)
        return self._hits(result)


def open_milvus_vectors(entry: dict, chunks: Sequence[Chunk], dim: int, gen: Path, settings=None) -> MilvusVectors:
    """The backend a generation manifest's "vectors" entry names (a relative lite file: in the data dir holding the
    generation `gen`, <data_dir>/index/gen-…); the token and keyword mode come from settings."""
    from rag.settings import load_settings

    settings = settings or load_settings()
    token = settings.milvus_token.get_secret_value() if settings.milvus_token else ""
    uri = entry["uri"]
    if is_lite(uri) and not Path(uri).is_absolute():
        uri = str((Path(gen).resolve().parent.parent / uri).resolve())
    target = MilvusTarget(uri, entry["collection"], token, entry.get("index", "FLAT"), settings.milvus_keyword)
    return MilvusVectors(target, chunks, dim)
