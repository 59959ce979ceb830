"""`govqa catalogue` in a real terminal width (COLUMNS): every report id whole, columns dropped by priority, --json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.cells import cell_len

ROOT = Path(__file__).resolve().parents[2]
REPORTS = ROOT / "data" / "reports"
EXTRA = ROOT.parent / "shared" / "corpus-extra"
LONG_NAME_CSV = "2026_宁夏回族自治区_政府工作报告.csv"  # the longest region name of corpus-extra


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """The sample corpus (plus one corpus-extra CSV when present) ingested without an index: no model needed."""
    from rag import Settings
    from rag.index.build import update

    path = tmp_path_factory.mktemp("catalogue")
    paths = [REPORTS] + ([EXTRA / LONG_NAME_CSV] if (EXTRA / LONG_NAME_CSV).exists() else [])
    update(Settings(data_dir=path), paths, index=False)
    return path


def govqa(data_dir: Path, *args: str, columns: int) -> str:
    env = {**os.environ, "COLUMNS": str(columns), "GOVQA_DATA_DIR": str(data_dir), "PYTHONPATH": str(ROOT)}
    env.pop("LINES", None)
    done = subprocess.run(
        [sys.executable, str(ROOT / "cli.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def rows(data_dir: Path) -> list[dict]:
    from ingest.catalogue import catalogue_rows
    from rag.index.build import current_corpus
    from rag.settings import Settings

    return catalogue_rows(current_corpus(Settings(data_dir=data_dir)))


def id_cells(out: str) -> list[str]:
    """The first cell of every table body line (the id column)."""
    return [line.split("│")[1].strip() for line in out.splitlines() if line.startswith("│")]


@pytest.mark.parametrize("columns", [80, 60])
def test_narrow_terminal_shows_every_id_whole(data_dir, columns):
    out = govqa(data_dir, "catalogue", columns=columns)
    ids = [r["id"] for r in rows(data_dir) if r["id"]]
    assert len(ids) >= 11
    assert all(cell_len(line) <= columns for line in out.splitlines()), out
    cells = [c for c in id_cells(out) if c]
    assert cells == ids, out  # one line per id, in catalogue order, none cut or folded
    shown = headers(out)
    assert shown[:3] == ["id", "region", "year"]
    assert "chars" not in shown  # the lowest-priority column went first ...
    assert "--json" in out  # ... and the caption says where the rest is


def headers(out: str) -> list[str]:
    header = next(line for line in out.splitlines() if line.startswith("┃"))
    return [h.strip() for h in header.strip("┃").split("┃")]


def test_wide_terminal_shows_every_column(data_dir):
    out = govqa(data_dir, "catalogue", columns=200)
    assert headers(out) == ["id", "region", "year", "warnings", "paragraphs", "province", "level", "chars"]
    assert "--json" not in out
    assert "仅见于目录，无正文" in out


def test_json_prints_every_row_and_field(data_dir):
    out = govqa(data_dir, "catalogue", "--json", columns=40)
    assert json.loads(out) == rows(data_dir)


def test_json_says_which_file_each_report_came_from_and_where_its_fields_were_read(data_dir):
    """With files named 新建文档.docx a user needs the source to tell reports apart, and the provenance to see what the
    manifest decided: the sample 石家庄 fragment's year is the manifest's."""
    by_id = {r["id"]: r for r in json.loads(govqa(data_dir, "catalogue", "--json", columns=200)) if r["id"]}
    fragment = by_id["石家庄-2025"]
    assert fragment["source"].endswith("001_152e24060be9d9c2.txt")
    assert fragment["provenance"]["year"] == "manifest"
    assert all(r["source"] and r["provenance"].get("region") for r in by_id.values())


@pytest.mark.skipif(not (EXTRA / LONG_NAME_CSV).exists(), reason="../shared/corpus-extra is not present")
def test_long_region_id_is_whole_at_80(data_dir):
    ids = [r["id"] for r in rows(data_dir) if r["region"] == "宁夏回族自治区"]
    assert ids
    out = govqa(data_dir, "catalogue", columns=80)
    assert set(ids) <= set(id_cells(out))


def test_ingest_into_a_large_corpus_prints_only_its_own_reports(tmp_path, monkeypatch):
    """Past CATALOGUE_SHOWN_WHOLE rows, `govqa ingest` lists the reports it added, not the whole catalogue again."""
    import cli
    import rag.index.build as build

    monkeypatch.setattr(cli, "CATALOGUE_SHOWN_WHOLE", 3)
    data = tmp_path / "data"
    first = govqa_ingest(data, REPORTS / "002_c7f7bf300aa76a8f.txt")
    assert "语料目录" in first and "保定-2023" in first  # a short catalogue is shown whole
    read: list[str] = []
    real = build.read_records
    monkeypatch.setattr(build, "read_records", lambda folder, ids: read.extend(ids) or real(folder, ids))
    out = govqa_ingest(data, REPORTS / "004_856a73ee7808871b.txt")
    assert "本次入库" in out and "济南-2024" in out
    assert "保定-2023" not in out  # ingested before: not listed again
    assert "济南-2024" in read and "保定-2023" not in read  # nor is its saved text read


def govqa_ingest(data_dir: Path, path: Path) -> str:
    from typer.testing import CliRunner

    import cli

    result = CliRunner().invoke(
        cli.app, ["ingest", str(path), "--no-index"], env={"GOVQA_DATA_DIR": str(data_dir), "COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    return result.output
