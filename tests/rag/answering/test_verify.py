"""The answer check: invented marks go, claims with unsupported figures go, quotes come from the cited paragraph."""

import pytest

from rag.answering.verify import verify
from rag.types import Hit

# Real paragraphs from the seed reports (济南 2024, 沈阳 2024 in 004; 保定 2023 in 002), paragraph numbers made up.
JINAN_TARGETS = (
    "经济社会发展主要预期目标是:地区生产总值增长5.5%以上;一般公共预算收入增长5%左右;规模以上工业增加值增长7%以上;"
    "固定资产投资增长5%左右;社会消费品零售总额增长5%以上;城乡居民人均可支配收入分别增长5.5%左右和6.5%以上;"
    "居民消费价格涨幅控制在3%左右;完成省下达的节能减排降碳约束性指标和环境质量改善目标。"
)
SHENYANG_TARGETS = (
    "今年全市经济社会发展主要预期目标是:地区生产总值增长6%以上;一般公共预算收入增长6%;固定资产投资增长8%;"
    "社会消费品零售总额增长8%;规模以上工业增加值增长7%;城镇和农村居民人均可支配收入增长与经济增长基本同步;"
    "全社会研发经费投入增长10%;单位地区生产总值能耗下降3.2%。"
)
BAODING_REVIEW = (
    "一是经济运行稳中有进、稳中向好。落实国家、省稳经济政策措施,出台稳经济运行“1+11+1”政策体系[2],精准释放政策红利。"
    "全市生产总值完成3880.3亿元,增长3.8%;地方一般公共预算收入完成315.6亿元,扣除留抵退税因素后增长7.2%;"
    "规模以上工业增加值增长0.8%;固定资产投资增长8.1%。"
)
BAODING_TARGETS = (
    "经济社会发展主要预期目标是:生产总值增长7%左右,一般公共预算收入增长7%左右,规模以上工业增加值增长6.5%以上,"
    "固定资产投资增长8.5%左右,力争主要经济指标总量(增速)进入全省前列。"
)

HITS = [
    Hit("济南-2024", "济南市", "济南", 2024, 40, "一、2023年工作回顾", JINAN_TARGETS, 0.9),
    Hit("沈阳-2024", "沈阳市", "沈阳", 2024, 30, "二、2024年工作安排", SHENYANG_TARGETS, 0.8),
    Hit("保定-2023", "保定市", "保定", 2023, 5, "一、回顾2022年政府工作", BAODING_REVIEW, 0.7),
    Hit("保定-2023", "保定市", "保定", 2023, 20, "二、2023年工作安排", BAODING_TARGETS, 0.6),
]

JN, SY, BD5, BD20 = (h.mark for h in HITS)


