"""Ingest the eight provincial 2026 reports of shared/corpus-extra (CSV with portal chrome)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest import load_reports

EXTRA = Path(__file__).resolve().parents[3] / "shared" / "corpus-extra"

pytestmark = pytest.mark.skipif(not EXTRA.is_dir(), reason="shared/corpus-extra is not beside the repo")

EXPECTED = [
    # id, region, speaker, meeting
    ("北京-2026", "北京市", "殷勇", "北京市第十六届人民代表大会第四次会议"),
    ("吉林-2026", "吉林省", "胡玉亭", "吉林省第十四届人民代表大会第五次会议"),
    ("四川-2026", "四川省", "施小琳", "四川省第十四届人民代表大会第五次会议"),
    ("宁夏-2026", "宁夏回族自治区", "张雨浦", "宁夏回族自治区第十三届人民代表大会第四次会议"),
    ("广东-2026", "广东省", "孟凡利", "广东省第十四届人民代表大会第五次会议"),
    ("河北-2026", "河北省", "王正谱", "河北省第十四届人民代表大会第四次会议"),
    ("湖南-2026", "湖南省", "毛伟明", "湖南省第十四届人民代表大会第四次会议"),
    ("辽宁-2026", "辽宁省", "王新伟", "辽宁省第十四届人民代表大会第五次会议"),
]

CHROME = [
    "【字号",
    "【字体",
    "来源：",
    "来源:",
    "时间：",
    "本报记者",
    "责任编辑",
    "扫一扫",
    "相关报道：",
    "相关附件>>",
    "相关链接>>",
    "关闭窗口",
    "阅读量",
    "当前位置",
    "分享：",
    "发表时间",
    "李莎莎",
    "宁夏日报客户端",
    "abcd39f1fb7f426d9dfb6bd0fa1f2146",
]


@pytest.fixture(scope="module")
def corpus():
    return load_reports([EXTRA])


def test_eight_province_level_reports(corpus):
    assert corpus.problems == []
    assert sorted(r.id for r in corpus.reports) == sorted(e[0] for e in EXPECTED)


@pytest.mark.parametrize("report_id,region,speaker,meeting", EXPECTED)
def test_metadata(corpus, report_id, region, speaker, meeting):
    r = corpus.report(report_id)
    assert (r.region, r.province, r.level, r.year) == (region, region, "province", 2026)
    assert (r.speaker, r.meeting) == (speaker, meeting)
    assert r.date and r.date.startswith("2026-0")
    assert r.provenance["year"] == "csv" and r.provenance["region"] == "csv" and r.provenance["title"] == "csv"
    assert r.extra["source_url"].startswith("https://") and r.extra["publish_date"].startswith("2026-")
    assert not r.truncated
    assert r.paragraphs[0].text.startswith("各位代表：现在，我代表")


def test_no_portal_chrome(corpus):
    for r in corpus.reports:
        for p in r.paragraphs:
            for needle in CHROME:
                assert needle not in p.text, (r.id, p.number, needle, p.text[:40])
            assert not p.text.endswith("摄"), (r.id, p.number)  # photo captions
            assert p.text not in ("下载", "打印", "全屏", "收藏", "加大", "还原", "减小", "大", "中", "小", "】")
        assert r.paragraphs[-1].kind == "footnote" or r.paragraphs[-1].text.endswith(("！", "。"))


def test_split_inline_fragments_are_joined(corpus):
    guangdong = "\n".join(p.text for p in corpus.report("广东-2026").paragraphs)
    assert "PM2.5年平均浓度保持在20微克/立方米左右" in guangdong
    assert "2026年是“十五五”第一年，开好局起好步十分重要。今年经济社会发展的主要预期目标是：" in guangdong
    sichuan = [p.text for p in corpus.report("四川-2026").paragraphs]
    assert any(t.startswith("7.“双向揭榜挂帅”") and t.endswith("带资金、带场景揭榜。") for t in sichuan)
    # the page repeated the title and first paragraph after its footer: not part of the report
    assert sum("向大会报告工作，请予审议" in t for t in sichuan) == 1


@pytest.mark.parametrize("report_id,count", [("四川-2026", 20), ("广东-2026", 13)])
def test_glossaries_are_footnotes(corpus, report_id, count):
    notes = [p for p in corpus.report(report_id).paragraphs if p.kind == "footnote"]
    assert len(notes) == count
    assert all(p.section.endswith("名词解释") for p in notes)
    assert notes[0].text.startswith("1.")
