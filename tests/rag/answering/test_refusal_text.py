"""A refusal says why: what the catalogue lacks, or else which reports were searched without finding an answer."""

from __future__ import annotations

import time

from rag.answering.answer import refusal
from rag.answering.prompts import REFUSAL
from rag.retrieval.plan import Group, QueryPlan
from rag.retrieval.retrieve import Retrieval


def _retrieval(groups: list[Group], missing: list[str] | None = None) -> Retrieval:
    plan = QueryPlan("问题", groups=groups, missing=missing or [])
    return Retrieval(plan, [(g, []) for g in groups])


def test_a_refusal_after_searching_names_the_reports_searched():
    groups = [
        Group("福州市 2024年报告", ["福州-2024"], "福州市", 2023),
        Group("本溪市 2024年报告", ["本溪-2024"], "本溪市"),
    ]
    ans = refusal("问题", _retrieval(groups), "extractive", [], time.perf_counter())
    assert (
        ans.refused and ans.text == REFUSAL + "所检索的福州市2024年报告、本溪市2024年报告中没有找到回答这个问题的内容。"
    )
    assert ans.notes == []


def test_a_catalogue_refusal_gives_the_catalogue_reason_only():
    ans = refusal("问题", _retrieval([], ["库中没有杭州市的报告"]), "extractive", ["库中没有杭州市的报告"], 0.0)
    assert ans.text == REFUSAL + "库中没有杭州市的报告。"