@pytest.mark.parametrize(
    "answer, kept_text, unsupported",
    [
        # supported figures stay, tolerant marks become canonical
        (
            "保定2022年生产总值完成3880.3亿元，增长3.8%【保定·2023·第5段】。",
            f"保定2022年生产总值完成3880.3亿元，增长3.8%{BD5}。",
            [],
        ),
        ("保定2022年生产总值完成3880.3 亿元[保定市·2023·5]。", f"保定2022年生产总值完成3880.3 亿元{BD5}。", []),
        (
            "保定2022年生产总值完成３８８０.３亿元。【保定-2023-p5】",
            f"保定2022年生产总值完成３８８０.３亿元。{BD5}",
            [],
        ),
        # a wrong number
        (
            "保定2022年生产总值完成3880.4亿元【保定·2023·第5段】。",
            "",
            ["保定2022年生产总值完成3880.4亿元【保定·2023·第5段】。"],
        ),
        # the figure exists only in another city's paragraph
        (
            "济南2024年地区生产总值预期增长6%以上【济南·2024·第40段】。",
            "",
            ["济南2024年地区生产总值预期增长6%以上【济南·2024·第40段】。"],
        ),
        # two cities in one sentence: each figure is checked against the mark that follows it
        (
            f"济南地区生产总值预期增长6%以上{JN}，沈阳增长5.5%以上{SY}。",
            "",
            [f"济南地区生产总值预期增长6%以上{JN}，沈阳增长5.5%以上{SY}。"],
        ),
        (
            f"济南地区生产总值预期增长5.5%以上{JN}，沈阳增长6%以上{SY}。",
            f"济南地区生产总值预期增长5.5%以上{JN}，沈阳增长6%以上{SY}。",
            [],
        ),
        # a changed qualifier: 左右 -> 以上
        (
            "保定2023年生产总值预期增长7%以上【保定·2023·第20段】。",
            "",
            ["保定2023年生产总值预期增长7%以上【保定·2023·第20段】。"],
        ),
        # dropping the text's qualifier is allowed
        ("保定2023年生产总值预期增长7%【保定·2023·第20段】。", f"保定2023年生产总值预期增长7%{BD20}。", []),
        # a figure with no mark at all
        ("保定2023年生产总值预期增长7%左右。", "", ["保定2023年生产总值预期增长7%左右。"]),
        # a figure whose only mark is invented: the mark goes, then the claim goes
        ("杭州2024年生产总值增长6%【杭州·2024·第3段】。", "", ["杭州2024年生产总值增长6%。"]),
        # years, dates, ordinals and marks are not figures: no figure, the claim stays
        (
            "2024年1月10日的济南报告把2024年定为“项目深化年”，见第40段【济南·2024·第40段】。",
            f"2024年1月10日的济南报告把2024年定为“项目深化年”，见第40段{JN}。",
            [],
        ),
        # a claim without figures still needs a citation; one obeying text planted in a report goes
        (
            f"保定生产总值完成3880.3亿元{BD5}。另外，所有目标均已取消。",
            f"保定生产总值完成3880.3亿元{BD5}。",
            ["另外，所有目标均已取消。"],
        ),
        # structural lines stay without marks: a heading, 未提及, a catalogue note
        (
            "根据现有报告：\n- 福州：未提及。\n注：库中没有杭州市的报告。",
            "根据现有报告：\n- 福州：未提及。\n注：库中没有杭州市的报告。",
            [],
        ),
        # a context header copied back by a small model states nothing: it goes, marks and all
        (
            f"{BD5} 保定市 · 2023年政府工作报告 · 一、回顾2022年政府工作\n保定生产总值完成3880.3亿元{BD5}。",
            f"保定生产总值完成3880.3亿元{BD5}。",
            [f"{BD5} 保定市 · 2023年政府工作报告 · 一、回顾2022年政府工作"],
        ),
        (f"[2] {JN} 济南市 · 2024年政府工作报告", "", [f"[2] {JN} 济南市 · 2024年政府工作报告"]),
        # one bad sentence among good ones: only it goes
        (
            f"保定生产总值完成3880.3亿元{BD5}。保定固定资产投资增长9%{BD5}。保定规上工业增长0.8%{BD5}。",
            f"保定生产总值完成3880.3亿元{BD5}。保定规上工业增长0.8%{BD5}。",
            [f"保定固定资产投资增长9%{BD5}。"],
        ),
    ],
)
def test_verify_claims(answer, kept_text, unsupported):
    v = verify(answer, HITS)
    assert v.text == kept_text
    assert v.unsupported == unsupported


def test_invented_mark_removed_and_reported():
    v = verify(f"济南提出要推动经济实现质的有效提升【济南·2024·第99段】{JN}。", HITS)
    assert v.text == f"济南提出要推动经济实现质的有效提升{JN}。"
    assert v.dropped_marks == ["济南·2024·第99段"]
    assert [c.id for c in v.citations] == ["济南-2024-p40"]


def test_comparison_table_with_unmentioned_city_kept():
    answer = "\n".join(
        [
            "根据现有报告：",
            "| 城市 | 地区生产总值预期增速 |",
            "|---|---|",
            "| 济南 | 5.5%以上【济南·2024·第40段】 |",
            "| 沈阳 | 6%以上【沈阳市·2024·第30段】 |",
            "| 保定 | 7%以上【保定·2023·第20段】 |",
            "| 福州 | 未提及 |",
        ]
    )
    v = verify(answer, HITS)
    assert v.text.split("\n") == [
        "根据现有报告：",
        "| 城市 | 地区生产总值预期增速 |",
        "|---|---|",
        f"| 济南 | 5.5%以上{JN} |",
        f"| 沈阳 | 6%以上{SY} |",
        "| 福州 | 未提及 |",
    ]
    assert v.unsupported == ["| 保定 | 7%以上【保定·2023·第20段】 |"]
    assert [c.id for c in v.citations] == ["济南-2024-p40", "沈阳-2024-p30"]


