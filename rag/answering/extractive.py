"""The default answerer, no LLM: quotes the retrieved sentences that the answerability model scores highest.

Evidence first: every sentence of the retrieved paragraphs is scored (rag.answering.evidence features,
rag.answering.scorer weights); a group (one region/year of the question) is answered by its best sentences while
the model supports them, framed as "the most relevant text" when a calibrated model says the first quote more
likely does not hold the answer than does, and left out (未提及, or a refusal when no group has any) when the
group's fitted answerability is below the policy's threshold or every sentence speaks of another time than asked.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial

import numpy as np

from ingest.headings import without_level1_number
from ingest.model import Paragraph
from rag.answering.enumeration import items_after
from rag.answering.evidence import (
    FEATURES,
    Candidate,
    QuestionView,
    ReportTimes,
    candidates,
    group_names,
    group_rows,
    hit_section_role,
)
from rag.answering.scorer import Policy, Scorer
from rag.answering.standout import ReportSentences
from rag.retrieval.retrieve import Retrieval
from rag.retrieval.timeline import Time, role
from rag.types import Hit

FRAME = "（报告未直接说明，以下为最相关的原文）"
_HAS_FIGURE = FEATURES.index("has_figure")


@dataclass
class Pick:
    """A quoted sentence and the model's probability that it answers."""

    candidate: Candidate
    p: float
    item: bool = False  # an item of a list a quoted sentence announces: quoted on a line of its own


class ExtractiveAnswerer:
    """Scores the sentences of a retrieval and composes the quoted answer."""

    def __init__(self, index, scorer: Scorer):
        self.index = index
        self.scorer = scorer
        self.times = ReportTimes(index.corpus)
        self.sentences = index.sentences if scorer.mode == "dense" else None
        self.report_sentences = ReportSentences(index.sentences)

    def score(
        self, question: str, retrieval: Retrieval, figure_wanted: float
    ) -> tuple[list[Candidate], np.ndarray, np.ndarray]:
        """The candidate sentences of every group, their feature rows and their probabilities (`figure_wanted`:
        the scorer's P(the question wants a figure))."""
        view = QuestionView.of(
            question,
            group_names(retrieval.groups),
            self.index.keyword.idf,
            figure_wanted,
            self.scorer.associations,
        )
        cands = candidates(view, retrieval.groups, self.sentences, retrieval.qvec, self.times)
        x = np.stack([c.x for c in cands]) if cands else np.zeros((0, len(FEATURES)), np.float32)
        return cands, x, self.scorer.predict(x)

    def compose(self, question: str, retrieval: Retrieval) -> tuple[str, list[Pick], float | None]:
        """The answer text, the quoted picks, and the weakest group's answerability (None with no group)."""
        wanted = self.scorer.figure_wanted(question)
        cands, x, probs = self.score(question, retrieval, wanted)
        standouts = self.report_sentences.standouts(retrieval.qvec, retrieval.groups)
        rows = group_rows(question, retrieval.groups, cands, x, probs, standouts)
        answerable, confident = (group_probabilities(rows, m) for m in (self.scorer.answerable, self.scorer.confident))
        text, picks = compose(
            retrieval,
            cands,
            probs,
            answerable,
            self.scorer.policy,
            confident,
            wanted,
            partial(announced_items, self.index.corpus),
        )
        return text, picks, min(answerable, default=None)


def announced_items(corpus, c: Candidate) -> list[Candidate]:
    """The opening sentences of the numbered items a quoted sentence announces (rag.answering.enumeration), as
    candidates of its group; an item in another paragraph brings that paragraph as a hit."""
    report = corpus.report(c.hit.report_id)
    out = []
    for item in items_after(report, c.hit.paragraph, c.text):
        p = report.paragraph(item.paragraph)
        hit = c.hit if p.number == c.hit.paragraph else _unretrieved(c.hit, p)
        out.append(Candidate(c.group, hit, c.rank, item.index, item.text, c.time, np.zeros_like(c.x)))
    return out


def _unretrieved(hit: Hit, p: Paragraph) -> Hit:
    """Paragraph `p` of the hit's report as a hit that retrieval did not score (Hit.score 0)."""
    return replace(
        hit,
        paragraph=p.number,
        section=p.section,
        text=p.text,
        score=0.0,
        dense_score=None,
        bm25_score=None,
        chunk=None,
    )


def with_quoted(retrieval: Retrieval, picks: list[Pick]) -> Retrieval:
    """The retrieval with the paragraphs the answer quotes beyond those retrieved (list items) added to their groups,
    so that their citations check and show like any other."""
    groups = [(g, list(hits)) for g, hits in retrieval.groups]
    for k in picks:
        hits = groups[k.candidate.group][1]
        if all(h.id != k.candidate.hit.id for h in hits):
            hits.append(k.candidate.hit)
    return Retrieval(retrieval.plan, groups, retrieval.qvec)


def group_probabilities(rows: np.ndarray, model) -> list[float]:
    """A group model's probability for each retrieval group (rows: rag.answering.evidence.group_rows)."""
    return [float(p) for p in model.predict(rows)] if len(rows) else []


