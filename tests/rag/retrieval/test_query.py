"""Question planning: regions, provinces, years and the year semantics of the reports."""

import pytest

from ingest.model import Corpus, ListedReport, Paragraph, Report
from rag.retrieval.plan import plan_query


def _report(short, region, province, year, level="prefecture"):
    rid = f"{short}-{year}"
    return Report(
        rid,
        region,
        short,
        level,
        province,
        year,
        f"{year}年{region}政府工作报告",
        "x",
        "0",
        paragraphs=[Paragraph(rid, 1, "正文")],
    )


CORPUS = Corpus(
    reports=[
        _report("济南", "济南市", "山东省", 2024),
        _report("石家庄", "石家庄市", "河北省", 2023),
        _report("石家庄", "石家庄市", "河北省", 2025),
        _report("保定", "保定市", "河北省", 2023),
        _report("廊坊", "廊坊市", "河北省", 2023),
        _report("河北", "河北省", "河北省", 2026, level="province"),
    ],
    listed=[ListedReport("2024年三明市政府工作报告", "三明市", 2024, "c.txt", False)],
)


@pytest.mark.parametrize(
    "question, groups, missing",
    [
        ("济南2024年GDP增长目标是多少?", [["济南-2024"]], []),
        ("济南2023年GDP增长多少", [["济南-2024"]], []),  # an outcome of 2023: reviewed by the 2024 report
        ("济南市的生产总值", [["济南-2024"]], []),
        ("比较保定和廊坊2023年的招商目标", [["保定-2023"], ["廊坊-2023"]], []),
        ("石家庄2023年的重点工作", [["石家庄-2023"]], []),
        ("石家庄2024年完成了多少投资", [["石家庄-2025"]], []),  # 2024 outcomes: the 2025 report
        ("石家庄", [["石家庄-2023", "石家庄-2025"]], []),
        ("杭州2024年GDP目标", [], ["库中没有杭州市的报告"]),
        ("三明2024年的目标", [], ["三明市的报告仅见于合集目录，正文不在库中"]),
        ("济南2019年的目标", [], ["库中没有济南市2019年的报告（现有：2024）"]),
        ("河北各市2023年的目标", [["石家庄-2023", "保定-2023", "廊坊-2023"]], []),
    ],
)
def test_plan(question, groups, missing):
    plan = plan_query(question, CORPUS, places=["杭州市", "浙江省"])
    assert [g.report_ids for g in plan.groups] == groups
    assert plan.missing == missing


def test_explicit_filters_win_over_the_question():
    plan = plan_query("GDP目标是多少", CORPUS, region="保定", year=2023)
    assert [g.report_ids for g in plan.groups] == [["保定-2023"]]
    plan = plan_query("GDP目标是多少", CORPUS, region="杭州")
    assert plan.groups == [] and plan.missing == ["库中没有杭州的报告"]


def test_a_region_filter_beside_a_question_about_another_region_says_so():
    """The filter wins, but a corpus region the question names outside it is noted, not answered silently; a city of
    the chosen province, or the chosen city's province, is inside it."""
    plan = plan_query("济南的GDP目标是多少", CORPUS, region="保定")
    assert [g.report_ids for g in plan.groups] == [["保定-2023"]]
    assert plan.missing == ["问题提到济南市，但只检索了所选地区保定市的报告"]
    assert plan_query("保定2023年GDP目标是多少", CORPUS, region="保定").missing == []
    assert plan_query("保定2023年GDP目标是多少", CORPUS, region="河北").missing == []
    assert plan_query("河北2023年的目标", CORPUS, region="保定").missing == []


def test_roles_say_outcome_or_target():
    assert plan_query("济南2023年GDP增长多少", CORPUS).groups[0].role == "outcome"
    assert plan_query("济南2024年GDP增长目标", CORPUS).groups[0].role == "target"


def test_this_year_is_the_newest_reports_plan_whatever_the_wording():
    """今年 counts from the region's newest report: that report's own year, which no report reviews yet, so the
    question is about its plans even when worded like an outcome (增长多少); 去年 stays a review."""
    for question in ("济南今年GDP想增长多少?", "济南今年GDP增长多少"):
        plan = plan_query(question, CORPUS)
        assert not plan.missing, plan.missing
        [group] = plan.groups
        assert group.report_ids == ["济南-2024"] and group.role == "target", question
    [group] = plan_query("济南去年GDP增长多少", CORPUS).groups
    assert group.report_ids == ["济南-2024"] and group.role == "outcome"


