"""The eval metrics on hand-made answers: right, wrong number, wrong city, refusals, no citations, summary."""

from __future__ import annotations

import pytest

from eval.dataset import EvalItem, Evidence
from eval.metrics import (
    citation_precision,
    citation_recall,
    claims,
    evaluate,
    hit_at_k,
    key_accuracy,
    number_grounding,
    reciprocal_rank,
    summarize,
)
from rag.types import Answer, Citation, Hit

BAODING = (
    "一是经济运行稳中有进、稳中向好。全市生产总值完成3880.3亿元,增长3.8%;"
    "地方一般公共预算收入完成315.6亿元,扣除留抵退税因素后增长7.2%;规模以上工业增加值增长0.8%。"
)
BAODING_OTHER = "五是乡村振兴扎实推进、成效显著。建成高标准农田48.7万亩,设施农业总面积达50.2万亩。粮食总产量419万吨。"
LANGFANG = (
    "1月16日,市长李国勇在市八届人大五次会议上作政府工作报告时指出,预计地区生产总值同比增长2%左右,"
    "规模以上工业增加值增长4%左右,社会消费品零售总额增长2%左右。"
)


def hit(short: str, year: int, paragraph: int, text: str, score: float = 1.0) -> Hit:
    return Hit(f"{short}-{year}", f"{short}市", short, year, paragraph, "一、回顾", text, score)


GOLD_HIT = hit("保定", 2023, 5, BAODING)
OTHER_HIT = hit("保定", 2023, 9, BAODING_OTHER, 0.8)
WRONG_CITY_HIT = hit("廊坊", 2023, 19, LANGFANG, 0.9)
GOLD = [GOLD_HIT.id]

GDP = EvalItem(
    id="t1",
    question="保定去年经济总量多大?",
    type="figure",
    keys=["3880.3亿元"],
    evidence=[Evidence("保定市", 2023, "全市生产总值完成3880.3亿元")],
    answer="保定市2022年全市生产总值完成3880.3亿元。",
)
HANGZHOU = EvalItem(
    id="t2", question="杭州2024年GDP增长目标是多少?", type="unanswerable", keys=[], evidence=[], refuse=True
)


def answer(text: str, cited: list[Hit], contexts: list[Hit], refused: bool = False, seconds: float = 1.0) -> Answer:
    return Answer(
        question=GDP.question,
        text=text,
        refused=refused,
        citations=[Citation.from_hit(h) for h in cited],
        contexts=contexts,
        seconds=seconds,
    )


CORRECT = answer(
    "保定市2022年全市生产总值完成3880.3亿元，增长3.8%。【保定·2023·第5段】", [GOLD_HIT], [GOLD_HIT, OTHER_HIT]
)
WRONG_NUMBER = answer("保定市2022年全市生产总值完成3800亿元，增长3.8%。【保定·2023·第5段】", [GOLD_HIT], [GOLD_HIT])
WRONG_CITY = answer(
    "保定市2022年生产总值增长2%左右。【廊坊·2023·第19段】", [WRONG_CITY_HIT], [WRONG_CITY_HIT, GOLD_HIT, OTHER_HIT]
)
NO_CITATIONS = answer("保定市2022年全市生产总值完成3880.3亿元。", [], [OTHER_HIT, WRONG_CITY_HIT])
REFUSAL = answer("库中没有杭州市的政府工作报告，无法回答。", [], [WRONG_CITY_HIT], refused=True)
FALSE_REFUSAL = answer("报告中没有找到相关内容，无法回答。", [], [OTHER_HIT, GOLD_HIT], refused=True)

