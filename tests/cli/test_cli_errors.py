"""Errors at the CLI edge print the message and the fix literally (no rich markup eaten)."""

from __future__ import annotations

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