@pytest.mark.parametrize(
    "question, groups, missing",
    [
        # the report after a period reviews it; the report of its first year plans it
        ("河北十四五期间经济增长了多少", [["河北-2026"]], []),
        # neither at hand: the newest report from the year before the period to its end speaks of its progress
        ("保定“十四五”的农业目标进展如何", [["保定-2023"]], []),
        ("石家庄对“十五五”规划的编制有什么安排", [["石家庄-2025"]], []),  # the year before 十五五 prepares it
        ("济南十三五时期的成绩", [], ["库中没有济南市2021年（其中才有2020年的完成情况）的报告（现有：2024）"]),
    ],
)
def test_periods_go_to_the_reports_that_speak_of_them(question, groups, missing):
    plan = plan_query(question, CORPUS)
    assert [g.report_ids for g in plan.groups] == groups
    assert plan.missing == missing
    for g in plan.groups:
        assert g.time is not None and g.time.is_period


def test_places_outside_the_corpus_are_named_by_their_short_names_too():
    """A reader says 西藏, 广西, 延边: the gazetteer's short names count, so the question is not sent to another
    region's report."""
    places = ["西藏自治区", "广西壮族自治区", "延边朝鲜族自治州"]
    for question, full in [
        ("西藏去年经济增速多少？", "西藏自治区"),
        ("广西今年的GDP目标", "广西壮族自治区"),
        ("延边的旅游收入", "延边朝鲜族自治州"),
    ]:
        plan = plan_query(question, CORPUS, places=places)
        assert plan.groups == [] and plan.missing == [f"库中没有{full}的报告"], question


def test_the_country_is_a_place_the_corpus_lacks():
    """全国/我国/国务院 asked about as a whole is the national report, which no region's report answers; beside a
    region of the corpus the word is a comparison or a modifier, and "全国性" is not the country."""
    for question in ("全国今年GDP增长目标是多少?", "我国去年经济增长了多少", "国务院今年定的赤字率是多少"):
        plan = plan_query(question, CORPUS)
        assert plan.groups == [] and plan.missing == ["库中没有全国（国务院）的政府工作报告"], question
    for question, groups in [
        ("河北去年GDP增速比全国高多少?", [["河北-2026"]]),
        ("石家庄2023年要办哪些全国性的大型文化活动？", [["石家庄-2023"]]),
    ]:
        plan = plan_query(question, CORPUS)
        assert [g.report_ids for g in plan.groups] == groups and plan.missing == [], question


def test_a_report_year_given_keeps_the_time_the_question_states():
    """--year is the report year: 过去五年/去年 in the question are read against it (review, not that year's plan)."""
    plan = plan_query("石家庄过去五年经济总量有什么变化", CORPUS, year=2023)
    [group] = plan.groups
    assert group.report_ids == ["石家庄-2023"] and (group.time.start, group.time.end) == (2018, 2022)
    assert group.role == "outcome"
    [group] = plan_query("石家庄去年完成了多少投资", CORPUS, year=2025).groups
    assert (group.time.start, group.role) == (2024, "outcome")
    [group] = plan_query("石家庄的重点工作", CORPUS, year=2023).groups  # no time stated: the report's own year
    assert (group.time.start, group.role) == (2023, "target")


def test_a_year_of_either_reading_searches_its_own_report_and_the_next():
    """Without plan or outcome words, "2023年…" may ask the 2023 report's plans or the 2024 report's review of
    2023: with both at hand both are searched (the sections' roles decide); a worded role still picks one."""
    corpus = Corpus(reports=[_report("保定", "保定市", "河北省", 2023), _report("保定", "保定市", "河北省", 2024)])
    [group] = plan_query("保定2023年的经济增速是多少", corpus).groups
    assert group.report_ids == ["保定-2023", "保定-2024"] and group.role == "any"
    assert "2023、2024年报告" in group.label and group.time is not None and group.time.start == 2023
    assert plan_query("保定2023年GDP增长目标", corpus).groups[0].report_ids == ["保定-2023"]
    assert plan_query("保定2023年GDP实际增长了多少", corpus).groups[0].report_ids == ["保定-2024"]
    [group] = plan_query("保定2024年的经济增速是多少", corpus).groups  # no 2025 report: its own only
    assert group.report_ids == ["保定-2024"]