# (name, item, answer, expected metrics of evaluate(); None where a metric does not apply)
CASES = [
    (
        "correct",
        GDP,
        CORRECT,
        dict(
            hit_at_1=True,
            hit_at_5=True,
            reciprocal_rank=1.0,
            key_correct=True,
            refusal_correct=True,
            false_refusal=False,
            citation_precision=1.0,
            citation_recall=1.0,
            number_grounding=1.0,
        ),
    ),
    (
        "wrong number",
        GDP,
        WRONG_NUMBER,
        dict(
            hit_at_1=True,
            hit_at_5=True,
            reciprocal_rank=1.0,
            key_correct=False,
            refusal_correct=True,
            false_refusal=False,
            citation_precision=1.0,
            citation_recall=1.0,
            number_grounding=0.5,
        ),
    ),
    (
        "citation to the wrong city",
        GDP,
        WRONG_CITY,
        dict(
            hit_at_1=False,
            hit_at_5=True,
            reciprocal_rank=0.5,
            key_correct=False,
            refusal_correct=True,
            false_refusal=False,
            citation_precision=0.0,
            citation_recall=0.0,
            number_grounding=1.0,
        ),
    ),
    (
        "no citations",
        GDP,
        NO_CITATIONS,
        dict(
            hit_at_1=False,
            hit_at_5=False,
            reciprocal_rank=0.0,
            key_correct=True,
            refusal_correct=True,
            false_refusal=False,
            citation_precision=None,
            citation_recall=0.0,
            number_grounding=0.0,
        ),
    ),
    (
        "refusal on an unanswerable item",
        HANGZHOU,
        REFUSAL,
        dict(
            hit_at_1=None,
            hit_at_5=None,
            reciprocal_rank=None,
            key_correct=None,
            refusal_correct=True,
            false_refusal=None,
            citation_precision=None,
            citation_recall=None,
            number_grounding=None,
        ),
    ),
    (
        "false refusal",
        GDP,
        FALSE_REFUSAL,
        dict(
            hit_at_1=False,
            hit_at_5=True,
            reciprocal_rank=0.5,
            key_correct=False,
            refusal_correct=False,
            false_refusal=True,
            citation_precision=None,
            citation_recall=None,
            number_grounding=None,
        ),
    ),
    (
        "unanswerable item answered anyway",
        HANGZHOU,
        CORRECT,
        dict(
            hit_at_1=None,
            hit_at_5=None,
            reciprocal_rank=None,
            key_correct=None,
            refusal_correct=False,
            false_refusal=None,
            citation_precision=None,
            citation_recall=None,
            number_grounding=None,
        ),
    ),
]


@pytest.mark.parametrize("name,item,ans,expected", CASES, ids=[c[0] for c in CASES])
def test_evaluate(name, item, ans, expected):
    result = evaluate(item, ans, GOLD if item.answerable else [], k=5)
    got = {k: getattr(result, k) for k in expected}
    assert got == pytest.approx(expected), name


def test_hit_at_k_counts_distinct_paragraphs():
    chunk_a = hit("保定", 2023, 9, BAODING_OTHER)
    chunk_b = hit("保定", 2023, 9, BAODING_OTHER, 0.7)  # a second chunk of the same paragraph
    ans = answer("x", [], [chunk_a, chunk_b, GOLD_HIT])
    assert hit_at_k(ans, GOLD, 2)  # paragraph 9, then the gold paragraph
    assert not hit_at_k(ans, GOLD, 1)
    assert reciprocal_rank(ans, GOLD) == 0.5
    assert reciprocal_rank(ans, GOLD, k=1) == 0.0


@pytest.mark.parametrize(
    "text,expected",
    [
        ("全市生产总值完成３８８０．３亿元", True),  # full-width digits and point
        ("全市生产总值完成 3880.3 亿元", True),  # spaces
        ("全市生产总值完成3,880.3亿元", True),  # thousands separator
        ("全市生产总值完成3880亿元", False),
        ("全市生产总值完成3880.3万元", False),
    ],
)
def test_key_accuracy_normalisation(text, expected):
    assert key_accuracy(GDP, answer(text, [], [])) is expected


def test_claims_keep_marks_written_after_the_full_stop():
    text = "保定2022年生产总值3880.3亿元。【保定·2023·第5段】\n粮食总产量419万吨【保定·2023·第9段】。"
    assert claims(text) == [
        "保定2022年生产总值3880.3亿元。【保定·2023·第5段】",
        "粮食总产量419万吨【保定·2023·第9段】。",
    ]


def test_citation_of_a_paragraph_that_does_not_bear_on_the_question():
    # The second sentence is true and cites the paragraph that states it, but that paragraph is neither gold nor
    # holds a key: it does not support the item, so precision and recall drop; its figure is still grounded.
    ans = answer(
        "全市生产总值完成3880.3亿元。【保定·2023·第5段】粮食总产量419万吨。【保定·2023·第9段】",
        [GOLD_HIT, OTHER_HIT],
        [GOLD_HIT, OTHER_HIT],
    )
    assert citation_precision(GDP, ans, GOLD) == 0.5
    assert citation_recall(GDP, ans, GOLD) == 0.5
    assert number_grounding(ans) == 1.0


