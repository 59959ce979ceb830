"""Ingest other encodings and formats, and bad inputs: each gives a clear error naming the file."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from ingest import load_report_file, load_reports
from ingest.errors import IngestError, ManifestError

REPORTS = Path(__file__).resolve().parents[2] / "data" / "reports"
SEED_000 = REPORTS / "000_bdc8d5cc41da090f.txt"
SEED_001 = REPORTS / "001_152e24060be9d9c2.txt"
SEED_002 = REPORTS / "002_c7f7bf300aa76a8f.txt"
SEED_003 = REPORTS / "003_0b171038f676049e.txt"

JINAN_LINES = [
    "2024年济南市政府工作报告",
    "——2024年1月10日在济南市第十八届人民代表大会第三次会议上",
    "各位代表：",
    "现在，我代表市人民政府，向大会报告工作，请予审议，并请各位政协委员和列席人员提出意见。",
    "一、2023年工作回顾",
    "刚刚过去的2023年，是全面贯彻落实党的二十大精神的开局之年。全市地区生产总值增长6.1%，一般公共预算收入增长5%。",
    "各位代表，实干铸就梦想，奋斗开创未来。让我们更加紧密地团结在以习近平同志为核心的党中央周围，不懈奋斗！",
]


def content(reports):
    """What must not depend on the encoding: metadata and paragraphs."""
    return [
        (
            r.id,
            r.region,
            r.year,
            r.level,
            r.province,
            r.title,
            r.meeting,
            r.date,
            r.speaker,
            r.truncated,
            [(p.number, p.text, p.section, p.kind) for p in r.paragraphs],
        )
        for r in reports
    ]


@pytest.mark.parametrize(
    "seed,encoding",
    [
        (SEED_000, "gbk"),
        (SEED_003, "gbk"),
        (SEED_002, "gb18030"),
        (SEED_000, "utf-16"),
        (SEED_003, "utf-16"),
        (SEED_003, "utf-8-sig"),
        (SEED_003, "utf-16-be"),
    ],
)
def test_other_encodings_ingest_identically(tmp_path, seed, encoding):
    text = seed.read_text(encoding="utf-8")
    copy = tmp_path / f"copy-{encoding}.txt"
    copy.write_bytes(text.encode(encoding) if encoding != "utf-16-be" else b"\xfe\xff" + text.encode("utf-16-be"))
    assert content(load_report_file(copy)) == content(load_report_file(seed))


@pytest.mark.parametrize("data", [b"", b"   \n\r\n\t  \n"])
def test_empty_file_is_a_clear_error(tmp_path, data):
    path = tmp_path / "empty.txt"
    path.write_bytes(data)
    with pytest.raises(IngestError) as err:
        load_report_file(path)
    assert "empty.txt" in str(err.value) and "empty" in err.value.message
    assert err.value.fix


def test_binary_file_is_a_clear_error(tmp_path):
    path = tmp_path / "scan.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40)
    with pytest.raises(IngestError) as err:
        load_report_file(path)
    assert "scan.txt" in str(err.value) and "binary" in err.value.message
    assert err.value.fix


def test_unsupported_suffix(tmp_path):
    path = tmp_path / "report.xlsx"
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(IngestError, match="unsupported"):
        load_report_file(path)


def test_no_detectable_year_shows_the_manifest_lines_to_add(tmp_path):
    copy = tmp_path / "fragment.txt"
    shutil.copy(SEED_001, copy)  # 001 states no year; no manifest beside the copy
    with pytest.raises(IngestError) as err:
        load_report_file(copy)
    message = str(err.value)
    assert "fragment.txt" in message and "year" in err.value.message
    fix = err.value.fix
    assert "[[report]]" in fix and 'file = "fragment.txt"' in fix and "year = " in fix
    assert 'region = "石家庄市"' in fix  # what could be read is filled in
    assert str(tmp_path / "manifest.toml") in fix


def test_the_manifest_lines_from_the_fix_work(tmp_path):
    copy = tmp_path / "fragment.txt"
    shutil.copy(SEED_001, copy)
    with pytest.raises(IngestError) as err:
        load_report_file(copy)
    toml = "\n".join(line for line in err.value.fix.splitlines()[1:]).replace("<报告年份，如 2025>", "2025")
    (tmp_path / "manifest.toml").write_text(toml, encoding="utf-8")
    (report,) = load_report_file(copy)
    assert (report.id, report.provenance["year"]) == ("石家庄-2025", "manifest")


def test_the_fix_asks_for_what_is_missing_and_a_placeholder_copied_as_is_is_named(tmp_path):
    """Only the year is missing from 001: the fix asks for the year. Its lines pasted unedited are not valid TOML; the
    manifest error then names the placeholder to replace, not only a line and column."""
    copy = tmp_path / "fragment.txt"
    shutil.copy(SEED_001, copy)
    with pytest.raises(IngestError) as err:
        load_report_file(copy)
    assert "state the year in" in err.value.fix and "year and region" not in err.value.fix
    (tmp_path / "manifest.toml").write_text("\n".join(err.value.fix.splitlines()[1:]), encoding="utf-8")
    with pytest.raises(ManifestError) as bad:
        load_report_file(copy)
    assert "<报告年份，如 2025>" in bad.value.fix and "year = 2025" in bad.value.fix


def test_no_year_and_no_region(tmp_path):
    path = tmp_path / "anon.txt"
    path.write_text(
        "各位代表：\n现在，我代表市人民政府，向大会报告工作，请予审议，并请各位政协委员提出意见。\n", encoding="utf-8"
    )
    with pytest.raises(IngestError) as err:
        load_report_file(path)
    assert "year and region" in err.value.message
    assert 'region = "<地区全称' in err.value.fix


def test_bad_files_in_a_folder_do_not_stop_the_others(tmp_path):
    (tmp_path / "a_empty.txt").write_bytes(b"")
    (tmp_path / "b_binary.txt").write_bytes(bytes(range(256)) * 40)
    shutil.copy(SEED_001, tmp_path / "c_noyear.txt")
    shutil.copy(SEED_003, tmp_path / "d_langfang.txt")
    (tmp_path / "README.md").write_text("# notes\n", encoding="utf-8")
    corpus = load_reports([tmp_path])
    assert [r.id for r in corpus.reports] == ["廊坊-2023"]
    problems = {Path(p.path).name: p for p in corpus.problems}
    assert set(problems) == {"a_empty.txt", "b_binary.txt", "c_noyear.txt"}
    assert all(p.fix for p in problems.values())
    assert "[[report]]" in problems["c_noyear.txt"].fix


def test_missing_path_is_a_problem_not_a_crash(tmp_path):
    corpus = load_reports([tmp_path / "nope.txt", SEED_003])
    assert [r.id for r in corpus.reports] == ["廊坊-2023"]
    assert corpus.problems[0].path.endswith("nope.txt")


def test_duplicate_report_id_becomes_a_problem(tmp_path):
    shutil.copy(SEED_003, tmp_path / "a.txt")
    (tmp_path / "b.txt").write_bytes(SEED_003.read_text(encoding="utf-8").encode("utf-16"))
    corpus = load_reports([tmp_path])
    assert [r.id for r in corpus.reports] == ["廊坊-2023"]
    assert len(corpus.problems) == 1 and "duplicate" in corpus.problems[0].message
    assert corpus.problems[0].path.endswith("b.txt")


def test_malformed_manifest_is_a_manifest_error(tmp_path):
    shutil.copy(SEED_003, tmp_path / "a.txt")
    (tmp_path / "manifest.toml").write_text("[[report]]\nfile = a.txt\n", encoding="utf-8")
    with pytest.raises(ManifestError):
        load_reports([tmp_path])


def test_manifest_year_must_be_an_integer(tmp_path):
    (tmp_path / "manifest.toml").write_text('[[report]]\nfile = "a.txt"\nyear = "2025"\n', encoding="utf-8")
    shutil.copy(SEED_003, tmp_path / "a.txt")
    with pytest.raises(ManifestError, match="integer"):
        load_reports([tmp_path])


def test_page_jump_joins_the_interrupted_sentence(tmp_path):
    path = tmp_path / "jump.txt"
    path.write_text(
        "\n".join(
            [
                "2023年石家庄市政府工作报告",
                "各位代表：",
                "现在，我代表市人民政府，向大会报告工作，请予审议。",
                "一、2022年工作回顾",
                "全市地区生产总值增长6.4%,城镇新增就业",
                "",
                "（ 下转 09 版 ）",
                "",
                "实现经济总量过万亿根基更稳底气更足",
                "",
                "(上接第07版)",
                "",
                "13.1万人,居民收入稳定增长。",
                "社会事业全面进步。",
            ]
        ),
        encoding="utf-8",
    )
    (report,) = load_report_file(path)
    texts = [(p.kind, p.text) for p in report.paragraphs]
    assert ("body", "全市地区生产总值增长6.4%,城镇新增就业13.1万人,居民收入稳定增长。") in texts
    assert ("heading", "实现经济总量过万亿根基更稳底气更足") in texts
    assert not any("版" in t for _, t in texts)


def test_html_page(tmp_path):
    body = "".join(
        f"<p>{line}</p>" if not line.startswith(("2024年", "一、")) else f"<h2>{line}</h2>" for line in JINAN_LINES
    )
    html = (
        "<html><head><meta charset='utf-8'><title>2024年济南市政府工作报告</title></head><body>"
        "<div class='nav'><a href='/'>首页</a> | <a href='/news'>新闻中心</a> | <a href='/about'>关于我们</a></div>"
        f"<article>{body}</article>"
        "<div class='footer'>版权所有 © 济南市人民政府 网站标识码 3701000001 鲁ICP备05001963号</div></body></html>"
    )
    path = tmp_path / "jinan.html"
    path.write_text(html, encoding="utf-8")
    (report,) = load_report_file(path)
    assert (report.id, report.meeting, report.date) == (
        "济南-2024",
        "济南市第十八届人民代表大会第三次会议",
        "2024-01-10",
    )
    texts = [p.text for p in report.paragraphs]
    assert texts[0].startswith("各位代表：现在，我代表市人民政府")
    assert "一、2023年工作回顾" in texts
    assert not any("版权所有" in t or "新闻中心" in t for t in texts)


def test_docx_file(tmp_path):
    docx = pytest.importorskip("docx")
    document = docx.Document()
    for line in JINAN_LINES:
        document.add_paragraph(line)
    path = tmp_path / "jinan.docx"
    document.save(path)
    (report,) = load_report_file(path)
    assert report.id == "济南-2024"
    assert [p.kind for p in report.paragraphs] == ["body", "heading", "body", "body"]
    assert report.paragraphs[2].section == "一、2023年工作回顾"


def test_pdf_with_chinese_text(tmp_path):
    pytest.importorskip("reportlab")
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    path = tmp_path / "jinan.pdf"
    pdf = canvas.Canvas(str(path))
    pdf.setFont("STSong-Light", 11)
    y = 800
    for line in JINAN_LINES:  # lines longer than the page would be cut: wrap at 40 characters
        for start in range(0, len(line), 40):
            pdf.drawString(40, y, line[start : start + 40])
            y -= 18
    pdf.save()
    (report,) = load_report_file(path)
    assert report.id == "济南-2024" and report.date == "2024-01-10"
    texts = [p.text for p in report.paragraphs]
    assert JINAN_LINES[5] in texts  # the wrapped sentence is whole again


def test_damaged_pdf_and_docx(tmp_path):
    for name in ("bad.pdf", "bad.docx"):
        path = tmp_path / name
        path.write_bytes(b"this is not a real document " * 20)
        with pytest.raises(IngestError) as err:
            load_report_file(path)
        assert name in str(err.value) and err.value.fix


def test_csv_with_detected_text_column(tmp_path):
    path = tmp_path / "reports.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["region", "year", "body", "url"])
        writer.writerow(["济南市", "2024", "\n".join(JINAN_LINES), "https://example.invalid/a"])
        writer.writerow(["廊坊市", "2023", SEED_003.read_text(encoding="utf-8"), "https://example.invalid/b"])
    corpus = load_reports([path])
    assert [r.id for r in corpus.reports] == ["济南-2024", "廊坊-2023"]
    jinan = corpus.reports[0]
    assert jinan.extra == {"region": "济南市", "year": "2024", "url": "https://example.invalid/a"}
    assert jinan.provenance["region"] == "csv" and jinan.provenance["year"] == "csv"
    assert corpus.reports[1].source.endswith("reports.csv#row2")


def test_subfolders_use_their_own_manifest(tmp_path):
    sub = tmp_path / "2025"
    sub.mkdir()
    shutil.copy(SEED_001, sub / "sjz.txt")
    (sub / "manifest.toml").write_text(
        '[[report]]\nfile = "sjz.txt"\nregion = "石家庄市"\nyear = 2025\n', encoding="utf-8"
    )
    shutil.copy(SEED_003, tmp_path / "langfang.txt")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "junk.txt").write_bytes(b"")
    corpus = load_reports([tmp_path])
    assert sorted(r.id for r in corpus.reports) == ["廊坊-2023", "石家庄-2025"]
    assert corpus.problems == []


def test_load_reports_takes_one_path_as_well_as_several():
    from pathlib import Path

    from ingest import load_reports

    root = Path(__file__).resolve().parents[2] / "data" / "reports"
    one = load_reports(str(root))
    assert sorted(r.id for r in one.reports) == sorted(r.id for r in load_reports([root]).reports)
    assert len(one.reports) == 11 and not one.problems
    assert [r.id for r in load_reports(root / "000_bdc8d5cc41da090f.txt").reports] == ["石家庄-2023"]