def test_comparison_list_with_unmentioned_city_kept():
    answer = (
        "两市2024年的预期目标：\n"
        "- 济南：固定资产投资增长5%左右【济南·2024·第40段】。\n"
        "- 沈阳：固定资产投资增长8%【沈阳·2024·第30段】。\n"
        "- 保定：2024年报告未提及。"
    )
    v = verify(answer, HITS)
    assert v.text == answer.replace("【济南·2024·第40段】", JN).replace("【沈阳·2024·第30段】", SY)
    assert v.unsupported == []
    assert [c.id for c in v.citations] == ["济南-2024-p40", "沈阳-2024-p30"]


@pytest.mark.parametrize(
    "answer, mark, quote",
    [
        (f"济南地区生产总值预期增长5.5%以上{JN}。", JN, "经济社会发展主要预期目标是:地区生产总值增长5.5%以上;"),
        (f"沈阳单位地区生产总值能耗下降3.2%{SY}。", SY, "单位地区生产总值能耗下降3.2%。"),
        (
            f"保定生产总值3880.3亿元、增长3.8%，财政收入315.6亿元{BD5}。",
            BD5,
            "全市生产总值完成3880.3亿元,增长3.8%;地方一般公共预算收入完成315.6亿元,扣除留抵退税因素后增长7.2%;",
        ),
        # no figure: the sentence sharing the most characters with the claim
        (
            f"保定出台了稳经济运行政策体系，精准释放政策红利{BD5}。",
            BD5,
            "落实国家、省稳经济政策措施,出台稳经济运行“1+11+1”政策体系[2],精准释放政策红利。",
        ),
    ],
)
def test_quote_is_the_supporting_sentence(answer, mark, quote):
    v = verify(answer, HITS)
    (c,) = v.citations
    assert c.mark == mark
    assert c.quote == quote
    assert c.quote in c.text


def test_citations_in_order_of_first_appearance_without_repeats():
    answer = f"沈阳固定资产投资增长8%{SY}。济南固定资产投资增长5%左右{JN}。沈阳社会消费品零售总额增长8%{SY}。"
    v = verify(answer, HITS)
    assert [c.id for c in v.citations] == ["沈阳-2024-p30", "济南-2024-p40"]
    assert all(c.quote and c.quote in c.text for c in v.citations)
    assert v.citations[0].quote == "固定资产投资增长8%;社会消费品零售总额增长8%;"


def test_a_removed_claim_cites_nothing():
    v = verify(f"沈阳固定资产投资增长9%{SY}。济南固定资产投资增长5%左右{JN}。", HITS)
    assert [c.id for c in v.citations] == ["济南-2024-p40"]


# --- a figure must be stated for what the claim says it measures (issue 13) ---------------------------------
# 河北 2026 report (corpus-extra), one real sentence: two years and two values in one clause.
HEBEI_FIVE_YEARS = (
    "全省生产总值从2020年的3.68万亿元增长到2025年的4.93万亿元、实现万亿级跃升，一般公共预算收入从3826.5亿元增长到"
    "4398.6亿元，规上工业增加值年均增长6.5%，固定资产投资增速连续超过全国平均水平，社会消费品零售总额突破1.5万亿元，"
    "粮食产量稳定在760亿斤以上。"
)
HEBEI = Hit("河北-2026", "河北省", "河北", 2026, 4, "一、“十四五”时期发展成就", HEBEI_FIVE_YEARS, 0.5)
HB = HEBEI.mark


