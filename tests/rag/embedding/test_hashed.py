"""The hashed character n-gram embedder: deterministic, normalised, selected by GOVQA_EMBED_MODEL=hashed."""

from __future__ import annotations

import subprocess
import sys

import numpy as np

from rag import Settings
from rag.embedding.embed import load_embedder
from rag.embedding.hashed import HashedNgramEmbedder

PASSAGES = ["经济社会发展主要预期目标是:地区生产总值增长5.5%以上", "植树造林，营造林面积10万亩", "", "ＧＤＰ增长６％"]


def test_selected_by_the_embed_model_setting(tmp_path):
    embedder = load_embedder(Settings(data_dir=tmp_path, embed_model="hashed"))
    assert isinstance(embedder, HashedNgramEmbedder)
    assert embedder.name == "hashed" and embedder.identity.startswith("hashed:") and embedder.dim == 512


def test_vectors_are_float32_unit_length_and_zero_for_empty_text():
    vectors = HashedNgramEmbedder().embed_passages(PASSAGES)
    assert vectors.shape == (4, 512) and vectors.dtype == np.float32
    norms = np.linalg.norm(vectors, axis=1)
    assert np.allclose(norms[[0, 1, 3]], 1.0, atol=1e-5) and norms[2] == 0.0
    assert HashedNgramEmbedder().embed_passages([]).shape == (0, 512)


def test_the_same_text_gets_the_same_vector_in_another_process():
    here = HashedNgramEmbedder().embed_query(PASSAGES[0])
    code = (
        "import sys; from rag.embedding.hashed import HashedNgramEmbedder as H; "
        f"sys.stdout.write(' '.join(map(repr, H().embed_query({PASSAGES[0]!r}).tolist())))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert np.array_equal(here, np.array([float(x) for x in out.split()], dtype=np.float32))


def test_shared_characters_rank_the_right_passage_first():
    e = HashedNgramEmbedder()
    passages = e.embed_passages(PASSAGES[:2])
    assert int(np.argmax(passages @ e.embed_query("地区生产总值增长目标"))) == 0
    assert int(np.argmax(passages @ e.embed_query("营造林面积"))) == 1


def test_full_width_and_half_width_forms_agree():
    e = HashedNgramEmbedder()
    assert float(e.embed_query("ＧＤＰ增长６％") @ e.embed_query("gdp增长6%")) > 0.999
