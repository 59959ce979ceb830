"""Figures in Chinese report text (value, unit, qualifiers) and whether a paragraph supports a figure.

Normalisation: full-width digits/letters/％ become ASCII, thousands separators go, spaces between a
number and its unit go, trailing decimal zeros go ("6.0%" == "6%"). A range is one figure ("5.5-6", "%").
Not figures: years (2023年, a bare 2024), dates and times (1月30日, 7月份, 2023-4-18, 19:33), ordinals
(第12段, 第39位), list markers at a line start ("1." "2、" "1 标题"), "(3)"/"（3）", footnote refs [12],
citation marks, and Chinese-numeral words (十四五, 两个, 三年): only Arabic digits are read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rag.answering.citations import find_marks

# One char for one char, so spans found in the translated text are valid in the original.
_FULLWIDTH = {c: c - 0xFEE0 for c in range(0xFF01, 0xFF5F) if c != 0xFF0C}  # keep the Chinese comma
_FULLWIDTH.update({0x3000: 0x20, 0x2014: 0x2D, 0x2013: 0x2D, 0xFF5E: 0x7E})
_MASK = "\x00"

_MAGNITUDES = ["万亿", "千亿", "百亿", "千万", "百万", "十万", "亿", "万", "千", "百"]
_BASE_UNITS = sorted(
    """个百分点 百分点 % ‰ 平方公里 平方千米 万平方米 平方米 立方米 公顷 公里 千米 千瓦时 千瓦 兆瓦 千伏 伏
    标准箱 标箱 人次 件次 户次 台次 架次 车次 美元 欧元 港元 元 吨 公斤 千克 斤 亩 倍 小时 分钟 个月 年 天 岁
    kWh kW MW GW kV km kg m2 TEU""".split(),
    key=len,
    reverse=True,
)
_MEASURE_WORDS = set(
    "个项家所座条套间户人名位次件台辆列架艘张床株只头批处场届期类种款部本册篇份首支根片块栋幢层"
    "亩吨斤米元倍天年周轮宗笔例校园村镇乡县区市省港站号版级星环线"
)
_SUFFIX_QUALIFIERS = ["左右", "上下", "以上", "以内", "以下", "之多", "多", "余"]
_NEAR_PREFIX = [
    "不低于",
    "不少于",
    "不超过",
    "不高于",
    "超过",
    "突破",
    "达到",
    "高于",
    "低于",
    "大约",
    "接近",
    "约",
    "近",
    "逾",
    "超",
]
_SENTENCE_PREFIX = ["力争", "争取"]

# Qualifiers that change what a figure means, grouped by meaning; "达到" is neutral and never checked.
QUALIFIER_GROUPS = {
    "approx": {"左右", "上下", "约", "大约", "接近", "近"},
    "above": {"以上", "超过", "突破", "不低于", "不少于", "高于", "多", "余", "逾", "超", "之多"},
    "below": {"以内", "以下", "不超过", "不高于", "低于"},
    "aim": {"力争", "争取"},
}

_NUM = r"(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?"
_FIGURE = re.compile(rf"(?<![\d.A-Za-z])(?P<a>{_NUM})(?:\s*(?P<range>%?\s*[-~至到]\s*)(?P<b>{_NUM}))?(?![\d])")
_IGNORED = [
    re.compile(r"(?:19|20)\d\d\s*[-~至到]\s*(?:19|20)\d\d\s*年"),  # year ranges
    re.compile(r"(?<!\d)(?:19|20)\d\d\s*年(?:度)?"),  # years
    re.compile(r"(?<!\d)\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?!\d)"),  # ISO-ish dates
    re.compile(r"(?<![\d.])\d{1,2}\s*月(?:份|\s*\d{1,2}\s*[日号])?"),  # 1月30日, 7月份
    re.compile(r"(?<!\d)\d{1,2}:\d{2}(?::\d{2})?"),  # times
    re.compile(r"第\s*\d+"),  # ordinals
    re.compile(r"[\[［]\d{1,3}[\]］]"),  # footnote refs
    re.compile(r"[(（]\d{1,2}[)）]"),  # (3) list markers
    re.compile(
        r"(?m)^[ \t]*(?:[-*+>#][ \t]*)*\d{1,2}(?:[.、)）](?!\d)|[ \t]+(?![\d\s个项家所座条万亿千百%倍年天人名]))"
    ),  # 1. / 2、 / "1 标题"
]
_CLAUSE_END = "，,、；;。！？!?：:\n\x00"
_SENTENCE_END = "；;。！？!?\n"


@dataclass(frozen=True)
class Number:
    """One figure: normalised value ("3880.3", "5.5-6"), unit ("亿元", "%", "" when none), qualifiers, raw span."""

    value: str
    unit: str
    qualifiers: tuple[str, ...]
    raw: str
    start: int
    end: int

    @property
    def groups(self) -> set[str]:
        """The meaning groups of its qualifiers (approx, above, below, aim)."""
        return {g for g, words in QUALIFIER_GROUPS.items() if words & set(self.qualifiers)}


def _norm_value(s: str) -> str:
    s = s.replace(",", "")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


def _masked(text: str) -> str:
    """The text, full-width folded, with marks and non-figure numbers overwritten (same length)."""
    t = list(text.translate(_FULLWIDTH))
    for m in find_marks(text):
        t[m.start : m.end] = _MASK * (m.end - m.start)
    s = "".join(t)
    for pattern in _IGNORED:
        s = pattern.sub(lambda m: _MASK * len(m.group(0)), s)
    return s


def _read_unit(s: str, pos: int) -> tuple[str, list[str], int]:
    """Unit and suffix qualifiers starting at pos; returns (unit, qualifiers, end)."""
    quals: list[str] = []

    def skip_ws(p: int) -> int:
        while p < len(s) and s[p] in " \t\r\n":
            p += 1
        return p

    def take(p: int, words: list[str]) -> tuple[str, int]:
        for w in words:
            if s.startswith(w, p):
                return w, p + len(w)
        return "", p

    p = skip_ws(pos)
    q, p = take(p, ["多", "余"])
    quals += [q] if q else []
    mag, p = take(p, _MAGNITUDES)
    q, p2 = take(p, ["多", "余"])
    if q and mag:
        quals.append(q)
        p = p2
    base, p = take(p, _BASE_UNITS)
    if not base and p < len(s) and s[p] in _MEASURE_WORDS:
        base, p = s[p], p + 1
    unit = mag + base
    end = p if unit or quals else pos
    q, p = take(skip_ws(end), _SUFFIX_QUALIFIERS)
    if q and q not in quals:
        quals.append(q)
        end = p
    return unit, quals, end


def _prefix_qualifiers(s: str, start: int) -> list[str]:
    clause_start = max((s.rfind(c, 0, start) for c in _CLAUSE_END), default=-1) + 1
    window = s[max(clause_start, start - 10) : start]
    found: list[str] = []
    for w in _NEAR_PREFIX:
        if w in ("约", "近", "逾", "超"):
            if window.rstrip().endswith(w) or window.rstrip().endswith(w + "为"):
                found.append(w)
        elif w in window and not any(w in f for f in found):
            found.append(w)
    sentence_start = max((s.rfind(c, 0, start) for c in _SENTENCE_END), default=-1) + 1
    found += [w for w in _SENTENCE_PREFIX if w in s[sentence_start:start]]
    return found


def extract_numbers(text: str) -> list[Number]:
    """The figures in `text`, in order, with unit and qualifiers; years, dates, ordinals, marks are skipped."""
    s = _masked(text)
    out: list[Number] = []
    for m in _FIGURE.finditer(s):
        a, b = _norm_value(m.group("a")), m.group("b")
        value = f"{a}-{_norm_value(b)}" if b else a
        unit, quals, end = _read_unit(s, m.end())
        if m.group("range") and "%" in m.group("range") and not unit:
            unit = "%"
        if not b and not unit and "." not in a and len(a) == 4 and a[:2] in ("19", "20"):
            continue  # a bare year such as "2024"
        quals = _prefix_qualifiers(s, m.start()) + quals
        out.append(Number(value, unit, tuple(dict.fromkeys(quals)), text[m.start() : end], m.start(), end))
    return out


def units_match(answer_unit: str, text_unit: str) -> bool:
    """Same unit; a bare magnitude in the answer ("亿") also matches the text's "亿元", "亿美元"."""
    if answer_unit == text_unit:
        return True
    return answer_unit in _MAGNITUDES and text_unit.startswith(answer_unit)


