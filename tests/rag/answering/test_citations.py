"""Citation marks: the canonical form and the variants LLMs write are parsed and resolved against hits."""

import pytest

from rag.answering.citations import find_marks, resolve_marks
from rag.types import Hit


def hit(short: str, region: str, year: int, paragraph: int, text: str = "正文。") -> Hit:
    return Hit(f"{short}-{year}", region, short, year, paragraph, "", text, 1.0)


HITS = [hit("济南", "济南市", 2024, 12), hit("济南", "济南市", 2024, 13), hit("高港区", "泰州市高港区", 2024, 3)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("增长5%【济南·2024·第12段】。", [("济南", 2024, 12)]),
        ("增长5%[济南·2024·第12段]。", [("济南", 2024, 12)]),
        ("增长5%【济南·2024·12】。", [("济南", 2024, 12)]),
        ("增长5%【济南 2024 第12段】。", [("济南", 2024, 12)]),
        ("增长5%【济南市·2024·第12段】。", [("济南市", 2024, 12)]),
        ("增长5%【济南-2024-p12】。", [("济南", 2024, 12)]),
        ("增长5%【济南·２０２４·第１２段】。", [("济南", 2024, 12)]),
        ("增长5%【济南·2024·第12段；济南·2024·第13段】。", [("济南", 2024, 12), ("济南", 2024, 13)]),
        ("增长5%【济南·2024·第12段;济南·2024·第13段】。", [("济南", 2024, 12), ("济南", 2024, 13)]),
        ("增长5%【济南·2024·第12段、济南·2024·第13段】。", [("济南", 2024, 12), ("济南", 2024, 13)]),
        ("增长5%【济南·2024·第12段、第13段】。", [("济南", 2024, 12), ("济南", 2024, 13)]),
        ("A【济南·2024·第12段】B【沈阳·2024·第7段】", [("济南", 2024, 12), ("沈阳", 2024, 7)]),
        # not marks: footnote refs, forum tags, a year alone, a year glued to the paragraph number
        ("“两个新样板”[1]目标要求", []),
        ("[河北] 2023年保定市政府工作报告", []),
        ("【2024年】", []),
        ("【济南202412】", []),
    ],
)
def test_find_marks(text, expected):
    assert [(m.short, m.year, m.paragraph) for m in find_marks(text)] == expected


def test_mark_span_covers_the_bracket():
    text = "增长5%【济南 2024 第12段】。"
    (m,) = find_marks(text)
    assert text[m.start : m.end] == "【济南 2024 第12段】"


@pytest.mark.parametrize(
    "text, expected_text, cited, dropped",
    [
        ("增长5%【济南·2024·第12段】。", "增长5%【济南·2024·第12段】。", ["济南-2024-p12"], []),
        ("增长5%[济南市·2024·12]。", "增长5%【济南·2024·第12段】。", ["济南-2024-p12"], []),
        ("增长5%【济南-2024-p13】。", "增长5%【济南·2024·第13段】。", ["济南-2024-p13"], []),
        ("增长5%【泰州市高港区·2024·第3段】。", "增长5%【高港区·2024·第3段】。", ["高港区-2024-p3"], []),
        # invented: no such paragraph / city / year among the hits -> removed
        ("增长5%【济南·2024·第99段】。", "增长5%。", [], [("济南", 2024, 99)]),
        ("增长5%【杭州·2024·第12段】。", "增长5%。", [], [("杭州", 2024, 12)]),
        ("增长5%【济南·2023·第12段】。", "增长5%。", [], [("济南", 2023, 12)]),
        (
            "增长5%【济南·2024·第13段；济南·2024·第99段；济南·2024·第12段】。",
            "增长5%【济南·2024·第13段】【济南·2024·第12段】。",
            ["济南-2024-p13", "济南-2024-p12"],
            [("济南", 2024, 99)],
        ),
        (
            "A【济南·2024·第12段】B【济南·2024·第12段】",
            "A【济南·2024·第12段】B【济南·2024·第12段】",
            ["济南-2024-p12"],
            [],
        ),
    ],
)
def test_resolve_marks(text, expected_text, cited, dropped):
    new_text, cited_hits, dropped_marks = resolve_marks(text, HITS)
    assert new_text == expected_text
    assert [h.id for h in cited_hits] == cited
    assert [(m.short, m.year, m.paragraph) for m in dropped_marks] == dropped
