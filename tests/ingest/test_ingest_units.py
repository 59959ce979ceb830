"""Placeholder rules, chunking, the corpus store, the catalogue and the gazetteer."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ingest import chunk_report, load_reports
from ingest.catalogue import catalogue_rows
from ingest.chunking import split_text
from ingest.errors import IngestError
from ingest.gazetteer import gazetteer, short_name
from ingest.model import LEVELS
from ingest.placeholders import RULES, restore_placeholders
from ingest.store import load_corpus, save_corpus

REPORTS = Path(__file__).resolve().parents[2] / "data" / "reports"


@pytest.fixture(scope="module")
def corpus():
    return load_reports([REPORTS])


# --- placeholders -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "masked,restored",
    [
        ("全面贯彻落实X的二十大精神", "全面贯彻落实党的二十大精神"),
        ("以习近平同志为核心的X中央周围", "以习近平同志为核心的党中央周围"),
        ("严格落实全面从严治XZZ责任", "严格落实全面从严治党政治责任"),
        ("坚定不移落实全面从严治X主体责任", "坚定不移落实全面从严治党主体责任"),
        ("锲而不舍落实中央XXXX及其实施细则精神", "锲而不舍落实中央八项规定及其实施细则精神"),
        ("不断提高ZZ判断力、ZZ领悟力、ZZ执行力", "不断提高政治判断力、政治领悟力、政治执行力"),
        ("向各民主X派、工商联和无X派人士", "向各民主党派、工商联和无党派人士"),
        ("加强ZZ建设，坚决做到对X忠诚。坚持X的领导", "加强政治建设，坚决做到对党忠诚。坚持党的领导"),
        ("始终以X的ZZ建设为统领", "始终以党的政治建设为统领"),
        ("纵深推进X风廉政建设", "纵深推进党风廉政建设"),
        ("把项目招引作为“一把手”工程,X政主要领导带头", "把项目招引作为“一把手”工程,党政主要领导带头"),
        ("严格执行《中国共产X纪律处分条例》", "严格执行《中国共产党纪律处分条例》"),
        ("支持村X组织领办创办合作社", "支持村党组织领办创办合作社"),
        ("省第十一次X代会", "省第十一次党代会"),
        ("完成“X建引领、社会治理”", "完成“党建引领、社会治理”"),
        ("在思想上ZZ上行动上", "在思想上政治上行动上"),
        ("新建5基站7000个", "新建5G基站7000个"),
        ("行政村5网络通达率100%", "行政村5G网络通达率100%"),
    ],
)
def test_placeholders_restored(masked, restored):
    assert restore_placeholders(masked) == restored


@pytest.mark.parametrize(
    "text",
    [
        "开展X射线安检设备升级",
        "购置X光机3台",
        "打造“5G+X”应用场景",
        "构建“543X”新赛道格局",
        "XX县XX镇",
        "Xbox and ZZ Top",
        "TX中央空调",
        "新建5G基站7000个",
        "建设5个基站",
        "排名全国第5名",
        "斩获5金3银",
        "打造G2B、G2C、B2B、B2C智慧化应用场景",
        "X的取值范围",
        "OXZZ建设",
    ],
)
def test_other_uses_untouched(text):
    assert restore_placeholders(text) == text


def test_every_rule_has_a_working_example():
    for pattern, _replacement, example in RULES:
        assert re.search(pattern, example), pattern
        assert restore_placeholders(example) != example


# --- chunking -----------------------------------------------------------------------------------


@pytest.mark.parametrize("max_chars", [350, 120, 60])
def test_chunks_cover_paragraphs_within_the_limit(corpus, max_chars):
    for report in corpus.reports:
        chunks = chunk_report(report, max_chars=max_chars)
        by_paragraph: dict[int, list] = {}
        for c in chunks:
            assert len(c.text) <= max_chars
            assert c.report_id == report.id and c.header.startswith(f"{report.region} {report.year}年政府工作报告")
            by_paragraph.setdefault(c.paragraph, []).append(c)
        for p in report.paragraphs:
            if p.kind == "heading":
                assert p.number not in by_paragraph
                continue
            parts = by_paragraph[p.number]
            assert [c.part for c in parts] == list(range(len(parts)))
            assert "".join(c.text for c in parts) == p.text


def test_long_paragraphs_split_at_sentence_ends(corpus):
    """A cut falls after 。！？；, unless the sentence it falls in is itself longer than max_chars."""
    max_chars = 350
    for report in corpus.reports:
        chunks = chunk_report(report, max_chars=max_chars)
        for a, b in zip(chunks, chunks[1:]):
            if a.paragraph != b.paragraph:
                continue
            if a.text.rstrip("”’」』）)")[-1] in "。！？!?；;":
                continue
            text = report.paragraph(a.paragraph).text
            cut = text.index(a.text) + len(a.text)
            start = max(text.rfind(ch, 0, cut) for ch in "。！？；") + 1
            ends = [i for i in (text.find(ch, cut) for ch in "。！？；") if i >= 0]
            sentence = text[start : (min(ends) + 1 if ends else len(text))]
            assert len(sentence) > max_chars, (a.id, a.text[-20:])
            assert a.text[-1] in "，,", (a.id, a.text[-20:])


def test_over_long_sentence_splits_at_commas_never_inside_a_number():
    sentence = "，".join(f"第{i}项指标增长12.5%、总额3,456.7亿元" for i in range(1, 30)) + "。"
    pieces = split_text(sentence, 100)
    assert "".join(pieces) == sentence and all(len(p) <= 100 for p in pieces)
    assert all(p.endswith(("，", "。")) for p in pieces)
    no_commas = "增长" + "1234567890" * 30 + "万元。"
    pieces = split_text(no_commas, 100)
    assert "".join(pieces) == no_commas and all(len(p) <= 100 for p in pieces)


def test_chunk_header_is_short_and_carries_the_section(corpus):
    jinan = corpus.report("济南-2024")
    chunk = next(c for c in chunk_report(jinan) if c.text.startswith("提升科技创新策源功能"))
    assert chunk.header == "济南市 2024年政府工作报告 · 二、2024年政府工作安排 > (三)大力实施创新驱动,全面推进科教强市…"
    assert chunk.embed_text.startswith(chunk.header + "\n")
    assert chunk.id == f"济南-2024-p{chunk.paragraph}-c0"
    assert all(len(c.header) <= 80 for r in corpus.reports for c in chunk_report(r))


# --- store --------------------------------------------------------------------------------------


def test_store_round_trip(tmp_path, corpus):
    path = save_corpus(corpus, tmp_path / "sub" / "corpus.json")
    assert load_corpus(path).to_dict() == corpus.to_dict()
    assert [p.name for p in path.parent.iterdir()] == ["corpus.json"]  # no temp file left behind


def test_store_errors_name_the_file(tmp_path, corpus):
    with pytest.raises(IngestError, match="missing.json"):
        load_corpus(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "govqa-corpus", "version": 1, "reports": [', encoding="utf-8")
    with pytest.raises(IngestError, match="corrupt") as err:
        load_corpus(bad)
    assert "bad.json" in str(err.value) and err.value.fix
    old = tmp_path / "old.json"
    data = corpus.to_dict()
    data["version"] = 0
    old.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(IngestError, match="version"):
        load_corpus(old)
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}', encoding="utf-8")
    with pytest.raises(IngestError, match="not a govqa-corpus"):
        load_corpus(other)


def test_failed_save_keeps_the_old_file(tmp_path, corpus):
    path = save_corpus(corpus, tmp_path / "corpus.json")
    before = path.read_bytes()

    class Unserialisable:
        pass

    broken = load_corpus(path)
    broken.reports[0].extra["x"] = Unserialisable()
    with pytest.raises(TypeError):
        save_corpus(broken, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["corpus.json"]


# --- catalogue ----------------------------------------------------------------------------------


def test_catalogue_rows(corpus):
    rows = catalogue_rows(corpus)
    assert len(rows) == 11 + 16
    assert all(
        set(row)
        == {"region", "year", "level", "province", "paragraphs", "chars", "warnings", "id", "source", "provenance"}
        for row in rows
    )
    by_id = {row["id"]: row for row in rows if row["id"]}
    assert by_id["内江-2024"]["warnings"].startswith("正文不完整（截断）")
    assert by_id["济南-2024"]["level"] == "地级市" and by_id["济南-2024"]["province"] == "山东省"
    assert by_id["济南-2024"]["paragraphs"] == len(corpus.report("济南-2024").paragraphs)
    listed = [row for row in rows if not row["id"]]
    assert all(row["paragraphs"] == 0 and row["warnings"] == "仅见于目录，无正文" for row in listed)
    gaogang = next(row for row in listed if row["region"] == "泰州市高港区")
    assert (gaogang["level"], gaogang["province"]) == ("市辖区", "江苏省")


# --- gazetteer ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name,level,province,short",
    [
        ("济南市", "prefecture", "山东省", "济南"),
        ("北京市", "province", "北京市", "北京"),
        ("河北省", "province", "河北省", "河北"),
        ("宁夏回族自治区", "province", "宁夏回族自治区", "宁夏"),
        ("新疆维吾尔自治区", "province", "新疆维吾尔自治区", "新疆"),
        ("泰州市高港区", "district", "江苏省", "高港区"),
        ("盱眙县", "county", "江苏省", "盱眙县"),
        ("江阴市", "county-city", "江苏省", "江阴"),
        ("延边朝鲜族自治州", "prefecture", "吉林省", "延边"),
    ],
)
def test_gazetteer(name, level, province, short):
    place = gazetteer().find(name)
    assert (place.level, place.province, short_name(place)) == (level, province, short)
    assert place.level in LEVELS


def test_gazetteer_ambiguous_name_needs_its_city():
    assert gazetteer().find("朝阳区") is None
    assert gazetteer().find("北京市朝阳区").province == "北京市"


def test_paths_outside_the_working_directory_are_shown_absolute(tmp_path, monkeypatch):
    from ingest.loader import display_path

    inside = tmp_path / "work"
    (inside / "reports").mkdir(parents=True)
    monkeypatch.chdir(inside)
    assert display_path(Path("reports/a.txt")) == "reports/a.txt"
    assert display_path(inside / "reports" / "a.txt") == "reports/a.txt"
    assert display_path(tmp_path / "elsewhere" / "b.txt") == (tmp_path / "elsewhere" / "b.txt").as_posix()
    assert ".." not in display_path(Path("../elsewhere/b.txt"))


@pytest.mark.parametrize(
    "title",
    [
        "衡水市2024年政府工作报告",
        "衡水市人民政府2024年政府工作报告",
        "2024年衡水市政府工作报告",
        "衡水市2024年度政府工作报告",
    ],
)
def test_the_year_is_read_from_the_title_before_or_after_the_region(tmp_path, title):
    """A title alone (no meeting line, no date) names the report, whichever order its year and region come in."""
    path = tmp_path / "report.txt"
    path.write_text(
        f"{title}\n各位代表：\n过去一年，全市地区生产总值增长6.2%，新建城市书房二十八座。\n"
        "今年全市经济社会发展的主要预期目标是：地区生产总值增长6%左右。\n",
        encoding="utf-8",
    )
    corpus = load_reports([path])
    assert not [p for p in corpus.problems if not p.warning], corpus.problems
    (report,) = corpus.reports
    assert (report.id, report.region, report.year, report.province) == ("衡水-2024", "衡水市", 2024, "河北省")
    assert report.provenance["year"] == "title"
