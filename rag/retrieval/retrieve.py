"""Hybrid retrieval: FAISS dense search and BM25 fused by reciprocal rank, filtered to the question's reports."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rag.index.store import LoadedIndex
from rag.index.tokenize import load_dictionary, tokens
from rag.retrieval.plan import Group, QueryPlan, plan_query
from rag.retrieval.synonyms import expand
from rag.types import Hit

CANDIDATES = 60  # chunks taken from each ranking before fusion


@dataclass
class Retrieval:
    """The plan for a question and the paragraphs found for each of its groups."""

    plan: QueryPlan
    groups: list[tuple[Group, list[Hit]]]
    qvec: np.ndarray | None = None  # the question's vector (None in BM25-only mode)

    @property
    def hits(self) -> list[Hit]:
        seen, out = set(), []
        for _, hits in self.groups:
            for h in hits:
                if h.id not in seen:
                    seen.add(h.id)
                    out.append(h)
        return out


class Retriever:
    """Searches one loaded index with one embedder (None: BM25 only); fusion values come from Settings."""

    def __init__(
        self,
        index: LoadedIndex,
        embedder,
        fusion: str,
        rrf_k: int,
        dense_weight: float,
        bm25_weight: float,
        places=(),
        threads: int = 0,
    ):
        """`threads`: OpenMP threads FAISS may use (0: leave FAISS's default)."""
        self.index = index
        self.embedder = embedder
        self.fusion = fusion if embedder is not None else "bm25"
        self.rrf_k, self.dense_weight, self.bm25_weight = rrf_k, dense_weight, bm25_weight
        self.places = tuple(places)
        self._reports = {r.id: r for r in index.corpus.reports}
        if threads:
            import faiss

            faiss.omp_set_num_threads(threads)
        load_dictionary()

    def retrieve(self, question: str, k: int = 5, region: str | None = None, year: int | None = None) -> Retrieval:
        """Plan the question against the catalogue, then search each group separately."""
        plan = plan_query(question, self.index.corpus, region=region, year=year, places=self.places)
        qvec = self._embed_query(question) if plan.groups and self.fusion != "bm25" else None
        qtok = tokens(question)
        qtok = qtok + tokens(expand(qtok))
        return Retrieval(plan, [(g, self.search(qvec, qtok, g.report_ids, k)) for g in plan.groups], qvec)

    def _embed_query(self, question: str) -> np.ndarray:
        return np.asarray(self.embedder.embed_query(question), dtype=np.float32)

    def search(self, qvec, qtok: list[str], report_ids: list[str], k: int) -> list[Hit]:
        """Top-k paragraphs of the given reports by fused dense and keyword rank."""
        allowed = self._rows(report_ids)
        if len(allowed) == 0:
            return []
        rows = None if len(allowed) == len(self.index.chunks) else allowed  # None: every chunk
        dense_hits = self._dense(qvec, rows) if qvec is not None else []
        dense_score = dict(dense_hits)
        bm25_hits = self._backend_keyword(qtok, rows) if qvec is not None else None  # Milvus's own BM25
        if bm25_hits is None:
            bm25 = self.index.keyword.scores(qtok, rows)
            bm25_hits = [(int(allowed[i]), float(bm25[i])) for i in _top(bm25, CANDIDATES)]
        bm25_score = dict(bm25_hits)

        # Fuse at the paragraph level (the unit cited): a paragraph ranks in each list by its best chunk.
        fused: dict[tuple[str, int], float] = {}
        best_chunk: dict[tuple[str, int], int] = {}
        rankings = [
            (dense_hits, self.dense_weight, self.fusion in ("rrf", "dense")),
            (bm25_hits, self.bm25_weight, self.fusion in ("rrf", "bm25")),
        ]
        fused_by_backend = self._backend_fused(qvec, qtok, rows) if self.fusion == "rrf" else None
        if fused_by_backend is not None:  # GOVQA_MILVUS_KEYWORD=hybrid: Milvus's RRF ranking replaces this fusion
            rankings = [(fused_by_backend, 1.0, True)]
        for ranked_chunks, weight, used in rankings:
            if not used:
                continue
            for rank, (key, pos) in enumerate(self._paragraph_order(ranked_chunks)):
                fused[key] = fused.get(key, 0.0) + weight / (self.rrf_k + rank + 1)
                best_chunk.setdefault(key, pos)
        ranked = sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
        hits = []
        for (report_id, number), score in ranked:
            pos = best_chunk[(report_id, number)]
            report = self._reports[report_id]
            para = report.paragraph(number)
            chunk = self.index.chunks[pos]
            hits.append(
                Hit(
                    report_id,
                    report.region,
                    report.short,
                    report.year,
                    number,
                    para.section,
                    para.text,
                    float(score),
                    dense_score.get(pos),
                    bm25_score.get(pos),
                    chunk.text if chunk.text != para.text else None,
                )
            )
        return hits

    def _paragraph_order(self, ranked_chunks: list[tuple[int, float]]) -> list[tuple[tuple[str, int], int]]:
        """(paragraph key, its best chunk) in the order of a chunk ranking, each paragraph once."""
        seen: dict[tuple[str, int], int] = {}
        for pos, _ in ranked_chunks:
            seen.setdefault(self.index.chunks.paragraph_key(pos), pos)
        return list(seen.items())

    def _rows(self, report_ids: list[str]) -> np.ndarray:
        """The chunk positions of the given reports (precomputed spans per report), ascending."""
        layout = self.index.layout
        if layout is None:  # an index object without a layout: every chunk's report compared
            ids = np.array([c.report_id for c in self.index.chunks], dtype=object)
            return np.flatnonzero(np.isin(ids, report_ids))
        return layout.rows_of(report_ids)

    def _backend_keyword(self, qtok: list[str], rows: np.ndarray | None) -> list[tuple[int, float]] | None:
        """The vector backend's own BM25 ranking (Milvus), or None: use the index's local BM25."""
        search = getattr(self.index.vectors, "keyword_search", None)
        return None if search is None else search(qtok, CANDIDATES, rows)

    def _backend_fused(self, qvec, qtok: list[str], rows: np.ndarray | None) -> list[tuple[int, float]] | None:
        """The vector backend's own fused ranking (Milvus hybrid_search + RRF), or None: fuse here."""
        search = getattr(self.index.vectors, "fused_search", None)
        return None if search is None or qvec is None else search(qvec, qtok, CANDIDATES, self.rrf_k, rows)

    def _dense(self, qvec: np.ndarray, rows: np.ndarray | None) -> list[tuple[int, float]]:
        vectors = self.index.vectors
        if vectors is None:  # a BM25-only index: nothing to search densely (was an AttributeError)
            raise RuntimeError("dense search on an index without vectors (BM25-only mode)")
        return vectors.search(qvec, CANDIDATES, rows)


def _top(scores: np.ndarray, k: int) -> np.ndarray:
    """Indexes of the k highest positive scores, best first, ties in index order (the positive head of a stable
    sort of all, without sorting all: over a million chunks most scores are 0)."""
    idx = np.flatnonzero(scores > 0)
    if len(idx) > 4 * k:
        cut = np.partition(scores[idx], len(idx) - k)[len(idx) - k]
        idx = idx[scores[idx] >= cut]
    return idx[np.argsort(-scores[idx], kind="stable")][:k]
