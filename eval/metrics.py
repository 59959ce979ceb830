"""Deterministic per-question metrics (retrieval, answer, grounding) and their summary; no LLM involved."""

from __future__ import annotations

import math
import re
import statistics
import unicodedata
from dataclasses import asdict, dataclass

from eval.dataset import EvalItem
from rag.answering.citations import find_marks
from rag.answering.extractive import FRAME
from rag.answering.numbers import extract_numbers, number_supported
from rag.types import Answer, Citation

_CLAIM_END = re.compile(r"(?<=[。！？!?\n])")  # claims end where rag.answering.verify's do: a sentence or a line
_LEADING_MARKS = re.compile(r"^\s*(?:【[^【】]*】\s*)+")
_CONTENT = re.compile(r"[\u4e00-\u9fffA-Za-z0-9]")
_DIGIT_COMMA = re.compile(r"(?<=\d),(?=\d{3})")
_REGION_SUFFIX = re.compile(r"(?:特别行政区|自治区|自治州|自治县|地区|市|省|县|区|盟|旗)$")


def normalize(text: str) -> str:
    """Light normalisation for matching: NFKC (full-width -> half-width), no whitespace, no thousands commas, lower."""
    text = unicodedata.normalize("NFKC", text)
    text = re.sub(r"\s+", "", text)
    return _DIGIT_COMMA.sub("", text).lower()


# --- retrieval -------------------------------------------------------------------------------


def ranked_paragraphs(answer: Answer) -> list[str]:
    """The distinct paragraph ids of answer.contexts, in retrieval order."""
    out: list[str] = []
    for hit in answer.contexts:
        if hit.id not in out:
            out.append(hit.id)
    return out


def hit_at_k(answer: Answer, gold: list[str], k: int) -> bool:
    """Whether any gold paragraph is among the first k distinct retrieved paragraphs."""
    return bool(set(ranked_paragraphs(answer)[:k]) & set(gold))


def reciprocal_rank(answer: Answer, gold: list[str], k: int | None = None) -> float:
    """1/rank of the first gold paragraph among the distinct retrieved paragraphs (within k if given), else 0."""
    ranked = ranked_paragraphs(answer)
    for rank, pid in enumerate(ranked[:k] if k else ranked, 1):
        if pid in gold:
            return 1.0 / rank
    return 0.0


# --- answer ----------------------------------------------------------------------------------


def key_accuracy(item: EvalItem, answer: Answer) -> bool:
    """All of the item's keys occur in the answer text (after `normalize`); a refused answer has none."""
    if answer.refused:
        return False
    text = normalize(answer.text)
    return all(normalize(key) in text for key in item.keys)


def refusal_correct(item: EvalItem, answer: Answer) -> bool:
    """The answer refused exactly when the item expects a refusal."""
    return answer.refused == item.refuse


def framed(answer: Answer) -> bool:
    """The answer quotes its evidence as "the most relevant text", not as the answer (rag.answering.extractive.FRAME)."""
    return not answer.refused and FRAME in answer.text


def false_refusal(item: EvalItem, answer: Answer) -> bool | None:
    """For an answerable item: whether the answer refused. None for items that expect a refusal."""
    return None if item.refuse else answer.refused


# --- grounding -------------------------------------------------------------------------------


def _without_marks(text: str) -> str:
    marks = find_marks(text)
    for m in sorted({(m.start, m.end) for m in marks}, reverse=True):
        text = text[: m[0]] + text[m[1] :]
    return text


def claims(text: str) -> list[str]:
    """The answer's claims: sentences/lines (split after 。！？ and line breaks, as rag.answering.verify splits them) with
    content besides marks; a quoted sentence whose clauses are separated by ；is one claim.
    Marks written right after the full stop stay with the sentence before."""
    pieces: list[str] = []
    for piece in _CLAIM_END.split(text):
        lead = _LEADING_MARKS.match(piece)
        if lead and pieces and find_marks(lead.group()):
            pieces[-1] += lead.group()
            piece = piece[lead.end() :]
        pieces.append(piece)
    return [p.strip() for p in pieces if _CONTENT.search(_without_marks(p))]