@pytest.mark.parametrize(
    "claim, kept",
    [
        # 6.5%以上 is in 济南's paragraph, but for 农村居民人均可支配收入, not for 地区生产总值
        (f"济南2024年地区生产总值增长目标为6.5%以上{JN}。", False),
        (f"济南2024年GDP预期目标：地区生产总值增长6.5%以上{JN}。", False),
        (f"济南2024年农村居民人均可支配收入增长6.5%以上{JN}。", True),
        (f"济南城乡居民人均可支配收入分别增长5.5%左右和6.5%以上{JN}。", True),
        (f"济南2024年地区生产总值增长目标为5.5%以上{JN}。", True),
        # 保定's 7%左右 belongs to 生产总值 and 一般公共预算收入, 6.5%以上 to 规模以上工业增加值
        (f"保定2023年一般公共预算收入预期增长6.5%以上{BD20}。", False),
        (f"保定2023年规模以上工业增加值预期增长6.5%以上{BD20}。", True),
        (f"保定2023年一般公共预算收入预期增长7%左右{BD20}。", True),
        (f"保定2023年固定资产投资预期增长7%左右{BD20}。", False),
        # the subject stated in the clause before: "生产总值完成…，增长3.8%"
        (f"保定2022年生产总值完成3880.3亿元，增长3.8%{BD5}。", True),
        (f"保定2022年地方一般公共预算收入完成315.6亿元{BD5}。", True),
        (f"保定2022年生产总值完成315.6亿元{BD5}。", False),
        (f"保定2022年固定资产投资增长0.8%{BD5}。", False),
        # a figure of another year in the same clause
        (f"河北2025年全省生产总值为3.68万亿元{HB}。", False),
        (f"河北2025年全省生产总值达到4.93万亿元{HB}。", True),
        (f"河北2020年全省生产总值为3.68万亿元{HB}。", True),
        (f"“十四五”期间河北全省生产总值从3.68万亿元增长到4.93万亿元{HB}。", True),
        (f"河北一般公共预算收入从3826.5亿元增长到4398.6亿元{HB}。", True),
        (f"河北规上工业增加值年均增长6.5%{HB}。", True),
        (f"河北社会消费品零售总额达到4.93万亿元{HB}。", False),
        # the figure is in another region's paragraph (保定 20: 规模以上工业增加值增长6.5%以上), cited as 济南's
        (f"济南规模以上工业增加值增长6.5%以上{JN}。", False),
        (f"济南地区生产总值增长6%以上{JN}。", False),  # 沈阳's target, not in 济南's paragraph at all
        (f"沈阳地区生产总值增长6%以上{SY}。", True),
    ],
)
def test_figure_is_bound_to_its_indicator_and_year(claim, kept):
    v = verify(claim, HITS + [HEBEI])
    assert (v.text == claim) is kept
    assert (v.unsupported == [claim]) is (not kept)


def test_wrong_indicator_goes_and_the_right_claims_stay():
    answer = (
        f"济南2024年地区生产总值预期增长5.5%以上{JN}。"
        f"一般公共预算收入增长6.5%以上{JN}。"
        f"城乡居民人均可支配收入分别增长5.5%左右和6.5%以上{JN}。"
    )
    v = verify(answer, HITS)
    assert v.unsupported == [f"一般公共预算收入增长6.5%以上{JN}。"]
    assert v.text == answer.replace(f"一般公共预算收入增长6.5%以上{JN}。", "")


def _sample_paragraphs():
    from ingest import load_reports
    from rag.settings import PROJECT_ROOT

    corpus = load_reports([PROJECT_ROOT / "data" / "reports"])
    return [(r, p) for r in corpus.reports for p in r.paragraphs if p.kind == "body"]


def test_a_verbatim_quote_of_any_sample_sentence_is_never_removed():
    """Every sentence of the sample corpus that states a figure, quoted the way the extractive answerer quotes
    it (a report heading, the sentence, its mark), keeps every figure, however many figures its paragraph has."""
    from rag.answering.numbers import extract_numbers
    from rag.index.sentences import split_sentences

    checked = 0
    for report, p in _sample_paragraphs():
        hit = Hit(report.id, report.region, report.short, report.year, p.number, p.section, p.text, 1.0)
        for s, e in split_sentences(p.text):
            sentence = p.text[s:e].strip().rstrip("，,、；;：: ")
            if not extract_numbers(sentence):
                continue
            sentence += "" if sentence.endswith(("。", "！", "？")) else "。"
            claim = f"据{report.region}{report.year}年政府工作报告（{report.year}年安排）：{sentence}{hit.mark}"
            v = verify(claim, [hit])
            assert v.unsupported == [], (hit.mark, sentence)
            checked += 1
    assert checked > 500  # the sample's sentences with figures, all of them
