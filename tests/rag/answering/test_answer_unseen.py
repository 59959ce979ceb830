"""Answers on reports and wordings nothing was tuned on: the eight provincial 2026 reports of ../shared/corpus-extra.

The five questions of issue 11 (colloquial wording, 今年/去年/十四五/这五年 without a year) and the rules that
keep periods apart: a five-year figure is never labelled as the previous year's. The model answering them was
fit on eval/questions.jsonl (the sample corpus) only. Skipped when ../shared/corpus-extra is not beside the repo.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
EXTRA = ROOT.parent / "shared" / "corpus-extra"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(900),  # the first test builds an e5 index of eight reports
    pytest.mark.skipif(not EXTRA.is_dir(), reason="../shared/corpus-extra is not beside the repo"),
]


@pytest.fixture(scope="module")
def extra(tmp_path_factory):
    """An Assistant over the eight provincial reports, ingested from their CSVs as a user would."""
    from rag import Assistant, Settings
    from rag.index.build import update

    path = tmp_path_factory.mktemp("govqa-extra")
    settings = Settings(data_dir=path)
    update(settings, [EXTRA])
    return Assistant.load(settings=settings)


def _cited(answer, report_id: str, needle: str) -> bool:
    return any(c.report_id == report_id and needle in c.text for c in answer.citations)


def test_colloquial_gdp_target_this_year(extra):
    a = extra.ask("北京今年经济想涨多少?")
    assert not a.refused
    assert "地区生产总值增长5%左右" in a.text and "（2026年安排）" in a.text
    assert _cited(a, "北京-2026", "地区生产总值增长5%左右")


@pytest.mark.xfail(
    reason="issue 11's open gap (near-miss questions): the closest evidence is 河北's list of main targets, whose "
    "calibrated confidence is 0.67 with fp32 vectors and with int8 ones made for this CPU; the test passed before "
    "only through the rounding of int8 vectors on CPUs with VNNI (eval/RESULTS.md, eleventh session)",
    strict=False,
)
def test_evidence_that_does_not_hold_the_answer_is_framed_as_such(extra):
    """No house-price target is set in 河北's report: the closest text is not passed off as the answer (refused, or
    quoted as "the most relevant text")."""
    from rag.answering.extractive import FRAME

    a = extra.ask("河北今年的房价调控目标是多少?")
    assert a.refused or a.text.startswith(FRAME)


def test_a_direct_answer_is_not_framed(extra):
    from rag.answering.extractive import FRAME

    assert FRAME not in extra.ask("北京今年经济想涨多少?").text


def test_a_figure_question_answered_without_a_figure_is_framed(extra):
    """A question that wants a figure, answered by quotes that state none, is framed as the most relevant text:
    those quotes cannot be the figure asked for (rag.answering.extractive.compose)."""
    from rag.answering.extractive import FRAME

    a = extra.ask("北京育儿补贴每个孩子一年发多少钱？")  # the report says the subsidy is in place, with no amount
    assert not a.refused and a.text.startswith(FRAME), a.text
    quoted = re.sub(r"据[^：]*：", "", a.text)  # the quotes without their 据…（time）： heads
    assert not re.search(r"\d", re.sub(r"【[^】]*】", "", quoted)), a.text


def test_colloquial_income_target_this_year(extra):
    a = extra.ask("宁夏今年居民收入想涨多少?")
    assert not a.refused
    assert "居民人均可支配收入增长5%以上" in a.text and "（2026年安排）" in a.text
    assert _cited(a, "宁夏-2026", "居民人均可支配收入增长5%以上")


def test_five_year_period_question_quotes_the_period_review(extra):
    a = extra.ask("十四五期间北京的研发投入强度怎么样?")
    assert not a.refused
    assert "研发投入强度" in a.text
    assert "回顾“十四五”时期，2021—2025年" in a.text


def test_last_year_growth_is_the_years_figure_not_the_five_years(extra):
    a = extra.ask("吉林去年经济增速多少?")
    assert not a.refused
    assert "地区生产总值增长5%" in a.text and "（回顾2025年）" in a.text
    assert "19.8%" not in a.text  # the growth over the five 十四五 years
    assert _cited(a, "吉林-2026", "地区生产总值增长5%")


def test_these_five_years_grain_output_states_a_figure_with_its_period(extra):
    a = extra.ask("湖南这五年粮食产量怎么样?")
    assert not a.refused
    claims = [c for c in re.split(r"(?<=[。！？])", a.text) if "粮食" in c]
    assert any(re.search(r"\d", c) for c in claims), a.text  # a figure, not a general opening sentence
    # every quote says which time it is about, and a 2025 sentence is never called the five years'
    for head in re.findall(r"据湖南省2026年政府工作报告（([^）]*)）", a.text):
        assert head in ("回顾2025年", "回顾“十四五”时期，2021—2025年")


def test_a_five_year_figure_is_never_labelled_as_last_years(extra):
    """Every quoted sentence carries the label of the time its paragraph speaks about (section and opening
    time expressions), so a sentence from a five-year review never appears under 回顾2025年."""
    for q in ("吉林去年经济增速多少?", "四川去年经济增长多少?", "辽宁2025年地区生产总值增长多少?"):
        a = extra.ask(q)
        for block in re.split(r"(?=据)", a.text):
            if "（回顾2025年）" in block:
                assert not re.search(r"五年|年均|十四五", block.split("：", 1)[-1]), (q, block)


def test_targets_worded_with_complete_are_this_years_targets(extra):
    a = extra.ask("河北今年要完成多少投资?")
    assert not a.refused
    assert "固定资产投资增长5.5%左右" in a.text and "（2026年安排）" in a.text


def test_comparison_answers_each_side(extra):
    a = extra.ask("比较北京和吉林今年的经济增长目标")
    assert not a.refused
    lines = [ln for ln in a.text.splitlines() if ln.startswith("- ")]
    assert len(lines) == 2
    assert any("北京" in ln and "5%左右" in ln for ln in lines) and any("吉林" in ln and "5%左右" in ln for ln in lines)


def test_a_figure_the_report_does_not_state_is_flagged(extra):
    """A question stating a wrong figure gets the report's own figure and a note that its figure is not in the cited
    text; stating the right one, no note."""
    from rag.answering.answer import UNSEEN_FIGURE

    wrong = extra.ask("宁夏去年GDP是5969亿元吗？")
    assert not wrong.refused and "5696亿元" in wrong.text
    assert f"注：{UNSEEN_FIGURE}。" in wrong.text and UNSEEN_FIGURE in wrong.notes
    assert UNSEEN_FIGURE not in extra.ask("宁夏去年GDP是5696亿元吗？").text


def test_a_place_inside_a_longer_name_is_not_a_region(extra):
    a = extra.ask("宁波舟山港的吞吐量和广东比怎么样?")
    assert "库中没有宁波" not in a.text
    assert a.notes == [] or all("宁波" not in n for n in a.notes)


@pytest.mark.parametrize(
    "q, missing",
    [
        ("浙江2025年GDP增长多少?", "浙江省"),
        ("深圳去年GDP多少", "深圳市"),
        ("北京2019年的经济增长目标", "北京市2019年"),
    ],
)
def test_catalogue_refusals(extra, q, missing):
    a = extra.ask(q)
    assert a.refused and any(missing in n for n in a.notes)


def test_provincial_reports_end_without_page_chrome(extra):
    for r in extra.corpus.reports:
        assert not r.truncated, r.id
        last = [p for p in r.paragraphs if p.kind == "body"][-1].text
        assert "相关报道" not in last and "分享" not in last


def _headed_quotes(text: str) -> list[tuple[str, str]]:
    """(time label, quoted text) for every 据<report>（<label>）：… block of an answer."""
    return re.findall(r"据[^（\n]*?政府工作报告（([^）]*)）：([^\n]*)", text)


def test_a_quote_whose_section_plans_is_not_labelled_as_the_review_asked_for(extra):
    """The five years asked about are the 十四五 review; a 十五五 target (年均增长5%左右, in the section
    "“十五五”时期目标任务和2026年工作安排", a sentence stating no time itself) may be quoted, but never under a
    回顾 label: its section's title says what it is."""
    a = extra.ask("辽宁这五年地区生产总值年均增长多少？")
    blocks = _headed_quotes(a.text)
    assert any(label.startswith("回顾“十四五”") and "年均增长4.5%" in quote for label, quote in blocks), a.text
    assert not any(label.startswith("回顾") and "年均增长5%左右" in quote for label, quote in blocks), a.text


