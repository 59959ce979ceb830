"""`govqa ask` through the typer app: plain text, --json, --stream, and a refusal."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cli import app
from rag.answering.prompts import REFUSAL

QUESTION = "济南2024年GDP增长目标是多少?"


@pytest.fixture
def run(sample_env):
    env = {**sample_env, "GOVQA_ANSWERER": "extractive", "GOVQA_LLM_BASE_URL": ""}

    def invoke(*args: str):
        result = CliRunner().invoke(app, ["ask", *args], env=env)
        assert result.exit_code == 0, result.output
        return result.stdout  # stderr carries the model loading progress

    return invoke


def test_ask_prints_answer_and_cited_paragraphs(run, assistant):
    """The CLI prints the API's answer, then every cited paragraph whole under its mark (which answer it is
    is judged with e5 in tests/rag/answering/test_answer.py)."""
    out = run(QUESTION)
    ans = assistant.ask(QUESTION)
    assert ans.citations and out.startswith(ans.text + "\n")
    for c in ans.citations:
        assert out.count(c.mark) >= 2  # in the answer and as the heading of the cited paragraph
        assert f"  {c.text}" in out and len(c.text) > len(c.quote)  # the whole paragraph, not only the quote


def test_ask_json_has_the_answer_fields(run, assistant):
    data = json.loads(run(QUESTION, "--json"))
    ans = assistant.ask(QUESTION)
    assert data["text"] == ans.text and data["refused"] is False and data["answerer"] == "extractive"
    [c] = data["citations"]
    assert c["mark"] == ans.citations[0].mark and (c["region"], c["year"]) == ("济南市", 2024)
    assert isinstance(c["paragraph"], int) and c["quote"] in c["text"] and c["section"]
    assert data["contexts"] and all(isinstance(h["score"], float) for h in data["contexts"])


def test_ask_json_refusal_carries_the_catalogue_note(run):
    data = json.loads(run("杭州2024年GDP增长目标是多少？", "--json"))
    assert data["refused"] is True and data["text"].startswith(REFUSAL)
    assert "库中没有杭州市的报告" in data["notes"] and data["citations"] == []


def test_ask_stream_prints_the_text(run, assistant):
    out = run(QUESTION, "--stream")
    assert out.splitlines()[0] == assistant.ask(QUESTION).text.splitlines()[0]
