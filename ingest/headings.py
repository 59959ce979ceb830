"""Recognise the heading lines these reports use and the level each one sits at."""

from __future__ import annotations

import re
from dataclasses import dataclass

# Levels: 0 unnumbered titles (2023年重点工作, 名词解释, 附件1), 1 一、, 2 （一）, 3 1. / "1 ", 4 ○ / 【】.
# the numbers of levels 1 and 2 (group 1: the number in Chinese numerals; rag.answering.enumeration reads it)
LEVEL1 = re.compile(r"^([一二三四五六七八九十]{1,3})、")
LEVEL2 = re.compile(r"^[(（]([一二三四五六七八九十]{1,3})[)）]")
_L3 = re.compile(r"^\d{1,2}(?:[.．、](?!\d)|\s+)(?=\S)")
_L4_MARK = re.compile(r"^[○●◆■□◇]\s*")
_L4_BRACKET = re.compile(r"^【[^】]{1,30}】$")
_MARKDOWN = re.compile(r"^(#{1,6})\s*")
_YEAR_HEADING = re.compile(r"^\d{4}年[^，,。；;：:！？!?]{0,28}$")
_YEAR_HEADING_WORDS = ("工作", "回顾", "任务", "安排", "目标", "要求", "部署", "成就", "展望")

SENTENCE_END = "。！？!?；;…"
_INNER_STOP = re.compile(r"[。！？!?；;]")
_ANY_PUNCT = re.compile(r"[，,。；;：:！？!?、]")
_TRAILING_FUNCTION_CHAR = tuple("的和与及在是对把为了将从向以等之其并或而且")
MAX_HEADING = 45
MAX_SHORT_TITLE = 30

FOOTNOTE_TITLES = {"名词解释", "注释", "注解", "名词注释", "附注", "释义", "名词释义", "注"}
FOOTNOTE_MARK = re.compile(r"^\[\d{1,3}\]")
FOOTNOTE_NUMBER = re.compile(r"^\d{1,3}[.．、](?!\d)")
BULLET = re.compile(r"^(?:[-*•·]\s*)+")
SALUTATION = re.compile(r"^各位代表[:：！!，,]?$")


@dataclass(frozen=True)
class Heading:
    """A heading found on a line: its level, its title for the section path, and any body text after it."""

    level: int
    title: str  # shown in section paths, e.g. "(三)大力实施创新驱动,全面推进科教强市人才兴市"
    text: str  # the heading paragraph's text ("" when the heading only leads a body paragraph)
    body: str = ""  # text on the same line that belongs to the body (heading and body share a line)


def without_level1_number(title: str) -> str:
    """A title without its 一、 number ("二、2024年工作安排" -> "2024年工作安排")."""
    return LEVEL1.sub("", title, count=1).lstrip()


def numbered_level(line: str) -> int | None:
    """1 for 一、, 2 for （一）, 3 for 1. / "1 ", 4 for ○ and 【】; None when unnumbered."""
    if LEVEL1.match(line):
        return 1
    if LEVEL2.match(line):
        return 2
    if _L3.match(line):
        return 3
    if _L4_MARK.match(line) or _L4_BRACKET.match(line):
        return 4
    return None


def is_strong_start(line: str, in_footnotes: bool) -> bool:
    """A line that always starts a new paragraph, even after a line that ended mid-sentence."""
    if SALUTATION.match(line) or BULLET.match(line) or _MARKDOWN.match(line) or FOOTNOTE_MARK.match(line):
        return True
    if in_footnotes and FOOTNOTE_NUMBER.match(line):
        return True
    return bool(LEVEL1.match(line) or LEVEL2.match(line) or _L4_MARK.match(line) or _L4_BRACKET.match(line))


def find_heading(line: str, prev_complete: bool) -> Heading | None:
    """The heading on `line`, or None for a body line.

    A numbered line whose first sentence is short and is followed by more text ("（一）抓住用好重大
    战略机遇，省会发展势能加快集聚。深入实施…") stays a body paragraph: the Heading has text "" and
    body = the whole line, and its first sentence becomes the section title.
    """
    markdown = _MARKDOWN.match(line)
    if markdown:
        rest = line[markdown.end() :].strip()
        level = numbered_level(rest)
        return Heading(level if level is not None else len(markdown.group(1)) - 1, _title(rest), rest)
    level = numbered_level(line)
    if level is not None:
        if level == 3 and not prev_complete:
            return None
        return _numbered(line, level)
    if not prev_complete:
        return None
    if _YEAR_HEADING.match(line) and any(w in line for w in _YEAR_HEADING_WORDS):
        return Heading(0, line, line)
    if (
        len(line) <= MAX_SHORT_TITLE
        and not _ANY_PUNCT.search(line)
        and not line.endswith(_TRAILING_FUNCTION_CHAR)
        and re.search(r"[\u4e00-\u9fff]{2}", line)
    ):
        return Heading(0, line, line)
    return None


def _numbered(line: str, level: int) -> Heading | None:
    stops = list(_INNER_STOP.finditer(line))
    if len(line) <= MAX_HEADING and (not stops or (len(stops) == 1 and stops[0].end() == len(line))):
        if level == 3 and stops:
            return None  # "1.xxx。" is a numbered sentence, not a title
        return Heading(level, _title(line), _L4_MARK.sub("", line))
    if level >= 3:
        return None
    lead_end = stops[0].start() if stops else len(line)
    if lead_end <= MAX_HEADING:
        return Heading(level, _title(line[:lead_end]), "", body=line)
    split = _split_parallel_subtitle(line)
    if split:
        head, body = split
        return Heading(level, _title(head), head, body=body)
    dash = line.find("——")
    title = line[:dash] if 0 < dash <= MAX_HEADING else line[:20] + "…"
    return Heading(level, _title(title), "", body=line)


def _split_parallel_subtitle(line: str) -> tuple[str, str] | None:
    """Split "一、回顾2022年政府工作——经济稳中有进,信心持续提振刚刚过去的一年,…" after the subtitle.

    The subtitle is two parallel phrases of equal length around a comma; the body starts after the
    second phrase. Returns (heading, body) or None when the line does not have that shape.
    """
    m = re.match(r"^(.{2,30}?——)([^，,。；;]{2,12})([，,])(.*)$", line)
    if not m:
        return None
    head, first, comma, rest = m.groups()
    second = rest[: len(first)]
    body = rest[len(first) :]
    if _ANY_PUNCT.search(second) or len(body) < 10:
        return None
    return head + first + comma + second, body


def _title(text: str) -> str:
    text = _L4_MARK.sub("", text.strip())
    return text.rstrip("。；;：:").strip()


def is_subtitle(line: str) -> bool:
    """A "——构建新场景，书写新奋斗" line that completes the heading before it."""
    return line.startswith("——") and len(line) <= MAX_HEADING and not _INNER_STOP.search(line)


def is_footnote_title(title: str) -> bool:
    return title.strip("【】[]()（） ") in FOOTNOTE_TITLES
