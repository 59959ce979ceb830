"""Split a compilation (合集) into its reports and read its table of contents."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .metadata import TITLE, title_year

TOC_ENTRY = re.compile(
    r"^(?P<num>\d{1,3})[.．、]\s*(?P<title>(?P<year>\d{4})年度?(?P<region>[\u4e00-\u9fff]{2,24}?)(?:人民)?政府工作报告)"
    r"\s*(?P<page>\d{1,4})?$"
)


@dataclass(frozen=True)
class TocEntry:
    """One line of a compilation's table of contents."""

    title: str
    region: str
    year: int


def split_compilation(lines: list[str]) -> tuple[list[list[str]], list[TocEntry]]:
    """(segments, table of contents).

    A file is a compilation when it has a table of contents or titles of reports of two or more
    regions ("2024年济南市政府工作报告", ...). Each segment runs from one title line to the next;
    the text before the first title (cover, 目录) is not a report. Other files give one segment.
    """
    toc = []
    for line in lines:
        m = TOC_ENTRY.match(line)
        if m:
            toc.append(TocEntry(m.group("title"), m.group("region"), int(m.group("year"))))
    starts = []
    for i, line in enumerate(lines):
        m = TITLE.match(line)
        if m and title_year(m) and m.group("region"):
            starts.append((i, m.group("region")))
    regions = {region for _, region in starts}
    if not toc and len(regions) < 2:
        return [lines], []
    if not starts:
        return [], toc
    cuts = [i for i, _ in starts] + [len(lines)]
    return [lines[a:b] for a, b in zip(cuts, cuts[1:])], toc
