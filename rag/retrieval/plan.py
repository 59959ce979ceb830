"""Reading a question: which regions and report years it is about, and what the corpus does not hold."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ingest.model import Corpus, Report
from rag.retrieval.places import COUNTRY, COUNTRY_NAMES, NameTables, find_places, name_tables, report_positions
from rag.retrieval.timeline import Time, question_times

_MEMBERS = re.compile(r"各市|各地|各城市|哪些城市|哪些市|省内|全省各")
_YEAR = re.compile(r"(?<!\d)(20[0-4]\d)(?:\s*年(?!代))?")
# Words that make a question about the plans/targets of the year it names (answered by that year's report).
_TARGET = re.compile(
    r"目标|预期|计划|力争|打算|安排|部署|任务|重点工作|将要|准备|要[增达新完实建提引开打推降控保]|今年要"
)
# "到2030年": a planning horizon, set by reports of earlier years.
_HORIZON = re.compile(r"(?:到|至|迈向|展望)\s*(20[0-4]\d)\s*年")
# Words that make it about what happened in the year it names (answered by the next year's report).
_OUTCOME = re.compile(
    r"完成|实现了|达到了|增长了|了多少|了几|回顾|成效|成绩|取得|实际|去年|上年|增长多少|增速多少|排名|怎么样"
)


@dataclass
class Group:
    """One retrieval group: the reports searched for one region (and year) of the question."""

    label: str  # e.g. "济南市 2024年报告"
    report_ids: list[str]
    region: str | None = None
    year: int | None = None  # the year the question names
    role: str = "any"  # target | outcome | any: how the named year relates to the report year
    time: Time | None = None  # the year or five-year period the question asks about


@dataclass
class QueryPlan:
    """What a question asks about, resolved against the catalogue."""

    question: str
    regions: list[str] = field(default_factory=list)  # full region names found in the catalogue
    years: list[int] = field(default_factory=list)  # years named in the question
    role: str = "any"
    groups: list[Group] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # Chinese notes: 库中没有杭州市的报告 ...
    caveats: list[str] = field(default_factory=list)  # about the reports searched: 内江市2024年报告正文不完整…

    @property
    def comparison(self) -> bool:
        return len(self.groups) > 1


def plan_query(
    question: str,
    corpus: Corpus,
    region: str | None = None,
    year: int | None = None,
    places: Iterable[str] = (),
) -> QueryPlan:
    """Resolve regions and years (from arguments or from the question) into retrieval groups.

    `places` are other place names (a gazetteer) so that a region the corpus lacks is reported as such.
    """
    reports = corpus.reports
    names = name_tables(corpus, places)
    plan = QueryPlan(question)
    text = question
    asked = _asked_regions(plan, text, region, names, reports)
    if asked is None:
        return plan
    if asked:  # only the reports of the regions asked (or of their cities) matter from here on
        at = report_positions(corpus)
        reports = [reports[i] for i in sorted({i for name in asked for i in at.get(name, ())})]
    years = _resolve_years(plan, text, year, asked, reports)
    region_sets = _region_sets(plan, text, asked, reports, years)
    _add_groups(plan, region_sets, years)
    return plan


def _asked_regions(
    plan: QueryPlan, text: str, region: str | None, names: NameTables, reports: list[Report]
) -> list[str] | None:
    """The corpus regions asked about, noting in `plan.missing` those the corpus lacks; None when none is left."""
    region_names, province_names, listed_names, other = names.regions, names.provinces, names.listed, names.other
    if region:
        hits = find_places(region, {**region_names, **province_names})
        if not hits:
            plan.missing.append(f"库中没有{region}的报告")
            return None
        _note_other_regions(plan, text, hits, names, reports)
        return hits
    everything = {**other, **listed_names, **province_names, **region_names}
    asked = find_places(text, everything)
    if not asked and COUNTRY not in region_names.values() and find_places(text, COUNTRY_NAMES):
        plan.missing.append("库中没有全国（国务院）的政府工作报告")  # asked about the country as a whole
        return None
    for name in asked:
        if name in listed_names.values():
            plan.missing.append(f"{name}的报告仅见于合集目录，正文不在库中")
        elif name in other.values():
            plan.missing.append(f"库中没有{name}的报告")
    # A province named beside one of its own cities is context ("保定…河北图景"), not a second region.
    wanted = set(asked)
    city_provinces = {r.province for r in reports if r.region in wanted and r.region != r.province} if asked else set()
    asked = [a for a in asked if a not in city_provinces]
    named_any = bool(asked)
    asked = [a for a in asked if a in region_names.values() or a in province_names.values()]
    if named_any and not asked:  # every region the question names is missing from the corpus
        return None
    return asked


def _note_other_regions(plan: QueryPlan, text: str, chosen: list[str], names: NameTables, reports: list[Report]):
    """The region argument wins over the question; a corpus region the question names outside it is said so
    (a filter left on in the UI, or `--region 广东` beside a question about 北京, must not answer silently)."""
    inside = (
        set(chosen)
        | {r.region for r in reports if r.province in chosen}
        | {r.province for r in reports if r.region in chosen}
    )
    named = find_places(text, {**names.regions, **names.provinces})
    outside = [n for n in named if n not in inside]
    if outside:
        plan.missing.append(f"问题提到{'、'.join(outside)}，但只检索了所选地区{'、'.join(chosen)}的报告")


@dataclass
class _Years:
    """The years a question asks about, beyond `plan.years`: the Time, role and horizon of each."""

    times: dict[int, Time]  # the year or five-year period each year stands for
    roles: dict[int, str]  # target | outcome | any | report, per year
    horizons: set[int]  # years named as a planning horizon ("到2030年")


def _resolve_years(plan: QueryPlan, text: str, year: int | None, asked: list[str], reports: list[Report]) -> _Years:
    """Set `plan.years` and `plan.role` from the year argument or the question; the time and role of each year."""
    years = [year] if year else [int(y) for y in dict.fromkeys(_YEAR.findall(text))]
    target, outcome = bool(_TARGET.search(text)), bool(_OUTCOME.search(text))
    asked_time: dict[int, Time] = {y: Time(y, y) for y in years}
    if year:  # the report year: a time the question states itself (过去五年, 去年) is read against it
        own = question_times(text, year)
        if len(own) == 1:
            asked_time[year] = own[0]
    else:
        forced = _resolve_times(text, years, asked_time, asked, reports)
        if forced:
            target, outcome = forced == "target", forced == "outcome"
    plan.years = years
    if target and outcome and len(years) > 1:  # e.g. "2022年实际…和2025年的目标": each year by its own words
        plan.role = "any"
    else:
        plan.role = "target" if target else "outcome" if outcome else "any"
    if year:  # an explicit year argument is the report year
        plan.role = "report"
    # With several years, each year's role comes from the words that follow it (falling back to the question's).
    roles = {y: plan.role for y in years}
    if not year and len(years) > 1:
        for y, clause in _year_clauses(text).items():
            roles[y] = {"any": plan.role}.get(_role_of(clause), _role_of(clause))
    horizons = {int(y) for y in _HORIZON.findall(text)} if not year else set()
    return _Years(asked_time, roles, horizons)


def _pick(candidates: list[Report], y: int | None, years: _Years) -> tuple[list[Report], int | None]:
    """The candidate reports that answer about year `y` (by its role), and their report year."""
    if y is None:
        return candidates, None
    role = years.roles[y]
    if role in ("target", "report"):
        order = [y]
    elif role == "outcome":  # a report never holds the outcomes of its own year
        order = [y + 1]
    else:  # either reading: the year's own report (its plans) and the next one (its outcomes), both when at hand
        order = [y, y + 1]
        both = [r for r in candidates if r.year in order]
        if len({r.year for r in both}) > 1:
            return both, None
    for want in order:
        chosen = [r for r in candidates if r.year == want]
        if chosen:
            return chosen, want
    if y in years.horizons and candidates and y > max(r.year for r in candidates):
        return candidates, None  # a long-term goal: any earlier report of the region may set it
    return [], None


def _region_sets(
    plan: QueryPlan, text: str, asked: list[str], reports: list[Report], years: _Years
) -> list[tuple[str | None, list[Report]]]:
    """The reports to search for each region asked (its own, or its cities'), all reports when none is named."""
    members_wanted = bool(_MEMBERS.search(text))
    region_sets: list[tuple[str | None, list[Report]]] = []
    if asked:
        for name in asked:
            own = [r for r in reports if r.region == name]
            members = [r for r in reports if r.province == name and r.region != name]
            if own and not (members_wanted and members):
                plan.regions.append(name)
                # A province's own report lacks the year asked: its cities' reports may have it.
                if members and plan.years and not any(_pick(own, y, years)[0] for y in plan.years):
                    own = members
                region_sets.append((name, own))
            else:
                region_sets.append((name, members))
    else:
        region_sets.append((None, list(reports)))
    return region_sets


def _add_groups(plan: QueryPlan, region_sets: list[tuple[str | None, list[Report]]], years: _Years) -> None:
    """Add to `plan` a group per region set and year, a missing note where no report fits, and caveats."""
    for set_name, candidates in region_sets:
        wanted: list[int | None] = [*plan.years] or [None]
        for want_year in wanted:
            chosen, report_year = _pick(candidates, want_year, years)
            if not chosen:
                plan.missing.append(_no_report_note(set_name, want_year, candidates, years))
                continue
            chosen_years = sorted({r.year for r in chosen})
            both = want_year is not None and chosen_years == [want_year, want_year + 1]
            label = (set_name or "全部地区") + (
                f" {'、'.join(map(str, chosen_years))}年报告" if report_year or both else ""
            )
            if want_year is None:
                role = plan.role
            elif both:  # the year's own report and the next: section roles tell plans from outcomes
                role = "any"
            elif report_year is None:  # a horizon year ("到2030年"): a goal the reports set
                role = "target"
            else:  # with a report year given, the time the question states (去年, 过去五年) says review or plan
                asked_end = years.times[want_year].end if plan.role == "report" else want_year
                role = _role(plan.role, asked_end, report_year)
            plan.groups.append(
                Group(
                    label,
                    [r.id for r in chosen],
                    set_name,
                    want_year,
                    role,
                    years.times.get(want_year) if want_year else None,
                )
            )
            for r in chosen:
                if not r.truncated:
                    continue
                note = f"{r.region}{r.year}年报告正文不完整（截断），缺失部分不在库中"
                if note not in plan.caveats:
                    plan.caveats.append(note)


def _no_report_note(set_name: str | None, want_year: int | None, candidates: list[Report], years: _Years) -> str:
    """The missing note for a region set without a report for the year asked, naming the years it has."""
    have = sorted({r.year for r in candidates})
    where = set_name or "语料库"
    if want_year is None:  # no year asked: nothing at all for the region
        span = ""
    else:
        span = {
            "outcome": f"{want_year + 1}年（其中才有{want_year}年的完成情况）",
            "any": f"{want_year}年或{want_year + 1}年",
        }.get(years.roles[want_year], f"{want_year}年")
    return f"库中没有{where}{span}的报告（现有：{'、'.join(map(str, have)) or '无'}）"


def _resolve_times(text: str, years: list[int], asked: dict[int, Time], regions: list[str], reports) -> str | None:
    """Add to `years` and `asked` the relative words (今年/去年) and periods (十四五/这五年) of the question;
    returns the role a period forces ("outcome" for a closed one, "target" for one that starts), or the year of the
    newest report alone forces (target), else None.

    Relative words count from the newest report of the regions asked (of the corpus when none is named).
    A period is reviewed by the report after it (the role becomes outcome) and planned by the report of its
    first year (target); without either, the newest report from the year before it starts (which prepares
    it) to its end speaks of its progress (any role). Explicit years stay as they are.
    """
    pool = [r.year for r in reports if not regions or r.region in regions or r.province in regions]
    latest = max(pool) if pool else None
    forced = None
    times = question_times(text, latest)
    for t in times:
        if t.is_period and latest is not None:
            y, forced = _period_report(t, set(pool), latest)
        elif not t.is_period and t.start not in years and not _YEAR.search(text):
            y = t.start
        else:
            continue
        if y not in years:
            years.append(y)
            asked[y] = t
    if forced is None and latest is not None and times == [Time(latest, latest)] and not _YEAR.search(text):
        # 今年, counted from the newest report, is that report's own year: no report reviews it yet, and the one
        # that speaks of it speaks of plans, whatever the wording ("今年外贸想增长多少")
        forced = "target"
    return forced


def _period_report(t: Time, have: set[int], latest: int) -> tuple[int, str]:
    """(year to ask, role) for a five-year period, given the report years at hand (see _resolve_times)."""
    if t.end + 1 in have:
        return t.end, "outcome"
    if t.start in have and t.end >= latest:
        return t.start, "target"
    during = [y for y in have if t.start - 1 <= y <= t.end]
    if during:
        return max(during), "any"
    return (t.end, "outcome") if t.end < latest else (t.start, "target")  # missing: the message names that report


def _role_of(text: str) -> str:
    """target when the text speaks of plans, outcome when of results, else any."""
    return "target" if _TARGET.search(text) else "outcome" if _OUTCOME.search(text) else "any"


def _year_clauses(text: str) -> dict[int, str]:
    """For each year named, the text from its (first) mention up to the next year mentioned."""
    spans = [(m.start(), int(m.group(1))) for m in _YEAR.finditer(text)]
    out: dict[int, str] = {}
    for i, (start, y) in enumerate(spans):
        out.setdefault(y, text[start : spans[i + 1][0] if i + 1 < len(spans) else len(text)])
    return out


def _role(role: str, asked: int | None, report_year: int | None) -> str:
    if asked is None or report_year is None:
        return "any"
    return "outcome" if report_year == asked + 1 else "target"