def _base(name: str) -> str:
    return _REGION_SUFFIX.sub("", name) or name


def in_evidence_report(citation: Citation, item: EvalItem) -> bool:
    """Whether the cited paragraph belongs to a report (region full or short name + report year) of the item's evidence."""
    return any(
        ev.year == citation.year and _base(ev.region) in (_base(citation.region), _base(citation.short))
        for ev in item.evidence
    )


def supports_item(citation: Citation, item: EvalItem, gold: list[str]) -> bool:
    """A cited paragraph supports the item when it is a gold paragraph, or when it belongs to an evidence report
    and its text contains one of the item's keys. A paragraph of another city or year never supports."""
    if citation.id in gold:
        return True
    text = normalize(citation.text)
    return in_evidence_report(citation, item) and any(normalize(key) in text for key in item.keys)


def claim_citations(claim: str, answer: Answer) -> list[Citation]:
    """The answer's citations named by a mark in the claim (【济南·2024·第12段】 or a tolerant variant of it)."""
    out = []
    for m in find_marks(claim):
        for c in answer.citations:
            if (c.year, c.paragraph) == (m.year, m.paragraph) and _base(m.short) in (_base(c.short), _base(c.region)):
                if c not in out:
                    out.append(c)
    return out


def citation_precision(item: EvalItem, answer: Answer, gold: list[str]) -> float | None:
    """Share of answer.citations that support the item (`supports_item`); None when there are no citations."""
    if not answer.citations:
        return None
    return sum(supports_item(c, item, gold) for c in answer.citations) / len(answer.citations)


def citation_recall(item: EvalItem, answer: Answer, gold: list[str]) -> float | None:
    """Share of claims carrying a mark of a citation that supports the item; None for refusals and empty answers."""
    parts = claims(answer.text)
    if answer.refused or not parts:
        return None
    covered = sum(any(supports_item(c, item, gold) for c in claim_citations(cl, answer)) for cl in parts)
    return covered / len(parts)


def number_grounding(answer: Answer) -> float | None:
    """Share of the answer's figures (rag.answering.numbers: value, unit, qualifiers) supported by a paragraph cited by their
    own claim, or by any of the answer's citations when the claim carries no mark. None when no figure is stated."""
    total = grounded = 0
    for claim in claims(answer.text):
        cited = claim_citations(claim, answer) if find_marks(claim) else answer.citations
        for number in extract_numbers(claim):
            total += 1
            grounded += any(number_supported(number, c.text) for c in cited)
    return grounded / total if total else None


# --- per question and summary ----------------------------------------------------------------


@dataclass
class QuestionResult:
    """All metrics of one question; None where a metric does not apply."""

    id: str
    type: str
    refuse: bool
    refused: bool
    hit_at_1: bool | None
    hit_at_5: bool | None
    reciprocal_rank: float | None
    key_correct: bool | None
    refusal_correct: bool
    false_refusal: bool | None
    framed: bool
    citation_precision: float | None
    citation_recall: float | None
    number_grounding: float | None
    seconds: float
    answerability: float | None = None  # Answer.answerability: the answerer's score of its evidence

    def to_dict(self) -> dict:
        return asdict(self)


def evaluate(item: EvalItem, answer: Answer, gold: list[str], k: int = 5) -> QuestionResult:
    """Score one answer. Retrieval and key metrics apply to answerable items only; grounding to non-refusals."""
    retrieval = item.answerable and bool(gold)
    grounded = item.answerable and not answer.refused
    return QuestionResult(
        id=item.id,
        type=item.type,
        refuse=item.refuse,
        refused=answer.refused,
        hit_at_1=hit_at_k(answer, gold, 1) if retrieval else None,
        hit_at_5=hit_at_k(answer, gold, k) if retrieval else None,
        reciprocal_rank=reciprocal_rank(answer, gold, k) if retrieval else None,
        key_correct=key_accuracy(item, answer) if item.answerable else None,
        refusal_correct=refusal_correct(item, answer),
        false_refusal=false_refusal(item, answer),
        framed=framed(answer),
        citation_precision=citation_precision(item, answer, gold) if grounded else None,
        citation_recall=citation_recall(item, answer, gold) if grounded else None,
        number_grounding=number_grounding(answer) if grounded else None,
        seconds=answer.seconds,
        answerability=answer.answerability,
    )


