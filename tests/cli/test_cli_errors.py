"""Errors at the CLI edge print the message and the fix literally (no rich markup eaten)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cli import app


def test_no_year_fix_prints_the_manifest_lines_literally(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "fragment.txt").write_text(
        "保定市政府工作报告\n各位代表：\n" + "全市经济稳中有进，发展质量稳步提升。" * 8, encoding="utf-8"
    )
    env = {"GOVQA_DATA_DIR": str(tmp_path / "var"), "GOVQA_EMBED_MODEL": "bm25"}
    result = CliRunner().invoke(app, ["ingest", str(folder / "fragment.txt")], env=env)
    assert "跳过" in result.output  # the file is reported and skipped
    assert "[[report]]" in result.output and 'file = "fragment.txt"' in result.output


def test_an_ingest_of_which_nothing_could_be_read_exits_non_zero(tmp_path, monkeypatch):
    """A script must see that its files were all skipped; one good file beside a bad one is a success (--strict makes
    it an error too)."""
    import cli

    monkeypatch.setattr(cli.console, "width", 200)  # the console was sized at import: a long path is not folded
    env = {"GOVQA_DATA_DIR": str(tmp_path / "var"), "GOVQA_EMBED_MODEL": "bm25", "COLUMNS": "200"}
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    missing = tmp_path / "nosuch" / "报告2024.txt"
    for path in (empty, missing):
        result = CliRunner().invoke(app, ["ingest", str(path)], env=env)
        assert result.exit_code == 1, result.output
        assert "跳过" in result.output and path.name in result.output and "added 0" in result.output
    good = Path(__file__).resolve().parents[2] / "data" / "reports" / "002_c7f7bf300aa76a8f.txt"
    both = CliRunner().invoke(app, ["ingest", str(good), str(empty), "--no-index"], env=env)
    assert both.exit_code == 0 and "added 1" in both.output, both.output
    strict = CliRunner().invoke(app, ["ingest", str(good), str(empty), "--no-index", "--strict"], env=env)
    assert strict.exit_code == 1
