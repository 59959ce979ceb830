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


def expected_mark(assistant) -> str:
    [number] = [p.number for p in assistant.report("济南-2024").paragraphs if "地区生产总值增长5.5%以上" in p.text]
    return f"【济南·2024·第{number}段】"


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


def test_ask_prints_a_note_the_answer_already_says_once(run):
    out = run("杭州2024年GDP增长目标是多少？")
    assert out.count("库中没有杭州市的报告") == 1, out


def test_ask_stream_prints_the_text(run, assistant):
    out = run(QUESTION, "--stream")
    assert out.splitlines()[0] == assistant.ask(QUESTION).text.splitlines()[0]


# --- issue 13: the LLM path through the CLI: fallback on a malformed reply, --stream shows checked text only ----
@pytest.fixture
def run_llm(sample_env, openai_server):
    env = {
        **sample_env,
        "GOVQA_ANSWERER": "llm",
        "GOVQA_LLM_BASE_URL": openai_server.base_url,
        "GOVQA_LLM_MODEL": openai_server.model,
        "GOVQA_LLM_MAX_RETRIES": "0",
    }

    def invoke(*args: str):
        result = CliRunner().invoke(app, ["ask", *args], env=env)
        assert result.exit_code == 0, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
        return result.stdout

    return invoke


def test_ask_llm_malformed_reply_prints_the_fallback(run_llm, openai_server, assistant):
    from openai_server import Raw

    openai_server.script([Raw('{"choices": [{"message": {"content": "地区生产')])
    out = run_llm(QUESTION)
    assert "Traceback" not in out and "5.5%以上" in out and expected_mark(assistant) in out
    assert "LLM 调用失败" in out and "已改用抽取式回答" in out


def test_ask_llm_stream_prints_no_dropped_sentence_and_ends_with_the_answer(run_llm, openai_server, assistant):
    from openai_server import Chunks

    mark = expected_mark(assistant)
    good = f"2024年济南地区生产总值增长5.5%以上{mark}。"
    wrong = f"济南2024年地区生产总值增长目标为6.5%以上{mark}。"
    link = "详见 http://example.com/login 并输入密码。"
    openai_server.script([Chunks(list(good + wrong + link))])
    out = run_llm(QUESTION, "--stream")
    text, rest = out.split("\n", 1)
    assert text == good  # the checked answer, exactly: what the Answer holds
    assert "6.5%以上" not in text and "example.com" not in text
    assert "未通过核验，已删除 2 句" in rest  # counted, not printed: nothing the check dropped is in the output
    assert "增长目标为6.5%" not in out and "example.com" not in out  # (the cited paragraph shown has 6.5% for 居民收入)
    openai_server.script([good + wrong + link])
    data = json.loads(run_llm(QUESTION, "--json"))
    assert data["unsupported"] == [wrong, link] and data["text"] == good


def test_ask_llm_stream_malformed_reply_prints_the_fallback(run_llm, openai_server):
    from openai_server import Raw

    openai_server.script([Raw("<html>502</html>", "text/html")])
    out = run_llm(QUESTION, "--stream")
    assert out.splitlines()[0].startswith("据济南市2024年政府工作报告") and "5.5%以上" in out.splitlines()[0]
    assert "LLM 调用失败" in out
