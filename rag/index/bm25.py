"""Keyword search: BM25 (bm25s) over jieba tokens, scoring every chunk so callers can filter."""

from __future__ import annotations

import numpy as np

from rag.index.tokenize import tokens


class KeywordIndex:
    """BM25 over pre-tokenised chunks; `scores(query)` returns one score per chunk."""

    def __init__(self, chunk_tokens: list[list[str]]):
        import bm25s

        self._bm25 = bm25s.BM25()
        # An empty document would break bm25s' vocabulary; give it a token that never matches.
        self._bm25.index([t or ["\u0000"] for t in chunk_tokens], show_progress=False)
        self.size = len(chunk_tokens)
        df: dict[str, int] = {}
        for toks in chunk_tokens:
            for t in set(toks):
                df[t] = df.get(t, 0) + 1
        self._df = df

    def idf(self, term: str) -> float:
        """Inverse document frequency of a token over the indexed chunks (unknown tokens count as rare)."""
        n = self._df.get(term, 0)
        return float(np.log(1 + (self.size - n + 0.5) / (n + 0.5)))

    def scores(self, query: str | list[str]) -> np.ndarray:
        q = tokens(query) if isinstance(query, str) else query
        vocab = self._bm25.vocab_dict
        q = [t for t in q if t in vocab]
        if not q:
            return np.zeros(self.size, dtype=np.float32)
        return np.asarray(self._bm25.get_scores(q), dtype=np.float32)
