"""What time a paragraph, a sentence or a question speaks about: one year, or a five-year plan period.

A report of year R reviews R-1 and plans R; the report opening a five-year plan period (2021, 2026, …)
also reviews the closed period and sets out the new one. This module reads the general Chinese time
expressions that say which — explicit years (2025年), relative years (今年/去年/明年/前年), named
periods (“十四五”…) and five-year spans (五年来/过去五年/这五年) — and nothing specific to any report.

A paragraph's time is the time expression it opens with; a paragraph that opens with none continues
the time of the paragraph before it in the same top section, or takes its section title's time when
the title names exactly one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.index.sentences import split_sentences

_CN_DIGIT = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_PLAN = re.compile(r"十([一二三四五六七八九])五")  # 十四五 = the 14th plan
_YEAR = re.compile(r"(?<!\d)(20\d\d)\s*年(?!代)")
_REL = [(r"今年|本年|当年", 0), (r"去年|上一?年|(?:刚刚)?过去的?一年|一年来", -1), (r"明年", 1), (r"前年", -2)]
_RELATIVE = re.compile("|".join(f"(?P<r{i}>{pattern})" for i, (pattern, _) in enumerate(_REL)))
_HORIZON = re.compile(r"(?:(?<!截)至|到|迈向|展望)\s*$")
_FIVE = re.compile(r"(?:过去|这|近|前)(?:五|5)年|(?:五|5)年(?:来|间|以来)")
OPENING = 7  # a paragraph opens with a time expression that starts within its first 7 characters


@dataclass(frozen=True)
class Time:
    """A year (start == end) or a span of years (a five-year plan period)."""

    start: int
    end: int

    @property
    def is_period(self) -> bool:
        return self.end > self.start

    def label(self, report_year: int) -> str:
        """How an answer names it relative to the report: 回顾2025年, 2026年安排, 回顾“十四五”时期…"""
        if self.is_period:
            name = period_name(self)
            span = f"{self.start}—{self.end}年"
            named = f"“{name}”时期，{span}" if name else span
            return f"回顾{named}" if self.end < report_year else f"{named}目标任务"
        if self.start < report_year:
            return f"回顾{self.start}年"
        return f"{self.start}年安排" if self.start == report_year else f"{self.start}年"


def plan_period(n: int) -> Time:
    """The n-th five-year plan: 13 -> 2016–2020, 14 -> 2021–2025, 15 -> 2026–2030."""
    start = 2016 + 5 * (n - 13)
    return Time(start, start + 4)


def period_name(t: Time) -> str | None:
    n = (t.start - 2016) // 5 + 13
    if plan_period(n) == t:
        return "十" + "一二三四五六七八九"[n - 11] + "五"
    return None


def times_in(text: str, report_year: int | None) -> list[tuple[int, Time]]:
    """Every time expression in `text` with its position; relative ones need `report_year`."""
    found: list[tuple[int, Time]] = []
    for m in _PLAN.finditer(text):
        found.append((m.start(), plan_period(10 + _CN_DIGIT[m.group(1)])))
    for m in _YEAR.finditer(text):
        if _HORIZON.search(text[max(0, m.start() - 3) : m.start()]):
            continue  # "到2035年": a horizon the text aims at, not the time it speaks about
        y = int(m.group(1))
        found.append((m.start(), Time(y, y)))
    if report_year is not None:
        for m in _RELATIVE.finditer(text):
            group = m.lastgroup  # every alternative is a named group "r<i>"
            if group is None:
                raise AssertionError("_RELATIVE matched outside its named groups")
            y = report_year + _REL[int(group[1:])][1]
            found.append((m.start(), Time(y, y)))
        for m in _FIVE.finditer(text):
            found.append((m.start(), Time(report_year - 5, report_year - 1)))
    return sorted(found, key=lambda x: x[0])


def opening_time(text: str, report_year: int) -> Time | None:
    """The time a text opens with (within its first OPENING characters), if any."""
    head = [t for pos, t in times_in(text[: OPENING + 12], report_year) if pos < OPENING]
    return head[0] if head else None


def title_time(title: str, report_year: int) -> Time | None:
    """The one time a section title names ("三、2026年重点工作"); None for none or several."""
    distinct = {t for _, t in times_in(title, report_year)}
    return distinct.pop() if len(distinct) == 1 else None


def role(t: Time, report_year: int) -> str | None:
    """ "review" for a time before the report's year, "plan" for one from it on, None for a span across it."""
    return "review" if t.end < report_year else "plan" if t.start >= report_year else None


def section_role(title: str, report_year: int) -> str | None:
    """The role every time a section title names shares ("二、“十五五”时期目标任务和2026年工作安排": plan), else None."""
    roles = {role(t, report_year) for _, t in times_in(title, report_year)}
    return roles.pop() if len(roles) == 1 else None


def paragraph_times(paragraphs, report_year: int) -> dict[int, list[tuple[int, Time | None]]]:
    """Paragraph number -> [(offset, time)]: the time the paragraph speaks about from each offset on.

    A sentence that opens with a time expression starts a new time ("2025年是收官之年。过去五年，…": the
    second sentence on is about the five years); the time at a paragraph's end carries over to the next
    paragraph of the same top section; a section starts with the one time its title names, if any.
    """
    out: dict[int, list[tuple[int, Time | None]]] = {}
    current: Time | None = None
    section = None
    for p in paragraphs:
        top = p.section.split(" > ")[0]
        if top != section:
            section, current = top, title_time(top, report_year)
        if p.kind == "heading":
            out[p.number] = [(0, current)]
            continue
        sub = p.section.split(" > ")[-1] if " > " in p.section else ""
        if sub and p.text.startswith(sub[:8]) and title_time(sub, report_year) is not None:
            current = title_time(sub, report_year)
        changes = [(0, current)]
        for start, end in split_sentences(p.text):
            t = opening_time(p.text[start:end], report_year)
            if t is not None:
                changes.append((start, t))
                current = t
        if len(changes) > 1 and changes[1][0] <= OPENING:  # the paragraph opens with its own time
            changes = [(0, changes[1][1])] + changes[2:]
        out[p.number] = changes
    return out


def time_at(changes: list[tuple[int, Time | None]], offset: int) -> Time | None:
    """The time in force at `offset` of a paragraph (from paragraph_times)."""
    t = None
    for start, time in changes:
        if start <= offset:
            t = time
    return t


def question_times(question: str, latest_year: int | None) -> list[Time]:
    """The times a question asks about, relative words resolved against `latest_year` (the newest report)."""
    out: list[Time] = []
    for _, t in times_in(question, latest_year):
        if t not in out:
            out.append(t)
    return out