def select(
    cands: list[Candidate],
    probs: np.ndarray,
    group: int,
    answerable: float,
    policy: Policy,
    asked: Time | None = None,
) -> list[Pick]:
    """The sentences of one group to quote, best first; [] when its answerability is below the refusal threshold.
    When the group asks about a five-year period (`asked`) and some of its sentences speak of that period, its
    sentences about one year of it are left for them (the answer about 十四五 is the period's figure)."""
    conflict = FEATURES.index("time_conflict")
    period = asked is not None and asked.is_period and any(c.group == group and c.time == asked for c in cands)
    mine = sorted(
        (
            Pick(c, float(p))
            for c, p in zip(cands, probs)
            if c.group == group
            and not (policy.skip_conflicts and c.x[conflict])
            and not (period and c.time is not None and not c.time.is_period)
        ),
        key=lambda k: -k.p,
    )
    if not mine or answerable < policy.refuse_below:
        return []
    out: list[Pick] = []
    for k in mine:
        if len(out) == policy.max_sentences or k.p < policy.keep_ratio * mine[0].p:
            break
        if any(k.candidate.text in o.candidate.text or o.candidate.text in k.candidate.text for o in out):
            continue
        if out and not policy.other_paragraphs and k.candidate.hit.id != out[0].candidate.hit.id:
            continue
        out.append(k)
    return out


def compose(
    retrieval: Retrieval,
    cands: list[Candidate],
    probs: np.ndarray,
    answerable: list[float],
    policy: Policy,
    confident: list[float] | None = None,
    figure_wanted: float = 0.0,
    expand: Callable[[Candidate], list[Candidate]] | None = None,
) -> tuple[str, list[Pick]]:
    """The answer text with citation marks and the picks it quotes; "" when no group is answered. A group is framed
    as the most relevant text, not as the answer, when its `confident` probability is below policy.frame_below, or
    when the question more likely wants a figure than not (`figure_wanted`, the scorer's figure-question model) and
    none of the group's quotes states one: a quote without a figure cannot be the figure asked for. `expand` gives the
    items a quoted sentence announces (announced_items): they are quoted after it when the question more
    likely does not want a figure (one that does is answered by the sentence's own figure, not by the list after it)."""
    groups = retrieval.groups
    comparison = len(groups) > 1
    lines, used = [], []
    for g, (group, _) in enumerate(groups):
        picks = select(cands, probs, g, answerable[g], policy, group.time)
        if expand is not None and figure_wanted < 0.5:
            picks = _with_items(picks, expand)
        if not picks:
            if comparison:
                lines.append(f"- {group.label}：未提及。")
            continue
        used.extend(picks)
        framed = (confident is not None and confident[g] < policy.frame_below) or (
            figure_wanted >= 0.5 and not any(k.candidate.x[_HAS_FIGURE] for k in picks)
        )
        body = (FRAME if framed else "") + _quote(picks, group.time)
        lines.append(f"- {body}" if comparison else body)
    if not used:
        return "", []
    return "\n".join(lines), used


def _with_items(picks: list[Pick], expand: Callable[[Candidate], list[Candidate]]) -> list[Pick]:
    """The picks, each followed by the items it announces (with its probability), none quoted twice."""
    out: list[Pick] = []
    for k in picks:
        for c in [k.candidate, *expand(k.candidate)]:
            if not any(c.hit.id == o.candidate.hit.id and (c.text in o.candidate.text) for o in out):
                out.append(Pick(c, k.p, item=True) if c is not k.candidate else k)
    return out


def _quote(picks: list[Pick], asked: Time | None) -> str:
    """据<report>（<time>）：sentence【mark】…, sentences in reading order, one heading per report and time; the items
    of an announced list one per line."""
    ordered = sorted(picks, key=lambda k: (k.candidate.hit.report_id, k.candidate.hit.paragraph, k.candidate.index))
    parts: list[str] = []
    last = None
    for k in ordered:
        c = k.candidate
        head = _head(c, asked)
        if head != last:
            parts.append(("\n" if parts else "") + f"据{head}：")
            last = head
        parts.append(("\n" if k.item else "") + _ensure_stop(c.text) + c.hit.mark)
    return "".join(parts)


def _head(c: Candidate, asked: Time | None) -> str:
    """Which report, and which time the quote speaks about: its own (section and opening time expressions), or
    when its text does not say, the time the question asked and the planner chose this report for — unless its
    section's title says it reviews where the question asks for plans or the other way round: then the section."""
    hit = c.hit
    name = f"{hit.region}{hit.year}年政府工作报告"
    if c.time is None and asked is not None:
        section = hit_section_role(hit)
        if section is not None and section != role(asked, hit.year):
            return f"{name}（{without_level1_number(hit.section.split(' > ')[0])}）"
    time = c.time or asked
    return f"{name}（{time.label(hit.year)}）" if time is not None else name


def _ensure_stop(quote: str) -> str:
    quote = quote.strip().rstrip("，,、；;：: ")
    return quote if re.search(r"[。！？!?][”’」』）)]*$", quote) else quote + "。"