@pytest.mark.parametrize(
    ("question", "figure"),
    [("宁夏过去五年居民收入年均增长多少？", "年均增长6.5%"), ("辽宁过去五年城镇新增就业多少人", "年均超过46万人")],
)
def test_a_question_about_the_five_years_is_answered_with_the_periods_figure(extra, question, figure):
    """Asked about the five years, the review of the period answers; 2025's figures (one year of it, in the same
    reports) are left out when the period's own sentences are there (they led the answer before)."""
    a = extra.ask(question)
    blocks = _headed_quotes(a.text)
    assert any(label.startswith("回顾“十四五”") and figure in quote for label, quote in blocks), a.text
    assert not any(label == "回顾2025年" for label, _ in blocks), a.text


# Measured in the thirteenth session: before the noisy-OR associations none of the seven questions below was answered
# right, after it four are. These three are not, and stay as the known gap.
_LITERAL_GAP = pytest.mark.xfail(
    reason="issue 11's open gap: a sentence holding the question's own word (增速) for another indicator "
    "(税收收入增速, 农民收入增速, 数字经济增加值增长) still outranks 地区生产总值增长, which holds it only through "
    "learned associations (eval/RESULTS.md, thirteenth session)",
    strict=False,
)


@pytest.mark.parametrize(
    ("question", "report_id", "figure"),
    [
        ("广东去年经济增速多少", "广东-2026", "地区生产总值增长3.9%"),
        ("四川去年经济增长多少", "四川-2026", "地区生产总值67665亿元，增长5.5%"),
        pytest.param("宁夏去年GDP增速", "宁夏-2026", "增长5.3%", marks=_LITERAL_GAP),
        pytest.param("吉林去年GDP增速是多少", "吉林-2026", "地区生产总值增长5%", marks=_LITERAL_GAP),
    ],
)
def test_last_years_growth_in_everyday_words_quotes_the_regions_gdp(extra, question, figure, report_id):
    """增速/经济增长 for the economy is the region's GDP growth: a sentence holding the literal 增速 of another
    indicator (数字经济、农民收入增速) used to win over 地区生产总值增长 (eval/RESULTS.md, thirteenth session)."""
    a = extra.ask(question)
    assert not a.refused and _cited(a, report_id, figure), a.text
    assert any(label == "回顾2025年" and figure in quote for label, quote in _headed_quotes(a.text)), a.text


