"""The result types of the public API: retrieval hits, citations, answers."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field


def citation_mark(short: str, year: int, paragraph: int) -> str:
    """The one inline citation format: 【济南·2024·第12段】."""
    return f"【{short}·{year}·第{paragraph}段】"


@dataclass
class Hit:
    """One retrieved paragraph with its metadata and fused score."""

    report_id: str  # e.g. "济南-2024"
    region: str  # full name, e.g. "济南市"
    short: str  # e.g. "济南"
    year: int  # report year
    paragraph: int
    section: str
    text: str  # the whole paragraph
    score: float  # the fused retrieval score; 0 for a paragraph added to an answer as a quoted list item
    dense_score: float | None = None
    bm25_score: float | None = None
    chunk: str | None = None  # the chunk text that matched, when a paragraph was split

    @property
    def id(self) -> str:
        return f"{self.report_id}-p{self.paragraph}"

    @property
    def mark(self) -> str:
        return citation_mark(self.short, self.year, self.paragraph)


@dataclass
class Citation:
    """A paragraph an answer cites, with the span that supports the claim."""

    report_id: str
    region: str
    short: str
    year: int
    paragraph: int
    section: str
    text: str  # the whole paragraph
    quote: str  # the supporting span (a substring of text), "" when unknown

    @property
    def id(self) -> str:
        return f"{self.report_id}-p{self.paragraph}"

    @property
    def mark(self) -> str:
        return citation_mark(self.short, self.year, self.paragraph)

    @classmethod
    def from_hit(cls, hit: Hit, quote: str = "") -> Citation:
        return cls(hit.report_id, hit.region, hit.short, hit.year, hit.paragraph, hit.section, hit.text, quote)


@dataclass
class Answer:
    """A Chinese answer with inline citation marks, the cited paragraphs, and what was retrieved."""

    question: str
    text: str
    refused: bool = False
    citations: list[Citation] = field(default_factory=list)
    contexts: list[Hit] = field(default_factory=list)
    unsupported: list[str] = field(default_factory=list)  # sentences dropped by the citation/number checks
    notes: list[str] = field(default_factory=list)  # e.g. "库中没有杭州市的报告", "LLM 调用失败，已改用抽取式回答"
    related: list[Hit] = field(default_factory=list)  # closest paragraphs shown with a refusal
    answerer: str = "extractive"
    seconds: float = 0.0
    # the extractive answerer's calibrated probability that the retrieved evidence answers the question (the weakest
    # region/year group's); None when no evidence was scored (a catalogue refusal, an LLM answer)
    answerability: float | None = None

    def __str__(self) -> str:
        return self.text

    def to_dict(self) -> dict:
        d = asdict(self)
        for c, cd in zip(self.citations, d["citations"]):
            cd["id"], cd["mark"] = c.id, c.mark
        for key in ("contexts", "related"):
            for h, hd in zip(getattr(self, key), d[key]):
                hd["id"], hd["mark"] = h.id, h.mark
        return d

    def _repr_html_(self) -> str:
        parts = [f"<div><p>{html.escape(self.text).replace(chr(10), '<br>')}</p>"]
        if self.unsupported:
            parts.append(
                "<p><b>未通过核验（已删除）：</b>" + "；".join(html.escape(s) for s in self.unsupported) + "</p>"
            )
        for c in self.citations:
            body = html.escape(c.text)
            if c.quote and c.quote in c.text:
                q = html.escape(c.quote)
                body = body.replace(q, f"<mark>{q}</mark>", 1)
            parts.append(
                f"<details><summary>{html.escape(c.mark)} {html.escape(c.region)} {c.year}年报告 · "
                f"{html.escape(c.section)}</summary><p>{body}</p></details>"
            )
        parts.append("</div>")
        return "".join(parts)


class AnswerStream:
    """Iterate to receive the answer text as it is generated; `.answer` holds the final Answer afterwards."""

    def __init__(self, chunks: Iterator[str], finish: Callable[[str], Answer]):
        self._chunks = iter(chunks)
        self._finish = finish
        self._parts: list[str] = []  # every piece received so far, across partial iterations
        self.answer: Answer | None = None

    def __iter__(self) -> Iterator[str]:
        for piece in self._chunks:
            self._parts.append(piece)
            yield piece
        if self.answer is None:
            self.answer = self._finish("".join(self._parts))

    def result(self) -> Answer:
        """Consume the rest of the stream and return the checked Answer."""
        if self.answer is None:
            for _ in self:
                pass
        if self.answer is None:  # set by __iter__ once the chunks run out
            raise RuntimeError("the answer stream ended without a final answer")
        return self.answer
