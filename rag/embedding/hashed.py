"""A small deterministic embedder without model weights: hashed character n-grams (GOVQA_EMBED_MODEL=hashed).

Each text becomes the counts of its character 1-, 2- and 3-grams (after NFKC folding, so full-width and
half-width forms agree), hashed into `dim` signed buckets by scikit-learn's `HashingVectorizer` (MurmurHash3,
the same on every machine and run) and L2-normalised. It loads in milliseconds and embeds thousands of
passages a second, so the tests of citations, refusals, verification, streaming, the CLI and the UI build
and query real indexes with it, and it works on a machine with no model at all. It only sees shared
characters — no paraphrase ("GDP" and "生产总值" share nothing) — so retrieval and answer quality are judged
with e5, not with it.
"""

from __future__ import annotations

import unicodedata

import numpy as np

from rag.embedding.embed import Embedder, _normalise

NAME = "hashed"
VERSION = 1  # bump when the featurisation changes: the identity keys the index and the embedding cache


class HashedNgramEmbedder(Embedder):
    """Character 1-3-grams hashed into `dim` dimensions; the same vectors for queries and passages."""

    def __init__(self, dim: int = 512, ngrams: tuple[int, int] = (1, 3)):
        from sklearn.feature_extraction.text import HashingVectorizer

        self.name = NAME
        self.dim = dim
        self.identity = f"{NAME}:char{ngrams[0]}-{ngrams[1]}:{dim}:v{VERSION}"
        self._vectorizer = HashingVectorizer(
            analyzer="char",
            ngram_range=ngrams,
            n_features=dim,
            alternate_sign=True,
            norm=None,
            lowercase=True,
            preprocessor=_fold,
        )

    def embed_passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        return _normalise(self._vectorizer.transform(list(texts)).toarray())

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_passages([text])[0]


def _fold(text: str) -> str:
    """NFKC (full-width letters and digits → ASCII) and lower case, whitespace runs → one space."""
    return " ".join(unicodedata.normalize("NFKC", text).lower().split())
