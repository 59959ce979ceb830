"""Figures: normalisation, units, qualifiers, what is not a figure, and support by a paragraph."""

import pytest

from rag.answering.numbers import extract_numbers, number_supported

# Short real sentences from the seed reports (保定 2023, 济南 2024, 石家庄 2025, 石家庄 2023).
BAODING = "全市生产总值完成3880.3亿元,增长3.8%;地方一般公共预算收入完成315.6亿元,扣除留抵退税因素后增长7.2%。"
BAODING_TARGETS = "经济社会发展主要预期目标是:生产总值增长7%左右,一般公共预算收入增长7%左右,规模以上工业增加值增长6.5%以上,力争主要经济指标总量(增速)进入全省前列。"
SHIJIAZHUANG = "各县(市、区)立足县域资源和产业特点,集中优势力量、集中优质资源,重点发展 1-2 个特色产业集群。"


def figures(text):
    return [(n.value, n.unit, n.qualifiers) for n in extract_numbers(text)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("生产总值完成3880.3亿元", [("3880.3", "亿元", ())]),
        ("生产总值完成3880.3 亿元", [("3880.3", "亿元", ())]),
        ("生产总值完成３８８０.３亿元", [("3880.3", "亿元", ())]),
        ("生产总值完成３８８０．３亿元", [("3880.3", "亿元", ())]),
        ("增长6%左右", [("6", "%", ("左右",))]),
        ("增长6％左右", [("6", "%", ("左右",))]),
        ("增长6.0%", [("6", "%", ())]),
        ("完成1,234万元", [("1234", "万元", ())]),
        ("增长3.8\n%;", [("3.8", "%", ())]),
        ("增长5.5%以上", [("5.5", "%", ("以上",))]),
        ("力争主要指标增长7%左右", [("7", "%", ("力争", "左右"))]),
        ("新增创新平台50家以上", [("50", "家", ("以上",))]),
        ("年内省、市两级科技领军企业达到30家", [("30", "家", ("达到",))]),
        ("落实地方财政科技支出经费年均增速不低于30%目标", [("30", "%", ("不低于",))]),
        ("约1.5万人", [("1.5", "万人", ("约",))]),
        ("更新道路110多公里", [("110", "公里", ("多",))]),
        ("高出平均增速 5 个百分点以上", [("5", "个百分点", ("以上",))]),
        ("开工淑阳220千伏扩建等4个项目", [("220", "千伏", ()), ("4", "个", ())]),
        ("重点发展 1-2 个特色产业集群", [("1-2", "个", ())]),
        ("增长5.5%-6%", [("5.5-6", "%", ())]),
        ("增长5.5～6%", [("5.5-6", "%", ())]),
        ("提前3年完成", [("3", "年", ())]),
        # not figures
        ("2023年1月30日在保定市第十六届人民代表大会第四次会议上", []),
        ("2024年是“项目深化年”", []),
        ("刚刚过去的2023年,是开局之年", []),
        ("2022年至2025年", []),
        ("见济南2024报告", []),
        ("三期21个安置区12月开工", [("21", "个", ())]),
        ("发表于 2023-4-18 19:33:04", []),
        ("增长5%【济南·2024·第12段】", [("5", "%", ())]),
        ("位列全国第39位", []),
        ("“两个新样板”[1]目标要求", []),
        ("1. 增长5%", [("5", "%", ())]),
        ("(3) 完成8个", [("8", "个", ())]),
        ("1 不遗余力培育创新动能", []),
        ("“十四五”规划,两个新样板,三年行动,二〇二三年", []),
    ],
)
def test_extract_numbers(text, expected):
    assert figures(text) == expected


def test_raw_is_the_span_in_the_original_text():
    text = "完成３８８０.３ 亿元以上,增长6％左右"
    for n in extract_numbers(text):
        assert text[n.start : n.end] == n.raw
    assert [n.raw for n in extract_numbers(text)] == ["３８８０.３ 亿元以上", "6％左右"]


@pytest.mark.parametrize(
    "answer, paragraph, supported",
    [
        ("生产总值3880.3亿元", BAODING, True),
        ("生产总值3880.3 亿元", BAODING, True),
        ("生产总值３８８０.３亿元", BAODING, True),
        ("生产总值3880.3亿", BAODING, True),  # a bare magnitude matches 亿元
        ("生产总值3880.4亿元", BAODING, False),  # wrong number
        ("生产总值3880.3万元", BAODING, False),  # wrong unit
        ("增长3.8个百分点", BAODING, False),  # % is not 个百分点
        ("生产总值增长7%左右", BAODING_TARGETS, True),
        ("生产总值增长约7%", BAODING_TARGETS, True),  # 约 means 左右
        ("生产总值增长7%", BAODING_TARGETS, True),  # omitting the text's qualifier is allowed
        ("生产总值增长7%以上", BAODING_TARGETS, False),  # 左右 -> 以上 changes the meaning
        ("工业增加值力争增长6.5%以上", BAODING_TARGETS, False),  # 力争 is not at that figure
        ("工业增加值增长6.5%左右", BAODING_TARGETS, False),
        ("工业增加值增长超过6.5%", BAODING_TARGETS, True),  # 超过 means 以上
        ("重点发展1-2个特色产业集群", SHIJIAZHUANG, True),
        ("重点发展1到2个特色产业集群", SHIJIAZHUANG, True),
        ("重点发展2个特色产业集群", SHIJIAZHUANG, False),
    ],
)
def test_number_supported(answer, paragraph, supported):
    (number,) = extract_numbers(answer)
    assert number_supported(number, paragraph) is supported