def _mean(values) -> float | None:
    vals = [float(v) for v in values if v is not None]
    return sum(vals) / len(vals) if vals else None


def _percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


# --- how far a refusal threshold could go ---------------------------------------------------------

CEILING_FALSE_REFUSALS = 0.05  # the bar for answerable questions refused


def answerability_auc(results: list[QuestionResult]) -> float | None:
    """How well the answerability score ranks answerable above unanswerable questions (ROC AUC, ties count half),
    over the questions it scored; None without both kinds."""
    pos = [r.answerability for r in results if r.answerability is not None and not r.refuse]
    neg = [r.answerability for r in results if r.answerability is not None and r.refuse]
    if not pos or not neg:
        return None
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def refusal_ceiling(results: list[QuestionResult], max_false: float = CEILING_FALSE_REFUSALS) -> float | None:
    """The highest refusal recall any stricter refusal threshold on the answerability could reach while refusing at
    most `max_false` of the answerable questions: refused at threshold t = refused already, or scored below t.

    Whether a refusal bar is reachable by tuning the threshold at all, whatever threshold the fit chose: a ceiling
    below the bar needs a better answerability signal, not another threshold."""
    answerable = [r for r in results if not r.refuse]
    to_refuse = [r for r in results if r.refuse]
    if not answerable or not to_refuse:
        return None
    best = None
    for t in sorted({r.answerability for r in results if r.answerability is not None} | {0.0}):
        refused = [r.refused or (r.answerability is not None and r.answerability < t) for r in results]
        false = sum(f for f, r in zip(refused, results) if not r.refuse) / len(answerable)
        if false <= max_false + 1e-12:
            recall = sum(f for f, r in zip(refused, results) if r.refuse) / len(to_refuse)
            best = recall if best is None else max(best, recall)
    return best


def summarize(results: list[QuestionResult]) -> dict:
    """Means over the questions each metric applies to, refusal rates, and latency p50/p95 (seconds)."""
    refuse_items = [r for r in results if r.refuse]
    seconds = [r.seconds for r in results]
    return {
        "n": len(results),
        "n_answerable": len(results) - len(refuse_items),
        "n_refuse": len(refuse_items),
        "hit@1": _mean(r.hit_at_1 for r in results),
        "hit@5": _mean(r.hit_at_5 for r in results),
        "mrr": _mean(r.reciprocal_rank for r in results),
        "key_accuracy": _mean(r.key_correct for r in results),
        "refusal_accuracy": _mean(r.refusal_correct for r in results),
        "refusal_recall": _mean(r.refused for r in refuse_items),
        "false_refusal_rate": _mean(r.false_refusal for r in results),
        # questions to refuse that were refused or answered only as "the most relevant text"
        "hedged_recall": _mean(r.refused or r.framed for r in refuse_items),
        # answerable questions answered only as "the most relevant text"
        "answerable_framed": _mean(r.framed for r in results if not r.refuse),
        "citation_precision": _mean(r.citation_precision for r in results),
        "citation_recall": _mean(r.citation_recall for r in results),
        "number_grounding": _mean(r.number_grounding for r in results),
        # diagnostics of the refusal signal (not gated): its ranking quality and the best refusal recall a threshold
        # could reach within CEILING_FALSE_REFUSALS of answerable questions refused
        "answerability_auc": answerability_auc(results),
        "refusal_ceiling": refusal_ceiling(results),
        "latency_p50": statistics.median(seconds) if seconds else None,
        "latency_p95": _percentile(seconds, 95),
    }


def summarize_by_type(results: list[QuestionResult]) -> dict[str, dict]:
    """`summarize` for each question type."""
    types = sorted({r.type for r in results})
    return {t: summarize([r for r in results if r.type == t]) for t in types}
