"""Turning retrieved paragraphs into a checked Answer, with the extractive or the LLM answerer."""

from __future__ import annotations

import time
from collections.abc import Iterator

from rag.answering.checked_stream import CheckedStream
from rag.answering.evidence import states_unseen_figure
from rag.answering.extractive import with_quoted
from rag.answering.prompts import REFUSAL
from rag.answering.verify import verify
from rag.retrieval.retrieve import Retrieval
from rag.types import Answer, AnswerStream

STREAM_DIVIDER = "\n—— 最终回答 ——\n"  # in a stream, between checked text already shown and the answer that replaced it
FALLBACK_NOTE = "LLM 调用失败（{error}），已改用抽取式回答。"
UNSEEN_FIGURE = "问题中给出的数字未见于所引段落，请以原文为准"
UNVERIFIED_NOTE = "LLM 的回答没有一句通过核验（{count} 句缺少可核对的引用或数字不符），已改用抽取式回答。"


def refusal(question: str, retrieval: Retrieval, answerer: str, notes: list[str], t0: float) -> Answer:
    """The fixed refusal, with why: what the catalogue lacks (`notes`), or else which reports were searched in vain;
    the closest paragraphs as related."""
    searched = [g.label.replace(" ", "") for g in retrieval.plan.groups]
    why = notes or ([f"所检索的{'、'.join(searched)}中没有找到回答这个问题的内容"] if searched else [])
    text = REFUSAL + "".join(f"{n.rstrip('。')}。" for n in why)
    return Answer(
        question,
        text,
        refused=True,
        contexts=retrieval.hits,
        notes=notes,
        related=retrieval.hits[:3],
        answerer=answerer,
        seconds=time.perf_counter() - t0,
    )


def finish(question: str, raw: str, retrieval: Retrieval, answerer: str, notes: list[str], t0: float) -> Answer:
    """Apply the shared citation and number checks to an answerer's raw text and build the Answer."""
    notes = list(dict.fromkeys(notes + retrieval.plan.missing))
    caveats = retrieval.plan.caveats  # a truncated report may be why nothing (or 未提及) was found
    raw = raw.strip()
    if not raw or raw.startswith(REFUSAL):
        return refusal(question, retrieval, answerer, notes + caveats, t0)
    checked = verify(raw, retrieval.hits)
    if not checked.citations:
        ans = refusal(question, retrieval, answerer, notes + caveats, t0)
        ans.unsupported = list(checked.unsupported)
        return ans
    text = checked.text
    # a figure the question states that no cited paragraph states: said so, without repeating it (the answer's own
    # figures are all the cited paragraphs')
    unseen = [UNSEEN_FIGURE] if states_unseen_figure(question, [c.text for c in checked.citations]) else []
    extra = retrieval.plan.missing + (caveats if "未提及" in text else []) + unseen
    notes = list(dict.fromkeys(notes + extra))
    if extra:
        text += "\n" + "".join(f"注：{m}。" for m in extra)
    return Answer(
        question,
        text,
        refused=False,
        citations=checked.citations,
        contexts=retrieval.hits,
        unsupported=list(checked.unsupported),
        notes=notes,
        answerer=answerer,
        seconds=time.perf_counter() - t0,
    )


def extractive_answer(question: str, retrieval: Retrieval, answerer, notes=(), t0: float | None = None) -> Answer:
    """The default, deterministic answer: quoted sentences with citation marks, or a refusal.

    `answerer` is the ExtractiveAnswerer (rag.answering.extractive) that scores and quotes the sentences."""
    t0 = time.perf_counter() if t0 is None else t0
    if not retrieval.plan.groups:
        return refusal(question, retrieval, "extractive", list(notes) + retrieval.plan.missing, t0)
    text, picks, answerability = answerer.compose(question, retrieval)
    answer = finish(question, text, with_quoted(retrieval, picks), "extractive", list(notes), t0)
    answer.answerability = answerability
    return answer


def llm_answer_checked(question: str, retrieval: Retrieval, llm, prompt, extractive, stream: bool = False):
    """Ask the LLM; check its answer like any other; fall back to the extractive answer if it fails.

    Streamed, only checked text is yielded (rag.answering.checked_stream): the kept sentences as they complete,
    then the rest of the final answer (notes), so that the pieces joined are the Answer's text. When the
    answer is replaced after checked text was shown (the endpoint failed mid-reply, or nothing of the reply
    could be kept), STREAM_DIVIDER and the whole final answer follow: the text shown last is always the
    Answer's."""
    from ingest.errors import LLMError
    from rag.answering.llm_answer import llm_answer

    t0 = time.perf_counter()
    if not retrieval.plan.groups:
        return refusal(question, retrieval, "llm", list(retrieval.plan.missing), t0)
    notes = list(retrieval.plan.missing)
    if not stream:
        try:
            raw = llm_answer(question, retrieval.hits, llm, prompt, notes=notes)
        except LLMError as e:
            return extractive_answer(question, retrieval, extractive, [FALLBACK_NOTE.format(error=e.message)], t0)
        return _unless_unverified(finish(question, raw, retrieval, "llm", [], t0), question, retrieval, extractive, t0)

    state: dict = {}

    def chunks() -> Iterator[str]:
        checked = CheckedStream(retrieval.hits)
        try:
            for piece in llm_answer(question, retrieval.hits, llm, prompt, notes=notes, stream=True):
                shown = checked.feed(piece)
                if shown:
                    yield shown
            shown = checked.flush()
            if shown:
                yield shown
            answer = _unless_unverified(
                finish(question, checked.raw, retrieval, "llm", [], t0), question, retrieval, extractive, t0
            )
        except LLMError as e:
            answer = extractive_answer(question, retrieval, extractive, [FALLBACK_NOTE.format(error=e.message)], t0)
        state["answer"] = answer
        if answer.text.startswith(checked.shown):
            rest = answer.text[len(checked.shown) :]
        else:  # replaced after checked text was shown (the LLM failed mid-reply, or none of it could be kept)
            rest = (STREAM_DIVIDER if checked.shown else "") + answer.text
        if rest:
            yield rest

    return AnswerStream(chunks(), lambda _shown: state["answer"])


def _unless_unverified(answer: Answer, question: str, retrieval: Retrieval, extractive, t0: float) -> Answer:
    """An LLM answer of which verification kept nothing becomes the extractive answer, saying so.

    The LLM's removed sentences stay listed in `unsupported`; an LLM that refused stays a refusal.
    """
    if not (answer.refused and answer.unsupported):
        return answer
    fallback = extractive_answer(
        question, retrieval, extractive, [UNVERIFIED_NOTE.format(count=len(answer.unsupported))], t0
    )
    fallback.unsupported = list(answer.unsupported) + list(fallback.unsupported)
    return fallback
