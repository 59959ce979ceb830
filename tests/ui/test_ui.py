"""The UI's handlers without a browser: app construction, escaping, per-session answers, uploads, the eval tab."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest

import ui
from rag import Assistant, Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def assistant(tmp_path_factory, sample_data_dir, sample_settings) -> Assistant:
    """A private copy of the (hashed) sample index: the upload tests change it."""
    data = tmp_path_factory.mktemp("ui-data")
    shutil.copytree(sample_data_dir, data, dirs_exist_ok=True)
    return Assistant.load(settings=sample_settings(data))


def final(live, question, turns=(), region=None, year=None):
    """Run the chat handler to the end; return its last (html, turns)."""
    *_, last = ui.respond(live, question, region, year, "抽取式", list(turns))
    return last


@pytest.mark.parametrize(
    "raw, absent, present",
    [
        ("<script>alert(1)</script>", "<script", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ('<img src=x onerror="x()">', "<img", "&lt;img"),
        ("${value}", "${", "&#36;&#123;value&#125;"),
        ("{{value}}", "{{", "&#123;&#123;value&#125;&#125;"),
        ("a & b", " & ", "a &amp; b"),
    ],
)
def test_escape(raw, absent, present):
    out = ui.escape(raw)
    assert absent not in out
    assert present in out


def test_build_app_constructs(assistant):
    import gradio as gr

    app = ui.build_app(assistant)
    assert isinstance(app, gr.Blocks)
    assert app.live.assistant is assistant
    ids = {getattr(b, "elem_id", None) for b in app.blocks.values()}
    assert {"transcript", "question", "ask", "citation-panel", "catalogue", "upload-files", "reader"} <= ids
    answerer = next(b for b in app.blocks.values() if getattr(b, "elem_id", None) == "answerer")
    assert answerer.visible is assistant.settings.llm_configured


def test_answer_has_clickable_citations_and_panel_shows_paragraph(assistant):
    live = ui.Live(assistant)
    html, turns = final(live, "保定2022年生产总值是多少")
    answer = turns[-1]["answer"]
    assert not answer.refused and answer.citations
    cite = answer.citations[0]
    assert 'data-turn="0" data-ref="0"' in html and cite.mark in html
    assert "3880.3亿元" in answer.text  # what 保定's 2023 report says about 2022
    panel = ui.show_citation(live, turns, 0, 0, 0)
    assert cite.region in panel and f"{cite.year}年" in panel and f"第{cite.paragraph}段" in panel
    highlighted = panel.split("<mark>")[1].split("</mark>")[0]
    assert "3880.3亿元" in highlighted and highlighted in ui.escape(cite.text)
    report = assistant.report(cite.report_id)
    if cite.paragraph > 1:
        assert ui.escape(report.paragraph(cite.paragraph - 1).text) in panel


def test_refusal_and_missing_region_are_visible(assistant):
    html, turns = final(ui.Live(assistant), "杭州2023年生产总值是多少")
    answer = turns[-1]["answer"]
    assert answer.refused
    assert "【拒答】" in html
    assert any("杭州" in n for n in answer.notes)
    assert "杭州" in html


def test_sessions_do_not_mix_answers(assistant):
    live = ui.Live(assistant)
    questions = {"a": "保定2022年生产总值是多少", "b": "廊坊2023年经济社会发展的主要预期目标是什么"}
    expected = {k: assistant.ask(q).text for k, q in questions.items()}
    results: dict[str, list] = {k: [] for k in questions}
    errors = []

    def session(key):
        try:
            turns = []
            for _ in range(4):
                _, turns = final(live, questions[key], turns)
            results[key] = turns
        except Exception as e:  # surfaced by the assertion below
            errors.append(e)

    threads = [threading.Thread(target=session, args=(k,)) for k in questions for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert expected["a"] != expected["b"]
    for key, turns in results.items():
        assert len(turns) == 4
        for turn in turns:
            assert turn["question"] == questions[key]
            assert turn["text"] == expected[key]


def test_upload_rejects_and_ingests(assistant, tmp_path):
    from test_ui_browser import UPLOAD

    settings = assistant.settings.model_copy(update={"data_dir": tmp_path / "data"})
    shutil.copytree(assistant.settings.data_dir, settings.data_dir)
    live = ui.Live(Assistant(assistant.index, settings, assistant.embedder, assistant.llm))
    wrong_type = tmp_path / "notes.exe"
    wrong_type.write_bytes(b"MZ")
    unknown_region = tmp_path / "unknown2025.txt"
    unknown_region.write_text(
        "2025年某测试市政府工作报告\n\n一、2024年工作回顾\n\n2024年，全市生产总值7777.7亿元。\n", encoding="utf-8"
    )
    report = tmp_path / "衢州2025.txt"
    report.write_text(UPLOAD, encoding="utf-8")
    before = live.assistant
    status = ui.upload(live, [str(wrong_type), str(unknown_region), str(report)])
    assert "notes.exe：不支持的文件类型" in status
    assert "未导入 unknown2025.txt" in status and "某测试市" in status
    assert "已加入：衢州-2025" in status
    assert live.assistant is not before
    assert [r.id for r in live.assistant.corpus.reports] == [r.id for r in before.corpus.reports] + ["衢州-2025"]
    html, turns = final(live, "衢州市2024年地区生产总值是多少")
    assert "2468.13" in html
    assert "<script>" not in ui.render_report(live.assistant, "衢州-2025")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in ui.render_report(live.assistant, "衢州-2025")


def test_failed_upload_keeps_the_index(assistant, tmp_path):
    settings = assistant.settings.model_copy(update={"data_dir": tmp_path / "data"})
    shutil.copytree(assistant.settings.data_dir, settings.data_dir)
    settings.corpus_path.write_text("{not json", encoding="utf-8")  # the corpus of record is corrupt
    live = ui.Live(Assistant(assistant.index, settings, assistant.embedder, assistant.llm))
    current = (settings.index_dir / "CURRENT").read_text()
    before = live.assistant
    report = tmp_path / "衢州2025.txt"
    report.write_text("2025年衢州市政府工作报告\n\n2024年，全市生产总值2468.13亿元。\n", encoding="utf-8")
    status = ui.upload(live, [str(report)])
    assert "导入失败，索引未改变" in status and "corpus" in status
    assert live.assistant is before
    assert (settings.index_dir / "CURRENT").read_text() == current


def test_latest_eval(tmp_path):
    assert ui.latest_eval(tmp_path)[0] == ui.NO_EVAL
    runs = tmp_path / "eval" / "runs"
    runs.mkdir(parents=True)
    (runs / "old.json").write_text(json.dumps({"summary": {"accuracy": 0.1}}), encoding="utf-8")
    new = runs / "new.json"
    new.write_text(json.dumps({"summary": {"accuracy": 0.8125, "questions": 32}}), encoding="utf-8")
    (runs / "new.png").write_bytes(b"\x89PNG")
    import os

    os.utime(runs / "old.json", (1, 1))
    title, rows, chart = ui.latest_eval(tmp_path)
    assert "new.json" in title
    assert ["accuracy", "0.812"] in rows and ["questions", "32"] in rows
    assert chart == str(runs / "new.png")


def test_report_reader_escapes(assistant):
    r = assistant.corpus.reports[0]
    out = ui.render_report(assistant, r.id)
    assert "第1段" in out and ui.escape(r.paragraphs[0].text) in out
    assert "库中没有报告" in ui.render_report(assistant, "<b>nope</b>")
    assert "<b>nope" not in ui.render_report(assistant, "<b>nope</b>")


def test_llm_turn_survives_a_malformed_reply_and_shows_checked_text_only(assistant, openai_server):
    """A reply that is not a chat completion falls back to the extractive answer in the same turn; a streamed
    sentence the check drops never appears in the transcript, not even while streaming."""
    from openai_server import Chunks, Raw

    from rag.answering.llm import ChatLLM

    s = Settings(
        data_dir=assistant.settings.data_dir,
        llm_base_url=openai_server.base_url,
        llm_model=openai_server.model,
        llm_max_retries=0,
    )
    live = ui.Live(Assistant(assistant.index, s, assistant.embedder, ChatLLM(s, backoff=0.01)))
    question = "济南2024年GDP增长目标是多少?"
    hit = next(h for h in assistant.search(question).hits if "地区生产总值增长5.5%以上" in h.text)
    wrong = f"济南2024年地区生产总值增长目标为6.5%以上{hit.mark}。"
    openai_server.script(
        [Raw('{"choices": [{"message": '), Chunks(list(f"地区生产总值增长5.5%以上{hit.mark}。{wrong}"))]
    )
    turns: list = []
    for answerer_label in ("LLM", "LLM"):
        steps = list(ui.respond(live, question, None, None, answerer_label, turns))
        for html, _ in steps:
            assert "增长目标为6.5%" not in html  # not while streaming, not listed afterwards
        html, turns = steps[-1]
    first, second = turns
    assert first["answer"].answerer == "extractive" and "5.5%以上" in first["text"]
    assert any("LLM 调用失败" in n for n in first["answer"].notes)
    assert second["answer"].answerer == "llm" and second["text"] == f"地区生产总值增长5.5%以上{hit.mark}。"
    assert wrong in second["answer"].unsupported
    assert "出错" not in html and "未通过核验，已删除 1 句" in html


def test_an_unexpected_error_costs_the_answer_not_the_turns(assistant, monkeypatch):
    live = ui.Live(assistant)
    _, turns = final(live, "保定2022年生产总值是多少")

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(assistant, "ask", broken)
    html, turns = final(live, "保定2023年的主要目标", turns)
    assert len(turns) == 2 and turns[0]["answer"].citations
    assert "意外错误" in turns[1]["text"] and "RuntimeError" in html
