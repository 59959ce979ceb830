"""Find a report's title block and read its metadata: title, year, region, meeting, date, speaker."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from .chrome import JUMP_IN, JUMP_OUT
from .gazetteer import Place, gazetteer, short_name
from .headings import SALUTATION, find_heading, numbered_level

# A report's title line: the year before the region (2024年衡水市政府工作报告) or after it (衡水市2024年政府工作报告,
# 衡水市人民政府2024年政府工作报告); title_year() reads either.
TITLE = re.compile(
    r"^(?:#+\s*)?(?:(?P<year>\d{4})年度?)?(?P<region>(?:(?!在|会议|代表)[\u4e00-\u9fff]){0,20}?)"
    r"(?:(?<!^)(?:人民政府)?(?P<year_after>\d{4})年度?)?(?:人民)?政府工作报告"
    r"(?:\s*[(（](?P<note>摘要|摘登|摘编|全文)[)）])?$"
)


def title_year(m: re.Match) -> str | None:
    """The year a TITLE match states, before or after the region."""
    return m.group("year") or m.group("year_after")


_NUM = r"[一二三四五六七八九十百零〇\d]{1,4}"
MEETING = re.compile(
    r"(?:(?<=在)|(?<=—)|(?<=-)|(?<=\n)|^)(?P<meeting>(?P<prefix>(?:(?!在)[\u4e00-\u9fff]){0,12}?)第?"
    + _NUM
    + r"届\n?(?:人民代表大会|人大)(?:常务委员会)?第?"
    + _NUM
    + r"次(?:全体)?会议)",
    re.M,
)
_FULL_DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日\s*在")
_TEXT_DATE = re.compile(r"(\d{1,2})月(\d{1,2})日[^。\n]{0,30}?在[^。\n]{0,20}?(?:人民代表大会|人大)[^。\n]{0,12}?会议")
_SPEAKER_ROLE = re.compile(
    r"(?:人民政府)?(?:代理)?(?:省长|市长|县长|区长|州长|主席|盟长)\s*(?P<name>[\u4e00-\u9fff]{2,4})$"
)
_SPEAKER_AT = re.compile(
    r"^(?:——|—|-{2,})?\s*(?P<name>[\u4e00-\u9fff]{2,4}?)(?:同志)?在[^\n]{0,30}(?:人民代表大会|人大)"
)
_BARE_NAME = re.compile(r"^[\u4e00-\u9fff]{2,3}$")
_ABRIDGED = re.compile(r"摘要|摘登|摘编")
_PLAN_YEAR = re.compile(r"(\d{4})年(?![^，,。]*(?:回顾|总结))[^，,。]{0,16}?(?:工作|任务|安排|目标|部署)")
_REVIEW_YEAR = re.compile(r"(?:回顾|总结)\s*(\d{4})年|(\d{4})年[^，,。]{0,12}?(?:回顾|总结)")
_HEADER_LIMIT = 40  # lines


@dataclass
class Detected:
    """Metadata read from one report's text; each value with where it came from."""

    title: str | None = None
    year: int | None = None
    region: str | None = None
    meeting: str | None = None
    date: str | None = None
    speaker: str | None = None
    abridged: bool = False
    headline: str | None = None
    provenance: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    starts_mid_report: bool = False


def split_header(lines: list[str]) -> tuple[list[str], list[str]]:
    """(header lines, body lines). The header is the title block: from the report's title line
    (anything before it is page furniture) up to the first body line; it holds no paragraphs."""
    start = next((i for i, ln in enumerate(lines[:80]) if TITLE.match(ln)), 0)
    for i in range(start, len(lines)):
        if _is_body_start(lines[i], i == start and TITLE.match(lines[i]) is not None):
            return lines[start:i], lines[i:]
    return lines[start:], []


def _is_body_start(line: str, is_title: bool) -> bool:
    if is_title or line in (JUMP_IN, JUMP_OUT) or TITLE.match(line):
        return False
    if SALUTATION.match(line) or re.match(r"^各位代表[:：]", line):
        return True
    if line.startswith(("——", "—", "---")) or MEETING.search(line) and len(line) < 80:
        return False
    if numbered_level(line) is not None and not line.startswith("#"):
        return True
    heading = find_heading(line, prev_complete=True)
    if heading is not None and heading.level == 0 and re.match(r"^\d{4}年", line):
        return True
    return len(line) >= 40 and re.search(r"[，,。；;]", line) is not None


