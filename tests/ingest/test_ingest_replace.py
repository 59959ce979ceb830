"""Ingest messages: a report id already in the corpus from another file needs --replace; the same file again is a
no-op; a folder's manifest naming a missing file is a warning naming the manifest and the entry."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cli import app
from rag import Settings
from rag.index.build import update

REPORT = """2024年廊坊市政府工作报告
廊坊市市长
各位代表：
现在，我代表市人民政府，向大会报告工作，请予审议。
一、2023年工作回顾
过去一年，全市地区生产总值增长{growth}%，新建城市书房二十八座。
二、2024年工作安排
今年全市经济社会发展的主要预期目标是：地区生产总值增长6%左右，新建城市书房二十座。
"""


def _file(folder: Path, name: str, growth: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(REPORT.format(growth=growth), encoding="utf-8")
    return path


def _text(settings: Settings, report_id: str) -> str:
    from rag.index.build import current_corpus

    return "\n".join(p.text for p in current_corpus(settings).report(report_id).paragraphs)


def test_a_report_id_from_another_file_is_refused_without_replace(tmp_path):
    settings = Settings(data_dir=tmp_path / "var", embed_model="bm25")
    first = _file(tmp_path / "a", "langfang.txt", "6.2")
    other = _file(tmp_path / "b", "fragment.txt", "9.9")
    assert update(settings, [first]).added == ["廊坊-2024"]

    result = update(settings, [other])
    assert not result.added and not result.replaced
    [problem] = result.new.problems
    assert "廊坊-2024" in problem.message and "fragment.txt" in problem.path and "langfang.txt" in problem.message
    assert "--replace" in problem.fix and "govqa remove 廊坊-2024" in problem.fix
    assert "增长6.2%" in _text(settings, "廊坊-2024")  # the earlier report is kept

    again = update(settings, [first])  # the same unchanged file again: a no-op, not a conflict
    assert again.unchanged == ["廊坊-2024"] and not again.replaced and not again.added and not again.new.problems
    assert again.generation == result.generation  # nothing changed: no new index generation
    assert "增长6.2%" in _text(settings, "廊坊-2024")

    replaced = update(settings, [other], replace=True)
    assert replaced.replaced == ["廊坊-2024"] and not replaced.new.problems
    assert "增长9.9%" in _text(settings, "廊坊-2024")
    assert [r.id for r in replaced.corpus.reports] == ["廊坊-2024"]


def test_cli_replace_flag(tmp_path):
    env = {"GOVQA_DATA_DIR": str(tmp_path / "var"), "GOVQA_EMBED_MODEL": "bm25", "COLUMNS": "200"}
    first = _file(tmp_path / "a", "langfang.txt", "6.2")
    other = _file(tmp_path / "b", "fragment.txt", "9.9")
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(first)], env=env).exit_code == 0
    refused = runner.invoke(app, ["ingest", str(other)], env=env)
    assert "跳过" in refused.output and "廊坊-2024" in refused.output and "--replace" in refused.output
    assert "added 0, replaced 0" in refused.output
    done = runner.invoke(app, ["ingest", "--replace", str(other)], env=env)
    assert done.exit_code == 0 and "added 0, replaced 1" in done.output
    again = runner.invoke(app, ["ingest", str(other)], env=env)
    assert again.exit_code == 0 and "added 0, replaced 0, unchanged 1" in again.output
    assert "增长9.9%" in _text(Settings(data_dir=tmp_path / "var"), "廊坊-2024")


def test_a_folder_manifest_naming_a_missing_file_is_a_warning(tmp_path):
    folder = tmp_path / "in"
    _file(folder, "langfang.txt", "6.2")
    (folder / "manifest.toml").write_text('[[report]]\nfile = "gone-2023.txt"\nyear = 2023\n', encoding="utf-8")
    settings = Settings(data_dir=tmp_path / "var", embed_model="bm25")
    result = update(settings, [folder])
    assert result.added == ["廊坊-2024"]  # the other files go in
    [problem] = result.new.problems
    assert problem.warning and problem.path.endswith("manifest.toml") and 'file = "gone-2023.txt"' in problem.message

    env = {"GOVQA_DATA_DIR": str(tmp_path / "var2"), "GOVQA_EMBED_MODEL": "bm25", "COLUMNS": "200"}
    out = CliRunner().invoke(app, ["ingest", str(folder / "langfang.txt")], env=env).output
    out = "".join(out.split())  # the console may wrap at any space (its width is fixed when cli is first imported)
    assert "警告" in out and "manifest.toml" in out and 'file="gone-2023.txt"' in out


def test_cli_says_a_skipped_files_earlier_report_is_kept(tmp_path):
    env = {"GOVQA_DATA_DIR": str(tmp_path / "var"), "GOVQA_EMBED_MODEL": "bm25", "COLUMNS": "200"}
    path = _file(tmp_path / "a", "langfang.txt", "6.2")
    runner = CliRunner()
    assert runner.invoke(app, ["ingest", str(path)], env=env).exit_code == 0
    path.write_text(
        REPORT.format(growth="6.2")
        .replace("2024年廊坊市政府工作报告", "廊坊市政府工作报告")
        .replace("二、2024年工作安排", "二、工作安排")
        .replace("一、2023年工作回顾", "一、工作回顾"),
        encoding="utf-8",
    )
    again = runner.invoke(app, ["ingest", str(path)], env=env)
    assert "跳过" in again.output and "year" in again.output, again.output
    assert "保留" in again.output and "廊坊-2024" in again.output, again.output
    assert "增长6.2%" in _text(Settings(data_dir=tmp_path / "var"), "廊坊-2024")
