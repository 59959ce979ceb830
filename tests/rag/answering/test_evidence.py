"""The question view's word weights and the group coverage feature (rag.answering.evidence)."""

from __future__ import annotations

import numpy as np

from rag.answering.evidence import GROUP_FEATURES, QuestionView, candidates, group_names, group_rows


def test_known_words_are_the_ones_some_paragraph_uses(assistant):
    idf = assistant.index.keyword.idf
    view = QuestionView.of("石家庄去年粮食产量想涨咋样", ["石家庄"], idf, 0.0)
    assert "粮食" in view.known
    unknown = [t for t in view.weights if t not in view.known]
    assert unknown, "a colloquial word no report uses should be left out of the known words"
    assert all(idf(t) == idf("\u0001") for t in unknown)


def test_coverage_ignores_words_no_report_uses(assistant):
    view = QuestionView.of("石家庄去年粮食产量想涨咋样", ["石家庄"], assistant.index.keyword.idf, 0.0)
    known = sorted(view.known)
    assert view.coverage(" ".join(known)) == 1.0  # every word a report could hold is there
    assert view.lexical(" ".join(known)) < 1.0  # while plain overlap still counts the colloquial word against it
    assert view.coverage("无关的文字") == 0.0


def test_group_coverage_is_lower_for_a_topic_the_evidence_does_not_speak_of(assistant):
    def coverage(question: str) -> float:
        retrieval = assistant.search(question, k=8)
        names = group_names(retrieval.groups)
        view = QuestionView.of(question, names, assistant.index.keyword.idf, 0.0)
        cands = candidates(view, retrieval.groups, None, None, lambda _id: {})
        x = np.stack([c.x for c in cands])
        rows = group_rows(
            question, view, retrieval.groups, cands, x, np.zeros(len(cands)), [0.0] * len(retrieval.groups)
        )
        return float(rows[0, GROUP_FEATURES.index("coverage")])

    assert coverage("保定2022年地区生产总值是多少?") > coverage("保定2022年航天发射次数是多少?")
