"""The numbered items a sentence announces: "坚定实施“五大战略”。" followed by 一是…，二是…，… .

Reports announce a list in one sentence and give its items after it, each opening with an ordinal in one of the
numbering styles Chinese documents use (一是 / （一） / 一、 / 第一 / 1. / （1）), in the same paragraph or as the
first sentences of the paragraphs that follow. Quoting only the announcing sentence answers "which are they" with
"there are five"; the answerer quotes the items' opening sentences beside it. Structure only: nothing here knows a
question or a word of the reports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.headings import LEVEL1, LEVEL2, numbered_level
from ingest.model import Report
from rag.index.sentences import split_sentences

_CN = "一二三四五六七八九十"
# style -> pattern of an ordinal at the start of a sentence (group 1: the number); the heading levels' own for 一、/（一）
_STYLES = {
    "是": re.compile(rf"^([{_CN}]{{1,3}})是"),
    "（一）": LEVEL2,
    "一、": LEVEL1,
    "第一": re.compile(rf"^第([{_CN}]{{1,3}})[，,、：:是]"),
    "1.": re.compile(r"^(\d{1,2})(?:[.．、](?!\d))"),
    "（1）": re.compile(r"^[（(](\d{1,2})[)）]"),
}
# the heading level (ingest.headings.numbered_level) of items numbered in a style; inline styles sit below all
_LEVEL = {"一、": 1, "（一）": 2, "1.": 3, "（1）": 3, "是": 5, "第一": 5}
MAX_ITEMS = 12
MAX_PARAGRAPHS = 80  # how far after the announcing sentence its items are looked for
_LEADING = re.compile(r"^[\s“”\"'‘’]+")


@dataclass(frozen=True)
class Item:
    """One item's opening sentence: where it stands and its text."""

    paragraph: int
    index: int  # the sentence's index in its paragraph (rag.index.sentences.split_sentences)
    start: int
    end: int
    text: str


def _value(number: str) -> int:
    if number.isdigit():
        return int(number)
    if number == "十":
        return 10
    if number.startswith("十"):
        return 10 + _CN.index(number[1]) + 1
    if number.endswith("十"):
        return (_CN.index(number[0]) + 1) * 10
    if "十" in number:
        tens, ones = number.split("十")
        return (_CN.index(tens) + 1) * 10 + _CN.index(ones) + 1
    return _CN.index(number) + 1 if len(number) == 1 else -1


def ordinal(sentence: str) -> tuple[str, int] | None:
    """The numbering style and number a sentence opens with ("二是坚定实施…" -> ("是", 2)), or None."""
    text = _LEADING.sub("", sentence)
    for style, pattern in _STYLES.items():
        m = pattern.match(text)
        if m:
            return style, _value(m.group(1))
    return None


def _sentences_after(report: Report, paragraph: int, offset: int):
    """(paragraph number, sentence index, start, end, text, heading level) of the sentences after `offset` in
    `paragraph`, then of the following paragraphs; the level (ingest.headings.numbered_level, 0 when unnumbered) only
    for a heading's."""
    last = min(len(report.paragraphs), paragraph + MAX_PARAGRAPHS)
    for number in range(paragraph, last + 1):
        p = report.paragraph(number)
        level = (numbered_level(p.text) or 0) if p.kind == "heading" and number != paragraph else None
        for index, (start, end) in enumerate(split_sentences(p.text)):
            if number == paragraph and start < offset:
                continue
            yield number, index, start, end, p.text[start:end], level


def items_after(report: Report, paragraph: int, sentence: str) -> list[Item]:
    """The items the sentence (of paragraph `paragraph`) announces: the sentence right after it opens with the first
    ordinal of a style, and each later sentence opening with the next ordinal of that style is the next item (other
    sentences, sub-lists in other styles included, belong to the items). The list ends where its numbering breaks (the
    style restarts or skips a number), at a heading at or above the items' level (the next section), or after
    MAX_PARAGRAPHS. Fewer than two items: [] (an ordinal after a sentence is not yet a list)."""
    text = report.paragraph(paragraph).text
    at = text.find(sentence)
    if at < 0:
        return []
    items: list[Item] = []
    style: str | None = None
    for number, index, start, end, body, level in _sentences_after(report, paragraph, at + len(sentence)):
        mark = ordinal(body)
        if style is None:  # the very next sentence decides whether a list follows
            if mark is None or mark[1] != 1:
                return []
            style = mark[0]
            items.append(Item(number, index, start, end, body))
            continue
        if mark is not None and mark[0] == style:
            if mark[1] != len(items) + 1:
                break
            items.append(Item(number, index, start, end, body))
            if len(items) == MAX_ITEMS:
                break
        elif level is not None and level <= _LEVEL[style]:
            break
    return items if len(items) >= 2 else []
