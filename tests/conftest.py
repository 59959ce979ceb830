"""Shared pytest fixtures: the loopback OpenAI server, and the sample corpus indexed once per session."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from openai_server import OpenAIServer

ROOT = Path(__file__).resolve().parents[1]
REPORTS = ROOT / "data" / "reports"


@pytest.fixture
def openai_server():
    """A scripted OpenAI-protocol server on loopback (see tests/openai_server.py)."""
    with OpenAIServer() as server:
        yield server


@pytest.fixture(scope="session")
def sample_data_dir(tmp_path_factory) -> Path:
    """A data dir holding the sample corpus ingested and indexed with the default model (built once)."""
    from rag import Settings
    from rag.index.build import update

    path = tmp_path_factory.getbasetemp() / "govqa-sample"
    if not (path / "index" / "CURRENT").exists():
        update(Settings(data_dir=path), [REPORTS])
    return path


@pytest.fixture(scope="session")
def assistant(sample_data_dir):
    """The Assistant over the sample index, shared read-only by the tests."""
    from rag import Assistant, Settings

    return Assistant.load(settings=Settings(data_dir=sample_data_dir))


@pytest.fixture
def private_data_dir(sample_data_dir, tmp_path) -> Path:
    """A copy of the sample data dir that a test may change (ingest, remove, break)."""
    dest = tmp_path / "data"
    shutil.copytree(sample_data_dir, dest)
    return dest
