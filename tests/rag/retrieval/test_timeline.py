"""Which time a section title names, and what role (review / plan) it gives its paragraphs."""

from __future__ import annotations

import pytest

from rag.retrieval.timeline import Time, role, section_role, title_time


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("一、2025年工作回顾", "review"),
        ("一、2025年和“十四五”时期工作回顾", "review"),  # two times, both before the report's year
        ("二、“十五五”时期目标任务和2026年工作安排", "plan"),  # two times, both from the report's year on
        ("三、2026年重点工作", "plan"),
        ("二、“十四五”时期发展成就和“十五五”时期主要目标任务", None),  # one of each: no single role
        ("四、加强政府自身建设", None),
    ],
)
def test_section_role(title, expected):
    assert section_role(title, 2026) == expected


def test_role_of_years_and_periods():
    assert role(Time(2025, 2025), 2026) == "review" and role(Time(2021, 2025), 2026) == "review"
    assert role(Time(2026, 2026), 2026) == "plan" and role(Time(2026, 2030), 2026) == "plan"
    assert role(Time(2024, 2028), 2026) is None


def test_a_title_naming_two_times_has_no_single_time():
    assert title_time("二、“十五五”时期目标任务和2026年工作安排", 2026) is None
    assert title_time("三、2026年重点工作", 2026) == Time(2026, 2026)