@pytest.mark.parametrize(
    ("question", "sides"),
    [
        pytest.param("北京和广东哪个去年经济增速更高", {"北京": "增长5.4%", "广东": "增长3.9%"}, marks=_LITERAL_GAP),
        ("吉林和辽宁去年GDP增速谁高", {"吉林": "地区生产总值增长5%", "辽宁": "地区生产总值增长3.7%"}),
    ],
)
def test_a_comparison_of_last_years_growth_quotes_each_sides_gdp(extra, question, sides):
    a = extra.ask(question)
    lines = [ln for ln in a.text.splitlines() if ln.startswith("- ")]
    assert len(lines) == 2, a.text
    for region, figure in sides.items():
        assert any(region in ln and figure in ln for ln in lines), a.text


def test_a_sentence_without_a_time_in_a_planning_section_is_not_last_years_answer(extra):
    """辽宁去年GDP增长多少: 2025's 增长3.7%, and not the 十五五 target 年均增长5%左右 that follows in the section
    "“十五五”时期目标任务和2026年工作安排" (the sentence names no time; its section says it plans)."""
    a = extra.ask("辽宁去年GDP增长多少")
    assert _cited(a, "辽宁-2026", "地区生产总值增长3.7%"), a.text
    assert "年均增长5%左右" not in a.text


@pytest.mark.parametrize(
    "question, report_id, items",
    [
        ("河北今年重点做好哪几个方面的工作？", "河北-2026", ("（一）全力办好国家大事", "（六）切实增进百姓福祉")),
        ("宁夏今年实施哪五大战略？", "宁夏-2026", ("一是坚定实施扩大内需战略", "五是坚定实施能源强区战略")),
    ],
)
def test_a_quoted_sentence_announcing_a_list_is_followed_by_its_items(extra, question, report_id, items):
    """The sentence that announces the list ("重点做好六个方面工作。") is quoted with the items' opening sentences, one
    a line, each cited to its own paragraph, which the answer's contexts then hold."""
    a = extra.ask(question)
    assert not a.refused
    for item in items:
        assert any(line.startswith(item) for line in a.text.splitlines()), a.text  # one item a line
        assert _cited(a, report_id, item)
    contexts = {h.id for h in a.contexts}
    assert all(c.id in contexts for c in a.citations)


def test_a_figure_question_is_answered_by_the_figure_not_by_the_list_after_it(extra):
    a = extra.ask("宁夏今年要办多少件民生实事？")
    assert _cited(a, "宁夏-2026", "重点办好45件民生实事"), a.text
    assert "一是深化就业增收共富工程" not in a.text
