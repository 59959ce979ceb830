"""Shared pytest fixtures."""
from __future__ import annotations

import pytest

from openai_server import OpenAIServer


@pytest.fixture
def openai_server():
    """A scripted OpenAI-protocol server on loopback (see tests/openai_server.py)."""
    with OpenAIServer() as server:
        yield server