_FAMILIES = {
    "元": "money",
    "美元": "money",
    "%": "share",
    "个百分点": "points",
    "斤": "mass",
    "吨": "mass",
    "公斤": "mass",
    "千克": "mass",
    "人": "people",
    "人次": "people",
    "名": "people",
    "户": "households",
    "亩": "area",
    "平方米": "area",
    "个": "count",
    "项": "count",
    "家": "count",
    "所": "count",
    "座": "count",
    "条": "count",
    "台": "count",
    "套": "count",
    "件": "count",
    "场": "count",
    "次": "count",
    "平方公里": "area",
    "公顷": "area",
    "公里": "length",
    "千米": "length",
    "米": "length",
}


def unit_family(unit: str) -> str:
    """What a unit measures ("143.5亿斤" and "174.3万吨" are both mass); the unit itself when unknown."""
    base = unit
    while base and base[0] in "十百千万亿":
        base = base[1:]
    return _FAMILIES.get(base, base or unit)


def number_supported(number: Number, paragraph_text: str) -> bool:
    """True if the paragraph states the same value and unit, with every meaning-changing qualifier of the answer.

    A qualifier of the answer (左右, 以上, 力争, ...) must appear near the number in the text, matched by
    meaning group (约 == 左右, 超过 == 以上); a qualifier in the text that the answer omits is allowed.
    """
    return any(same_figure(number, n) for n in extract_numbers(paragraph_text))


def same_figure(answer: Number, text: Number) -> bool:
    """The text's figure states the answer's: same value and unit, and every meaning group of the answer's qualifiers."""
    return answer.value == text.value and units_match(answer.unit, text.unit) and answer.groups <= text.groups
