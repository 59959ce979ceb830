"""Candidate answer sentences and the named features an answerability model scores them on.

Every sentence of every retrieved paragraph is a candidate. Its features are general — how close it is
to the question in meaning (e5 sentence vectors) and in words (IDF-weighted tokens, characters), where
its paragraph ranked, whether it states a figure when the question wants one, and whether it speaks
about the time the question asks about — so that weights fit on one set of questions carry over to
another wording. Nothing here knows any question.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from rag.answering.numbers import extract_numbers, number_supported
from rag.index.sentences import SentenceTable, split_sentences
from rag.index.tokenize import tokens
from rag.retrieval.plan import Group
from rag.retrieval.timeline import Time, paragraph_times, role, section_role, time_at
from rag.types import Hit

FEATURES = (
    "dense_sentence",  # cosine of question and sentence (e5 sentence vectors)
    "dense_gap",  # dense_sentence minus the best dense_sentence of the group (0 for the closest sentence)
    "dense_paragraph",  # cosine of question and the paragraph's best chunk
    "paragraph_rank",  # 1 / (1 + fused rank of the paragraph in its group)
    "lexical",  # IDF-weighted share of the question's content words found in the sentence
    "characters",  # share of the question's character bigrams found in the sentence
    "lexical_gap",  # lexical minus the group's best
    "characters_gap",  # characters minus the group's best
    "rarest_terms",  # share of the question's two rarest content words (highest IDF) found in the sentence
    "associated",  # like lexical, but a question word missing from the sentence also counts, by the strength of the
    # report words learned to go with it that the sentence holds, all of them together (see QuestionView.associated)
    "has_figure",  # the sentence states a figure
    "figure_fit",  # has_figure x the probability that the question wants a figure
    "time_match",  # the sentence speaks about the year or period the question asks about
    "time_conflict",  # it speaks about another year or period (a year inside an asked period is no conflict)
    "role_agree",  # a plan sentence for a target question, a review sentence for an outcome question
    "role_conflict",  # the other way round
    "first_sentence",  # the paragraph's first sentence
    "length",  # log length of the sentence
    "lead",  # a short sentence without figures (a slogan or a heading-like lead)
)
DENSE = ("dense_sentence", "dense_gap", "dense_paragraph")

# Whether a group's evidence answers at all. Word overlap, e5 similarity and the sentence probability built on them
# are higher for questions worded like the reports than for colloquial ones, so their levels are learned from a
# training set that holds colloquial questions written blind (eval/questions.jsonl q203-), and the e5 signal is
# taken relative to the question's own level over its report (dense_standout), not as an absolute cosine.
GROUP_FEATURES = (
    "asserted_missing",  # the question states a figure that no retrieved paragraph of the group states
    "time_conflict_all",  # every retrieved sentence with a known time speaks of another year or period than asked
    "dense_standout",  # how far (in standard deviations) the best retrieved sentence's e5 cosine stands above the
    # cosines of all sentences of the same report(s): relative to the question's own level, not an absolute one
    "retrievers_agree",  # the e5 and BM25 retrievers put the same paragraph first in this group
    "best_sentence",  # the sentence model's probability for the group's best sentence
)


_GAPS = [
    (FEATURES.index(f"{name}_gap"), FEATURES.index(name if name != "dense" else "dense_sentence"))
    for name in ("dense", "lexical", "characters")
]
_CJK_BIGRAM = re.compile(r"(?=([\u4e00-\u9fff]{2}))")
_YEARISH = re.compile(r"\d|年$")
_YEARS_IN_TEXT = re.compile(r"20\d\d\s*年?")


@dataclass
class Candidate:
    """A sentence of a retrieved paragraph, with its group, time and feature vector."""

    group: int  # index of its retrieval group
    hit: Hit
    rank: int  # the paragraph's rank in its group
    index: int  # the sentence's index in the paragraph
    text: str
    time: Time | None
    x: np.ndarray  # features, in FEATURES order


@dataclass
class QuestionView:
    """What the features need of the question: weighted content words, character bigrams, the wanted figure."""

    weights: dict[str, float]
    bigrams: set[str]
    figure_wanted: float
    associations: dict[str, dict[str, float]]  # question word -> report words learned to answer it, with strength

    @classmethod
    def of(
        cls,
        question: str,
        names: list[str],
        idf: Callable[[str], float],
        figure_wanted: float,
        associations: dict[str, dict[str, float]] | None = None,
    ) -> QuestionView:
        core = question
        for name in sorted(set(names), key=len, reverse=True):
            core = core.replace(name, " ")
        weights = {}
        for t in tokens(core):
            if not _YEARISH.search(t):
                weights[t] = max(idf(t), 0.0)
        bigrams = set(_CJK_BIGRAM.findall(core))
        return cls(weights, bigrams, figure_wanted, associations or {})

    def lexical(self, low: str) -> float:
        total = sum(self.weights.values())
        return sum(w for t, w in self.weights.items() if t in low) / total if total else 0.0

    def associated(self, low: str) -> float:
        """IDF-weighted share of the question's words the sentence holds, itself or through learned associations.

        A missing question word counts with the chance that at least one of its associated report words in the
        sentence stands for it, each independently (noisy-OR: 1 - prod(1 - strength)). With the strongest alone, a
        word that goes with almost every answer (增速 -> 增长, strength 0.7) gave every growth sentence nearly the
        credit of the one naming the indicator (增速 -> 增长, 生产总值, 地区 ...), so the literal 增速 of
        数字经济增速 won over 地区生产总值增长5% (eval/RESULTS.md, thirteenth session)."""
        total = sum(self.weights.values())
        if not total:
            return 0.0
        got = 0.0
        for t, w in self.weights.items():
            if t in low:
                got += w
                continue
            miss = 1.0
            for word, strength in self.associations.get(t, {}).items():
                if word in low:
                    miss *= 1.0 - strength
            got += w * (1.0 - miss)
        return got / total

    @cached_property
    def rarest_words(self) -> list[str]:
        return sorted(self.weights, key=lambda t: -self.weights[t])[:2]

    def rarest(self, low: str) -> float:
        top = self.rarest_words
        return sum(_credit(t, low) for t in top) / len(top) if top else 0.0

    def characters(self, text: str) -> float:
        return len(self.bigrams & set(_CJK_BIGRAM.findall(text))) / len(self.bigrams) if self.bigrams else 0.0


def _credit(term: str, low: str) -> float:
    """1 for a word found whole; for a longer word, the share of its character bigrams found."""
    if term in low:
        return 1.0
    grams = [term[i : i + 2] for i in range(len(term) - 1)]
    return 0.5 * sum(g in low for g in grams) / len(grams) if len(grams) > 1 else 0.0


def _within(t: Time, asked: list[Time]) -> bool:
    """A year inside an asked period speaks of part of it (十四五 asked, 2025 stated): no conflict. The other
    way round is one: a five-year figure is never the answer about one of its years."""
    return not t.is_period and any(a.is_period and a.start <= t.start <= a.end for a in asked)


def hit_section_role(hit: Hit) -> str | None:
    """The role of the hit's top section when its title's times are all reviewed or all planned
    ("二、“十五五”时期目标任务和2026年工作安排": plan): the role of a sentence there whose text names no time."""
    return section_role(hit.section.split(" > ")[0], hit.year)


def candidates(
    view: QuestionView,
    groups: list[tuple[Group, list[Hit]]],
    sentences: SentenceTable | None,
    qvec: np.ndarray | None,
    times_of: Callable[[str], dict[int, list]],
) -> list[Candidate]:
    """Every sentence of every hit, with features. `times_of(report_id)` gives its paragraph times."""
    out: list[Candidate] = []
    for g, (group, hits) in enumerate(groups):
        asked = [group.time] if group.time is not None else []
        want = {"target": "plan", "outcome": "review"}.get(group.role)
        for rank, hit in enumerate(hits):
            para_times = times_of(hit.report_id).get(hit.paragraph, [])
            rows = sentences.of(hit.id) if sentences is not None else []
            spans: list[tuple[int | None, int, int]] = [*rows] or [(None, s, e) for s, e in split_sentences(hit.text)]
            for i, (row, start, end) in enumerate(spans):
                text = hit.text[start:end]
                low = text.lower()
                st = time_at(para_times, start)
                dense = sentences.cosine(qvec, row) if (sentences is not None and row is not None) else None
                has_fig = 1.0 if extract_numbers(text) else 0.0
                match = 1.0 if asked and st is not None and st in asked else 0.0
                conflict = 1.0 if asked and st is not None and not match and not _within(st, asked) else 0.0
                srole = role(st, hit.year) if st is not None else hit_section_role(hit)
                if st is None and asked and srole is not None and role(asked[0], hit.year) not in (None, srole):
                    conflict = 1.0  # no time of its own, in a section all of whose times are on the other side
                x = np.array(
                    [
                        dense or 0.0,
                        0.0,  # dense_gap, set below
                        hit.dense_score or 0.0,
                        1.0 / (1 + rank),
                        view.lexical(low),
                        view.characters(text),
                        0.0,  # lexical_gap
                        0.0,  # characters_gap
                        view.rarest(low),
                        view.associated(low),
                        has_fig,
                        has_fig * view.figure_wanted,
                        match,
                        conflict,
                        1.0 if want and srole == want else 0.0,
                        1.0 if want and srole and srole != want else 0.0,
                        1.0 if i == 0 else 0.0,
                        math.log1p(len(text)) / 5,
                        1.0 if len(text) <= 20 and not has_fig else 0.0,
                    ],
                    dtype=np.float32,
                )
                out.append(Candidate(g, hit, rank, i, text, st, x))
    _set_gaps(out)
    return out


def _set_gaps(cands: list[Candidate]) -> None:
    """The *_gap features: each value against the best of its group (the question's own scale)."""
    best: dict[tuple[int, int], float] = {}
    for c in cands:
        for _, col in _GAPS:
            best[c.group, col] = max(best.get((c.group, col), -1e9), float(c.x[col]))
    for c in cands:
        for gap, col in _GAPS:
            c.x[gap] = c.x[col] - best[c.group, col]


def group_names(groups: list[tuple[Group, list[Hit]]]) -> list[str]:
    """The place names of a retrieval (they are not question content to match)."""
    names = [n for _, hits in groups for h in hits for n in (h.region, h.short)]
    return names + [g.region for g, _ in groups if g.region]


def group_features(
    cands: list[Candidate],
    x: np.ndarray,
    probs: np.ndarray,
    group: int,
    question: str,
    hits: list[Hit],
    standout: float = 0.0,
) -> np.ndarray:
    """GROUP_FEATURES of one group (`x`, `probs`: the candidates' feature rows and sentence probabilities;
    `standout`: ReportSentences.standout)."""
    mine = [i for i, c in enumerate(cands) if c.group == group]
    missing = states_unseen_figure(question, [h.text for h in hits])
    conflict = FEATURES.index("time_conflict")
    return np.array(
        [
            1.0 if missing else 0.0,
            1.0 if mine and all(x[i, conflict] for i in mine) else 0.0,
            standout,
            1.0 if _agree(hits) else 0.0,
            max((float(probs[i]) for i in mine), default=0.0),
        ],
        dtype=np.float32,
    )


def states_unseen_figure(question: str, texts: list[str]) -> bool:
    """Whether the question states a figure with a unit (years aside) that none of `texts` states: "增长了8%" in
    北京去年GDP增长了8%，靠什么? against paragraphs saying 增长5.4%."""
    asserted = [n for n in extract_numbers(_YEARS_IN_TEXT.sub(" ", question)) if n.unit]
    return any(not any(number_supported(n, t) for t in texts) for n in asserted)


def group_rows(
    question: str,
    groups: list[tuple[Group, list[Hit]]],
    cands: list[Candidate],
    x: np.ndarray,
    probs: np.ndarray,
    standouts: list[float],
) -> np.ndarray:
    """GROUP_FEATURES of every retrieval group, one row each (standouts: ReportSentences.standouts)."""
    if not groups:
        return np.zeros((0, len(GROUP_FEATURES)), np.float32)
    return np.stack(
        [group_features(cands, x, probs, g, question, hits, standouts[g]) for g, (_, hits) in enumerate(groups)]
    )


def _agree(hits: list[Hit]) -> bool:
    dense = [(h.dense_score, h.id) for h in hits if h.dense_score is not None]
    lexical = [(h.bm25_score, h.id) for h in hits if h.bm25_score is not None]
    if not dense or not lexical:
        return False
    return max(dense, key=lambda x: x[0])[1] == max(lexical, key=lambda x: x[0])[1]


class ReportTimes:
    """Paragraph times of the corpus's reports, computed once per report on first use."""

    def __init__(self, corpus):
        self._reports = {r.id: r for r in corpus.reports}
        self._cache: dict[str, dict[int, list[tuple[int, Time | None]]]] = {}

    def __call__(self, report_id: str) -> dict[int, list[tuple[int, Time | None]]]:
        if report_id not in self._cache:
            r = self._reports[report_id]
            self._cache[report_id] = paragraph_times(r.paragraphs, r.year)
        return self._cache[report_id]