def read_header(header: list[str], body_text: str) -> Detected:
    """Metadata from the title block (and, for the date and year, the body)."""
    found = Detected()
    found.starts_mid_report = JUMP_IN in header
    lines = [ln for ln in header if ln not in (JUMP_IN, JUMP_OUT)]
    for line in lines:
        m = TITLE.match(line)
        if m:
            # found.title was itself a TITLE line, so it matches
            prev = TITLE.match(found.title) if found.title is not None else None
            year = title_year(m)
            if prev is None or (year and not title_year(prev)):
                found.title = line.lstrip("#").strip()
            if year and found.year is None:
                found.year, found.provenance["year"] = int(year), "title"
            if m.group("region") and found.region is None:
                found.region, found.provenance["region"] = m.group("region"), "title"
    joined = "\n".join(lines)
    meeting = MEETING.search(joined)
    if meeting:
        found.meeting = meeting.group("meeting").replace("\n", "")
        found.provenance["meeting"] = "text"
        prefix = meeting.group("prefix")
        if found.region is None and len(prefix) >= 2:
            found.region, found.provenance["region"] = prefix, "text"
    date = _FULL_DATE.search(joined)
    if date:
        found.date = _iso(*date.groups())
        found.provenance["date"] = "text"
        if found.year is None:
            found.year, found.provenance["year"] = int(date.group(1)), "text"
    for line in lines:
        m = _SPEAKER_ROLE.search(line) or _SPEAKER_AT.match(line)
        if m and found.speaker is None:
            found.speaker = m.group("name")
    if found.speaker is None:
        for line in lines:
            if _BARE_NAME.match(line) and not TITLE.match(line) and gazetteer().find(line) is None:
                found.speaker = line
                break
    if found.speaker:
        found.provenance["speaker"] = "text"
    found.abridged = bool(_ABRIDGED.search(joined))
    # A headline printed above the meeting line (000: 努力开创现代化国际化美丽省会城市建设新局面).
    before_meeting = lines[: next((i for i, ln in enumerate(lines) if MEETING.search(ln)), 0)]
    found.headline = next(
        (
            ln
            for ln in before_meeting
            if 8 <= len(ln) <= 40
            and not TITLE.match(ln)
            and not _SPEAKER_ROLE.search(ln)
            and not re.search(r"[，,。:：\d]", ln)
        ),
        None,
    )
    return found


def year_from_headings(headings: list[str]) -> tuple[int | None, str | None]:
    """The report year from section headings: "2023年重点工作" -> 2023, "2022年工作回顾" -> 2023.

    Returns (year, warning): the most common reading, with a warning when readings disagree.
    """
    votes: Counter[int] = Counter()
    for title in headings:
        review = _REVIEW_YEAR.search(title)
        if review:
            votes[int(review.group(1) or review.group(2)) + 1] += 1
            continue
        plan = _PLAN_YEAR.search(title)
        if plan:
            votes[int(plan.group(1))] += 1
    if not votes:
        return None, None
    ranked = votes.most_common()
    warning = None
    if len(ranked) > 1:
        warning = "年份依据不一致：" + "、".join(f"{y}（{n}处）" for y, n in ranked)
    return ranked[0][0], warning


def date_from_body(body_text: str, year: int) -> str | None:
    """ "1月16日，市长李国勇在市八届人大五次会议上作政府工作报告" -> f"{year}-01-16"."""
    m = _TEXT_DATE.search(body_text[:3000])
    return _iso(str(year), m.group(1), m.group(2)) if m else None


def infer_region(text: str, meeting: str | None) -> tuple[Place | None, str | None]:
    """The place a report is about, from how often it names each city/province.

    Used only when neither title nor meeting line names the region. The winner needs at least 3
    mentions and twice as many as the runner-up; returns (place, note for the warnings) or (None, None).
    """
    g = gazetteer()
    levels = ("prefecture",) if meeting and meeting.startswith("市") else ("prefecture", "province")
    if meeting and meeting.startswith("省"):
        levels = ("province",)
    counts = []
    for place in g.names_at(*levels):
        short = short_name(place)
        if len(short) >= 2:
            n = text.count(short)
            if n:
                counts.append((n, place))
    counts.sort(key=lambda c: (-c[0], c[1].adcode))
    if not counts or counts[0][0] < 3 or (len(counts) > 1 and counts[0][0] < 2 * counts[1][0]):
        return None, None
    n, place = counts[0]
    return place, f"地区由正文推断：{place.name}（正文提及{n}次）"


def _iso(year: str, month: str, day: str) -> str:
    return f"{int(year):04d}-{int(month):02d}-{int(day):02d}"
