"""Keyword search: BM25 over jieba tokens, kept per index segment as postings, scored with corpus-wide statistics.

Each segment stores its postings (term -> sorted chunk rows and term frequencies) and chunk lengths; a loaded
generation scores them with the statistics of its live chunks (document count, mean length, document frequencies),
so a segment written by an earlier ingest scores exactly as if the whole corpus had been indexed at once. The
formula is bm25s' default ("lucene": k1 1.5, b 0.75, idf log(1 + (N - df + 0.5) / (df + 0.5))), with its float32
arithmetic, so one segment gives bm25s' scores. A filtered query scores only the postings inside the slice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rag.index.tokenize import tokens

K1, B = 1.5, 0.75
EMPTY = "\u0000"
ARRAYS = (
    "indptr",
    "docs",
    "tf",
    "doclen",
)  # an empty chunk counts as one token that never matches (as bm25s needed it to)


@dataclass
class Postings:
    """One segment's inverted index: rows of term i are docs[indptr[i]:indptr[i+1]] (ascending), with their tf."""

    vocab: list[str]
    indptr: np.ndarray  # int64 (terms + 1)
    docs: np.ndarray  # int32 local chunk rows
    tf: np.ndarray  # float32 term frequencies
    doclen: np.ndarray  # int32 tokens per chunk (1 for an empty one)

    @classmethod
    def build(cls, chunk_tokens: list[list[str]]) -> Postings:
        term_ids: dict[str, int] = {}
        ids = [term_ids.setdefault(t, len(term_ids)) for toks in chunk_tokens for t in (toks or [EMPTY])]
        doclen = np.array([max(1, len(t)) for t in chunk_tokens], dtype=np.int64)
        rows = np.repeat(np.arange(len(chunk_tokens), dtype=np.int64), doclen)
        keys, tf = np.unique(np.asarray(ids, dtype=np.int64) * max(1, len(chunk_tokens)) + rows, return_counts=True)
        terms, docs = np.divmod(keys, max(1, len(chunk_tokens)))  # sorted by term, then row
        indptr = np.zeros(len(term_ids) + 1, dtype=np.int64)
        np.cumsum(np.bincount(terms, minlength=len(term_ids)), out=indptr[1:])
        return cls(list(term_ids), indptr, docs.astype(np.int32), tf.astype(np.float32), doclen.astype(np.int32))

    def save(self, folder: Path) -> None:
        (folder / "bm25-vocab.json").write_text(json.dumps(self.vocab, ensure_ascii=False), encoding="utf-8")
        (folder / "bm25").mkdir()
        for name in ARRAYS:
            np.save(folder / "bm25" / f"{name}.npy", getattr(self, name))

    @classmethod
    def load(cls, folder: Path) -> Postings:
        """The postings, memory-mapped (a filtered query reads a few pages of each posting list it uses)."""
        vocab = json.loads((folder / "bm25-vocab.json").read_text(encoding="utf-8"))
        arrays = {name: np.load(folder / "bm25" / f"{name}.npy", mmap_mode="r") for name in ARRAYS}
        return cls(vocab, **arrays)

    def term_index(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self.vocab)}


class KeywordIndex:
    """BM25 over the live chunks of a generation's segments. Positions are the generation's chunk positions.

    `segments`: (postings, term index, local_to_pos, live) per segment: local_to_pos maps each local chunk row to
    its position in the generation or -1 when the row is masked (its report was removed or replaced); `live` are
    the unmasked local rows, ascending; they take consecutive positions from local_to_pos[live[0]].
    """

    def __init__(self, segments: list[tuple[Postings, dict[str, int], np.ndarray, np.ndarray]], size: int):
        self._segments = segments
        self.size = size
        live_len = 0
        df: dict[str, int] = {}
        for postings, _, to_pos, _ in segments:
            live = to_pos >= 0
            live_len += int(postings.doclen[live].sum())
            if live.all():
                counts = np.diff(postings.indptr)
            else:
                hit = live[postings.docs].astype(np.int64)
                counts = np.add.reduceat(hit, postings.indptr[:-1]) if len(hit) else np.zeros(0, np.int64)
                counts[np.diff(postings.indptr) == 0] = 0
            for term, n in zip(postings.vocab, counts.tolist()):
                if n:
                    df[term] = df.get(term, 0) + n
        self._df = df
        self._avgdl = np.float64(live_len / size) if size else np.float64(1.0)

    def idf(self, term: str) -> float:
        """Inverse document frequency of a token over the live chunks (unknown tokens count as rare)."""
        n = self._df.get(term, 0)
        return float(np.log(1 + (self.size - n + 0.5) / (n + 0.5)))

    def _idf32(self, term: str) -> np.float32:
        n = self._df[term]
        return np.float32(np.log(1 + (self.size - n + 0.5) / (n + 0.5)))

    def scores(self, query: str | list[str], rows: np.ndarray | None = None) -> np.ndarray:
        """BM25 score of every live chunk (rows None) or of the given positions (ascending), in that order."""
        q = tokens(query) if isinstance(query, str) else query
        q = [t for t in q if t in self._df]
        out = np.zeros(self.size if rows is None else len(rows), dtype=np.float32)
        if not q or not len(out):
            return out
        idf = {t: self._idf32(t) for t in set(q)}
        for postings, terms, to_pos, live in self._segments:
            want = None if rows is None else _local_rows(rows, to_pos, live)
            if want is not None and not len(want[0]):
                continue
            for t in q:  # in query order, duplicates included, as bm25s sums them
                i = terms.get(t)
                if i is None:
                    continue
                lo, hi = int(postings.indptr[i]), int(postings.indptr[i + 1])
                docs, tf = postings.docs[lo:hi], postings.tf[lo:hi]
                if want is None:
                    pos = to_pos[docs]
                    keep = pos >= 0
                    docs, tf, target = docs[keep], tf[keep], pos[keep]
                else:
                    local, where = want
                    at = np.searchsorted(docs, local)
                    found = at < len(docs)
                    found[found] = docs[at[found]] == local[found]
                    docs, tf, target = local[found], tf[at[found]], where[found]
                if not len(docs):
                    continue
                norm = K1 * ((1 - B) + B * postings.doclen[docs].astype(np.float64) / self._avgdl)
                out[target] += (idf[t] * (tf / (norm + tf))).astype(np.float32)
        return out


def _local_rows(rows: np.ndarray, to_pos: np.ndarray, live: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(local rows of this segment among the positions `rows`, their indexes in `rows`)."""
    if not len(live):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    first = int(to_pos[live[0]])
    lo, hi = np.searchsorted(rows, first), np.searchsorted(rows, first + len(live))
    return live[rows[lo:hi] - first].astype(np.int64), np.arange(lo, hi)
