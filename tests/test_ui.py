"""The UI's handlers without a browser: app construction, escaping, per-session answers, uploads, the eval tab."""
from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import pytest

import ui
from rag import Assistant, Settings

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def base_data_dir(tmp_path_factory) -> Path:
    """A data dir with the sample corpus ingested and indexed, built once per test session."""
    from rag.build import update

    path = tmp_path_factory.getbasetemp() / "govqa-ui-base"
    if not (path / "index" / "CURRENT").exists():
        update(Settings(data_dir=path), [ROOT / "data" / "reports"])
    return path


@pytest.fixture(scope="module")
def assistant(tmp_path_factory) -> Assistant:
    data = tmp_path_factory.mktemp("ui-data")
    shutil.copytree(base_data_dir(tmp_path_factory), data, dirs_exist_ok=True)
    return Assistant.load(settings=Settings(data_dir=data))


def final(live, question, turns=(), region=None, year=None):
    """Run the chat handler to the end; return its last (html, turns)."""
    out = None
    for out in ui.respond(live, question, region, year, "抽取式", list(turns)):
        pass
    return out


@pytest.mark.parametrize("raw, absent, present", [
    ("<script>alert(1)</script>", "<script", "&lt;script&gt;alert(1)&lt;/script&gt;"),
    ('<img src=x onerror="x()">', "<img", "&lt;img"),
    ("${value}", "${", "&#36;&#123;value&#125;"),
    ("{{value}}", "{{", "&#123;&#123;value&#125;&#125;"),
    ("a & b", " & ", "a &amp; b"),
])
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
    assert f'data-turn="0" data-ref="0"' in html and cite.mark in html
    panel = ui.show_citation(live, turns, 0, 0)
    assert cite.region in panel and f"第{cite.paragraph}段" in panel
    if cite.quote:
        assert f"<mark>{ui.escape(cite.quote)}</mark>" in panel
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
    questions = {"a": "保定2022年生产总值是多少", "b": "石家庄2025年的主要目标是什么"}
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
    settings = Settings(data_dir=tmp_path / "data")
    shutil.copytree(assistant.settings.data_dir, settings.data_dir)
    live = ui.Live(Assistant(assistant.index, settings, assistant.embedder, assistant.llm))
    bad = tmp_path / "notes.exe"
    bad.write_bytes(b"MZ")
    report = tmp_path / "test2025.txt"
    report.write_text(
        "2025年某测试市政府工作报告\n\n——2025年1月10日在某测试市第一届人民代表大会第一次会议上\n\n"
        "一、2024年工作回顾\n\n2024年，全市地区生产总值达到7777.7亿元，增长5.5%。<script>alert(1)</script>\n\n"
        "二、2025年主要目标\n\n2025年全市生产总值预期增长6%左右。\n", encoding="utf-8")
    before = live.assistant
    status = ui.upload(live, [str(bad), str(report)])
    assert "notes.exe" in status and "不支持的文件类型" in status
    assert live.assistant is not before
    assert len(live.assistant.corpus.reports) == len(before.corpus.reports) + 1
    html, turns = final(live, "某测试市2024年地区生产总值是多少")
    assert "7777.7" in html
    assert "<script>" not in html


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
