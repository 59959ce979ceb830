"""Ingest the sample corpus (data/reports) and check reports, metadata and paragraph quality."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest import load_reports
from ingest.model import LEVELS

REPORTS = Path(__file__).resolve().parents[2] / "data" / "reports"


@pytest.fixture(scope="module")
def corpus():
    return load_reports([REPORTS])


def paragraphs_of(corpus, report_id):
    return corpus.report(report_id).paragraphs


def all_paragraphs(corpus):
    return [(r.id, p) for r in corpus.reports for p in r.paragraphs]


EXPECTED = [
    # id, region, level, province, year
    ("石家庄-2023", "石家庄市", "prefecture", "河北省", 2023),
    ("石家庄-2025", "石家庄市", "prefecture", "河北省", 2025),
    ("保定-2023", "保定市", "prefecture", "河北省", 2023),
    ("廊坊-2023", "廊坊市", "prefecture", "河北省", 2023),
    ("济南-2024", "济南市", "prefecture", "山东省", 2024),
    ("沈阳-2024", "沈阳市", "prefecture", "辽宁省", 2024),
    ("福州-2024", "福州市", "prefecture", "福建省", 2024),
    ("本溪-2024", "本溪市", "prefecture", "辽宁省", 2024),
    ("盘锦-2024", "盘锦市", "prefecture", "辽宁省", 2024),
    ("商丘-2024", "商丘市", "prefecture", "河南省", 2024),
    ("内江-2024", "内江市", "prefecture", "四川省", 2024),
]


def test_sample_corpus_gives_exactly_the_eleven_reports(corpus):
    assert sorted(r.id for r in corpus.reports) == sorted(e[0] for e in EXPECTED)
    assert corpus.problems == []


@pytest.mark.parametrize("report_id,region,level,province,year", EXPECTED)
def test_report_metadata(corpus, report_id, region, level, province, year):
    r = corpus.report(report_id)
    assert (r.region, r.level, r.province, r.year) == (region, level, province, year)
    assert r.short == report_id.split("-")[0]
    assert r.level in LEVELS
    assert r.provenance["province"] == "gazetteer" and r.provenance["level"] == "gazetteer"
    assert len(r.paragraphs) >= 20
    assert r.source.endswith(".txt") and len(r.source_sha256) == 64


@pytest.mark.parametrize(
    "report_id,meeting,date,speaker,abridged",
    [
        ("石家庄-2023", "市第十五届人民代表大会第四次会议", None, "马宇骏", True),
        ("保定-2023", "保定市第十六届人民代表大会第四次会议", "2023-01-30", "闫继红", False),
        ("廊坊-2023", "廊坊市八届人大五次会议", "2023-01-16", "李国勇", True),
        ("济南-2024", "济南市第十八届人民代表大会第三次会议", "2024-01-10", None, False),
        ("盘锦-2024", "盘锦市第九届人民代表大会第三次会议", "2024-01-04", None, False),
        ("商丘-2024", None, None, None, False),
        ("内江-2024", "内江市第八届人民代表大会第四次会议", "2024-01-13", None, False),
    ],
)
def test_meeting_date_speaker(corpus, report_id, meeting, date, speaker, abridged):
    r = corpus.report(report_id)
    assert (r.meeting, r.date, r.speaker, r.abridged) == (meeting, date, speaker, abridged)


@pytest.mark.parametrize(
    "report_id,field,source",
    [
        ("石家庄-2025", "year", "manifest"),
        ("石家庄-2025", "region", "manifest"),
        ("石家庄-2023", "year", "text"),  # from the heading "2023年重点工作"
        ("石家庄-2023", "region", "inferred"),  # the text names no city in its title block
        ("保定-2023", "year", "title"),
        ("保定-2023", "region", "title"),
        ("廊坊-2023", "region", "text"),  # from the meeting line 廊坊市八届人大五次会议
        ("廊坊-2023", "year", "text"),
    ],
)
def test_provenance(corpus, report_id, field, source):
    assert corpus.report(report_id).provenance[field] == source


def test_region_inference_is_not_silent(corpus):
    assert any("推断" in w and "石家庄" in w for w in corpus.report("石家庄-2023").warnings)


CHROME = {
    "保定-2023": [
        "设为首页",
        "查看:",
        "回复:",
        "签到",
        "积分",
        "发表于",
        "复制链接",
        "TA的每日心情",
        "Rank",
        "您需要登录",
        "本版积分规则",
        "客服中心",
        "Powered by",
        "快速回复",
        "返回顶部",
        "[河北]",
    ],
    "廊坊-2023": ["来源:", "作者:", "字体:", "《廊坊日报》", "相关链接", "浏览量", "图解"],
    "*": ["更多资料", "更多材料", "公众号", "哒哒君", "AAA:", "uk:xx", "正文复制", "目 录", "\x00"],
}


def test_no_site_chrome_left(corpus):
    for report_id, p in all_paragraphs(corpus):
        for needle in CHROME.get(report_id, []) + CHROME["*"]:
            assert needle not in p.text, (report_id, p.number, needle)


def test_no_page_jump_marks_left(corpus):
    mark = re.compile(r"[上下]\s*(转|接)\s*(第\s*)?[0-9０-９]+\s*版")
    for report_id, p in all_paragraphs(corpus):
        assert not mark.search(p.text), (report_id, p.number, p.text[:40])


@pytest.mark.parametrize(
    "report_id,sentence",
    [
        # 000 breaks words across lines: 石家 / 庄工匠, 民生工 / 程, 第一附属 / 医院
        ("石家庄-2023", "开展“金蓝领”技能人才培育计划,培养更多“石家庄工匠”"),
        ("石家庄-2023", "千方百计解民忧、纾民困、暖民心,20项民生工程和10件民生实事圆满完成"),
        ("石家庄-2023", "天津中医药大学第一附属医院石家庄医院"),
        # 001: 促进优质医疗资源扩容下沉 / 和均衡布局
        ("石家庄-2025", "促进优质医疗资源扩容下沉和均衡布局,加快北京大学人民医院石家庄医院"),
        # 004 hard-wraps mid-sentence (at page breaks) and pastes watermarks mid-sentence
        ("济南-2024", "整体智治框架搭建完成,机关内部系统实现优化整合"),
        ("济南-2024", "4家企业入选2023年中国民营企业500强"),
        ("济南-2024", "积极争创全国营商环境创新试点城市"),
        ("济南-2024", "黄河创新孵化产业园等一批优质产业项目"),
        ("沈阳-2024", "努力在辽宁打造国家重大战略支撑地中当好排头兵。"),
        ("福州-2024", "实施棚户区改造项目20个,开工老旧小区改造项目315个"),
        ("盘锦-2024", "让全市人民更加热爱盘锦、乐享盘锦。"),
        ("商丘-2024", "让更多商丘出品成为国人餐桌上的首选。"),
    ],
)
def test_broken_sentences_are_whole_again(corpus, report_id, sentence):
    hits = [p.number for p in paragraphs_of(corpus, report_id) if sentence in p.text]
    assert len(hits) == 1, (sentence, hits)


def test_paragraphs_are_whole_paragraphs(corpus):
    """Every body paragraph of a full report ends a sentence (except the truncated 内江 one) and
    no paragraph starts with a closing mark or a comma (a sign of a wrong split)."""
    for report_id, p in all_paragraphs(corpus):
        assert p.text == p.text.strip() and p.text
        assert not re.match(r"^[，,。、；;：:”）)]", p.text), (report_id, p.number, p.text[:30])
    for r in corpus.reports:
        if r.id in ("石家庄-2023", "内江-2024"):  # 000 is a list of bullet points; 内江 is cut off
            continue
        for p in r.paragraphs:
            if p.kind == "body":
                assert p.text.rstrip("”’」』）)】》")[-1] in "。！？!?；;…：:", (r.id, p.number, p.text[-30:])


def test_page_jump_in_000_keeps_items_and_page_headline(corpus):
    paras = paragraphs_of(corpus, "石家庄-2023")
    texts = [p.text for p in paras]
    item = texts.index("制定出台《县域经济高质量发展提升攻坚三年行动计划》")
    headline = paras[item + 1]
    assert (headline.text, headline.kind) == ("实现经济总量过万亿根基更稳底气更足", "heading")
    assert paras[item + 2].text == "7 坚持科学精准,全力以赴处置疫情"
    assert not any(t.startswith(("-", "*")) for t in texts)  # bullet characters stripped


def test_baoding_footnotes_are_paragraphs(corpus):
    notes = [p for p in paragraphs_of(corpus, "保定-2023") if p.kind == "footnote"]
    assert [re.match(r"^\[(\d+)\]", p.text).group(1) for p in notes] == [str(n) for n in range(1, 32)]
    assert all(p.section == "名词解释" for p in notes)
    assert any("风力发电、太阳能发电、水利发电" in p.text for p in notes)
    # markers stay in the body text, pointing at the notes
    assert any("“1+11+1”政策体系[2]" in p.text and p.kind == "body" for p in paragraphs_of(corpus, "保定-2023"))


def test_baoding_heading_sharing_a_line_with_its_first_paragraph(corpus):
    paras = paragraphs_of(corpus, "保定-2023")
    assert (paras[0].kind, paras[0].text) == ("heading", "一、回顾2022年政府工作——经济稳中有进,信心持续提振")
    assert paras[1].kind == "body" and paras[1].text.startswith("刚刚过去的一年,是党和国家历史上极为重要的一年。")
    assert paras[1].section == "一、回顾2022年政府工作——经济稳中有进,信心持续提振"
    subtitled = [p.text for p in paras if p.kind == "heading"]
    assert "二、阔步迈上新征程——构建新场景,书写新奋斗" in subtitled


@pytest.mark.parametrize(
    "report_id,fragment,section",
    [
        (
            "济南-2024",
            "提升科技创新策源功能。",
            "二、2024年政府工作安排 > (三)大力实施创新驱动,全面推进科教强市人才兴市",
        ),
        ("济南-2024", "(二)全力以赴稳定经济增长", "一、2023年工作回顾 > (二)全力以赴稳定经济增长,进中向好态势加快巩固"),
        (
            "石家庄-2023",
            "谋划推进大科学装置建设",
            "2023年重点工作 > 1 不遗余力培育创新动能 加快锻造发展核心引擎 > 提高科技创新“硬实力”",
        ),
        (
            "廊坊-2023",
            "全力推动北三县与通州区一体化高质量发展。",
            "2023年主要工作任务 > (一)创新一体化同城化路径,在推进京津冀协同发展上实现新突破",
        ),
        ("石家庄-2025", "我们将牢记初心使命", "三、持续打造人民满意的有为政府"),
    ],
)
def test_section_paths(corpus, report_id, fragment, section):
    p = next(p for p in paragraphs_of(corpus, report_id) if p.text.startswith(fragment))
    assert p.section == section


def test_placeholders_restored_and_other_letters_untouched(corpus):
    texts = [p.text for _, p in all_paragraphs(corpus)]
    joined = "\n".join(texts)
    assert not re.search(r"X的|X中央|ZZ|XXXX|治X|民主X派|无X派|对X忠诚|X风廉政|X政", joined)
    assert "构建“543X”新赛道格局" in joined  # a real X, not a placeholder
    jinan = "\n".join(p.text for p in paragraphs_of(corpus, "济南-2024"))
    assert "全面贯彻落实党的二十大精神" in jinan and "确保党中央各项决策部署在济南见行见效" in jinan
    assert "强化政治建设,进一步锤炼忠诚品格" in jinan
    fuzhou = "\n".join(p.text for p in paragraphs_of(corpus, "福州-2024"))
    assert "严格落实全面从严治党政治责任" in fuzhou
    assert "新建5G基站" in jinan
    assert "5G+车路协同" in "\n".join(p.text for p in paragraphs_of(corpus, "保定-2023"))


def test_paragraph_numbers_are_stable_and_consecutive(corpus):
    again = load_reports([REPORTS])
    reversed_order = load_reports(sorted(REPORTS.glob("*.txt"), reverse=True), manifest=REPORTS / "manifest.toml")

    def key(c):
        return {r.id: [(p.number, p.text, p.section, p.kind) for p in r.paragraphs] for r in c.reports}

    assert key(again) == key(corpus) == key(reversed_order)
    for r in corpus.reports:
        assert [p.number for p in r.paragraphs] == list(range(1, len(r.paragraphs) + 1))
        assert all(p.report_id == r.id for p in r.paragraphs)
        assert r.paragraph(3).number == 3


def test_compilation_table_of_contents(corpus):
    listed = corpus.listed
    assert len(listed) == 23
    with_text = {x.region: x.report_id for x in listed if x.has_text}
    assert with_text == {
        "济南市": "济南-2024",
        "沈阳市": "沈阳-2024",
        "福州市": "福州-2024",
        "本溪市": "本溪-2024",
        "盘锦市": "盘锦-2024",
        "商丘市": "商丘-2024",
        "内江市": "内江-2024",
    }
    without = [x for x in listed if not x.has_text]
    assert len(without) == 16 and all(x.report_id is None for x in without)
    assert {"江阴市", "泰州市高港区", "盱眙县", "无锡市锡山区"} <= {x.region for x in without}
    assert all(x.year == 2024 and x.source.endswith("004_856a73ee7808871b.txt") for x in listed)
    toc_line = re.compile(r"^\d+\.\s*2024年度?.+政府工作报告\s*\d+$")
    for _, p in all_paragraphs(corpus):
        assert not toc_line.match(p.text) and p.text not in ("合集", "一、地级市", "二、县级市", "三、县区")


def test_truncated_report_is_flagged(corpus):
    truncated = {r.id for r in corpus.reports if r.truncated}
    assert truncated == {"内江-2024"}
    neijiang = corpus.report("内江-2024")
    assert any("截断" in w for w in neijiang.warnings)
    assert neijiang.paragraphs[-1].text.endswith("新增4个省级临床重点")


def test_fragment_001_is_flagged_as_starting_mid_report(corpus):
    r = corpus.report("石家庄-2025")
    assert any("中途开始" in w for w in r.warnings)
    assert r.paragraphs[0].text.startswith("扩大有效益的投资。")