def test_key_in_a_non_gold_paragraph_of_the_evidence_report_supports():
    # Another paragraph of the 保定 2023 report that states the key supports; the same text under 廊坊 does not.
    restated = hit("保定", 2023, 40, "回顾过去,全市生产总值完成3880.3亿元。")
    elsewhere = hit("廊坊", 2023, 40, "回顾过去,全市生产总值完成3880.3亿元。")
    text = "全市生产总值完成3880.3亿元。【保定·2023·第40段】【廊坊·2023·第40段】"
    ans = answer(text, [restated, elsewhere], [restated, elsewhere])
    assert citation_precision(GDP, ans, GOLD) == 0.5
    assert citation_recall(GDP, ans, GOLD) == 1.0


def test_unsupported_extra_claim_lowers_recall():
    ans = answer(
        "全市生产总值完成3880.3亿元。【保定·2023·第5段】这是全国第一。",
        [GOLD_HIT],
        [GOLD_HIT],
    )
    assert citation_recall(GDP, ans, GOLD) == 0.5


def test_summarize_means_and_latency():
    results = [
        evaluate(GDP, answer(CORRECT.text, [GOLD_HIT], [GOLD_HIT], seconds=1.0), GOLD),
        evaluate(GDP, answer(WRONG_CITY.text, [WRONG_CITY_HIT], [WRONG_CITY_HIT, GOLD_HIT], seconds=2.0), GOLD),
        evaluate(GDP, answer(FALSE_REFUSAL.text, [], [], refused=True, seconds=3.0), GOLD),
        evaluate(HANGZHOU, answer(REFUSAL.text, [], [], refused=True, seconds=10.0), []),
    ]
    s = summarize(results)
    assert (s["n"], s["n_answerable"], s["n_refuse"]) == (4, 3, 1)
    assert s["hit@1"] == pytest.approx(1 / 3)
    assert s["hit@5"] == pytest.approx(2 / 3)
    assert s["mrr"] == pytest.approx((1 + 0.5 + 0) / 3)
    assert s["key_accuracy"] == pytest.approx(1 / 3)
    assert s["refusal_accuracy"] == pytest.approx(3 / 4)
    assert s["refusal_recall"] == 1.0
    assert s["false_refusal_rate"] == pytest.approx(1 / 3)
    assert s["citation_precision"] == pytest.approx(0.5)  # 1.0 and 0.0; refusals have none
    assert s["citation_recall"] == pytest.approx(0.5)
    assert s["number_grounding"] == pytest.approx(1.0)  # the wrong-city answer's "2%左右" is in its cited paragraph
    assert s["latency_p50"] == pytest.approx(2.5)
    assert s["latency_p95"] == pytest.approx(10.0)


def test_summarize_empty():
    s = summarize([])
    assert s["n"] == 0 and s["hit@1"] is None and s["latency_p95"] is None


def _scored(refuse: bool, refused: bool, answerability: float | None):
    from eval.metrics import QuestionResult

    return QuestionResult(
        "q", "fact", refuse, refused, None, None, None, None, refuse == refused, None, False, None, None, None, 0.0,
        answerability,
    )  # fmt: skip


def test_refusal_ceiling_is_the_best_stricter_threshold_within_the_false_refusal_budget():
    from eval.metrics import answerability_auc, refusal_ceiling

    # 20 answerable questions scored 0.30..0.49; to refuse: one catalogue refusal (no score), two scored low, one high
    answerable = [_scored(False, False, round(0.30 + i / 100, 2)) for i in range(20)]
    to_refuse = [_scored(True, True, None), _scored(True, False, 0.10), _scored(True, False, 0.25)]
    high = _scored(True, False, 0.45)
    results = answerable + to_refuse + [high]
    # a threshold of 0.31 refuses the two low ones and one answerable question (5%): 3 of 4
    assert refusal_ceiling(results) == pytest.approx(3 / 4)
    # refusing the high one too (a threshold above 0.45) refuses 16 of 20 answerable questions
    assert refusal_ceiling(results, max_false=0.75) == pytest.approx(3 / 4)
    assert refusal_ceiling(results, max_false=0.80) == pytest.approx(1.0)
    # AUC: the two low ones rank below all 20 answerable questions; 0.45 below 4 of them, tied with one
    assert answerability_auc(results) == pytest.approx((20 + 20 + 4.5) / 60)
    assert refusal_ceiling(answerable) is None and answerability_auc(to_refuse) is None
    assert summarize(results)["refusal_ceiling"] == pytest.approx(3 / 4)
