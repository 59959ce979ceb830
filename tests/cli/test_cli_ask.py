"""`govqa ask` through the typer app: plain text, --json, --stream, and a refusal."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cli import app
from rag.answering.prompts import REFUSAL

QUESTION = "济南2024年GDP增长目标是多少?"


@pytest.fixture
def run(sample_data_dir):
    env = {"GOVQA_DATA_DIR": str(sample_data_dir), "GOVQA_ANSWERER": "extractive", "GOVQA_LLM_BASE_URL": ""}

    def invoke(*args: str):
        result = CliRunner().invoke(app, ["ask", *args], env=env)
        assert result.exit_code == 0, result.output
        return result.stdout  # stderr carries the model loading progress

    return invoke


def expected_mark(assistant) -> str:
    [number] = [p.number for p in assistant.report("济南-2024").paragraphs if "地区生产总值增长5.5%以上" in p.text]
    return f"【济南·2024·第{number}段】"


def test_ask_prints_answer_and_cited_paragraphs(run, assistant):
    out = run(QUESTION)
    mark = expected_mark(assistant)
    first = out.splitlines()[0]
    assert "济南市2024年政府工作报告（2024年安排）" in first and "5.5%以上" in first and mark in first
    assert out.count(mark) >= 2  # in the answer and as the heading of the cited paragraph
    assert "一般公共预算收入增长5%左右" in out  # the whole cited paragraph is shown


def test_ask_json_has_the_answer_fields(run, assistant):
    data = json.loads(run(QUESTION, "--json"))
    ans = assistant.ask(QUESTION)
    assert data["text"] == ans.text and data["refused"] is False and data["answerer"] == "extractive"
    [c] = data["citations"]
    assert c["mark"] == expected_mark(assistant) and (c["region"], c["year"]) == ("济南市", 2024)
    assert isinstance(c["paragraph"], int) and c["quote"] in c["text"] and c["section"]
    assert data["contexts"] and all(isinstance(h["score"], float) for h in data["contexts"])


def test_ask_json_refusal_carries_the_catalogue_note(run):
    data = json.loads(run("杭州2024年GDP增长目标是多少？", "--json"))
    assert data["refused"] is True and data["text"].startswith(REFUSAL)
    assert "库中没有杭州市的报告" in data["notes"] and data["citations"] == []


def test_ask_stream_prints_the_text(run, assistant):
    out = run(QUESTION, "--stream")
    assert out.splitlines()[0] == assistant.ask(QUESTION).text.splitlines()[0]
