"""The default answerer, no LLM: picks the sentences of the retrieved paragraphs that answer the question."""
from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Callable

from .numbers import extract_numbers, unit_family
from .query import Group
from .synonyms import expand
from .tokenize import tokens
from .types import Hit

# Words of the question that say what kind of answer is wanted, not what it is about.
_ASK_WORDS = frozenset(
    "多少 几 哪些 哪几 什么 怎样 怎么样 如何 是否 有没有 吗 呢 目标 预期 计划 打算 安排 提出 明确 要求 报告 提到 "
    "说 讲 介绍 情况 具体 分别 比较 对比 相比 相比较 各 两 两市 两地 之间 区别 差异 哪个 谁 更 高 低 快 慢 和 与 及 "
    "今年 去年 上年 当年 全年 年度 年 月 实现 完成 达到 取得 主要 重点 工作 任务 内容 举措 措施 方面 "
    "多大 实际 人数 总数 数量 是 多 要 定 定了 里 指 意思 含义 解释 字 只 对 真的 是不是 对不对 "
    "个 项 家 万 亿 元 人 次 全市 全省 市里 城市 哪里 这 那 其 中 的 了 有 在 为 上 下 新 达 "
    "情况怎样 表现 进展 成果 效果 做了 做 干 搞 推进 推动 加快 建设 更高 更快 更多 更大 更低 哪个 谁 "
    "各是 各自 分别是 怎么 构成 组成 之城 之一 两者 二者 一样 相同 不同 包括 包含 有哪些".split()
)
_TOPIC_WORDS = frozenset("主要 预期 目标 任务 重点 举措 措施 安排 计划".split())
_FIGURE_Q = re.compile(r"多少|几|多大|比例|增速|增幅|规模|总量|总额|目标|数量|多高|占比|比重|率|吗")
_LIST_Q = re.compile(r"哪些|哪几|哪\d|哪[一二三四五六七八九十]|有什么|包括|举措|措施|几个方面|分别是什么|是哪|指哪")
_DEFINE_Q = re.compile(r"什么意思|指什么|指的是|含义|什么是|是指|解释|定义|怎么构成|指哪|是什么")
_QUOTED = re.compile(r"[“\"「『‘']([^”\"」』’']{1,20})[”\"」』’']")
_DIGIT = re.compile(r"\d")
_CJK = re.compile(r"^[\u4e00-\u9fff]+$")
_SENT = re.compile(r"[^。！？!?；;]*[。！？!?；;]?")
_CLAUSE = re.compile(r"[^，,：:]*[，,：:]?")
_ENUM = re.compile(r"(?:^|[。；;])\s*((?:[一二三四五六七八九十]+是|第[一二三四五六七八九十]+[,，、]?)[^。；;，,：:]{2,24})")
_YEARS = re.compile(r"20\d\d年?")
_BOILERPLATE = re.compile(r"政府工作报告|工作报告|报告[中里]?|提出|提到|多少|什么|哪些|是否")
_NOT_TERM = re.compile(r"20\d\d|[\d.%]+|[\d.]+[%万亿元个家人]*|[哪几多少]+[个家项人次所座条位些]?")
_FOOTNOTE = re.compile(r"^\[\d+\]")
_REVIEW_SECTION = re.compile(r"回顾|过去|一年来|五年来|工作总结")
_PLAN_SECTION = re.compile(r"安排|主要工作|重点工作|目标|任务|总体要求|工作部署|新征程")
_REVIEW_SENT = re.compile(r"预计|完成|实现|同比|比上年|达到|突破|增长[\d.]+%(?!左右|以上)")
_PLAN_SENT = re.compile(r"目标|力争|预期|计划|确保|年内|全年要|今年")

MIN_COVERAGE = 0.5  # share of the question's content weight a sentence must cover to count as an answer


@dataclass
class Pick:
    """A sentence (or clause span) chosen from a hit, with its coverage of the question."""

    hit: Hit
    quote: str
    coverage: float
    score: float


@dataclass
class Term:
    """A content word of the question: its synonyms count in full, its parts (sub-words) in part."""

    text: str
    alts: list[str]
    parts: list[str]
    weight: float = 1.0

    def credit(self, low: str) -> float:
        if any(a in low for a in self.alts):
            return 1.0
        if self.parts:
            return 0.9 * sum(p in low for p in self.parts) / len(self.parts)
        return 0.0


def question_terms(question: str, group_names: list[str], idf: Callable[[str], float] | None = None) -> list[Term]:
    """Content terms of the question with their synonyms and parts, weighted by rarity in the corpus."""
    names = set()
    for n in group_names:
        names.update(tokens(n))
        names.add(n)
    quoted = list(dict.fromkeys(_QUOTED.findall(question)))  # “两个新样板”: one exact term
    rest = _QUOTED.sub(" ", question)
    for n in extract_numbers(rest):  # a figure the question states ("174.3万吨") is not a search term
        rest = rest.replace(n.raw, " ")
    toks_all = list(dict.fromkeys(tokens(rest)))
    toks = [t for t in toks_all if t not in _ASK_WORDS and t not in names and not _NOT_TERM.fullmatch(t)]
    longest = [t for t in toks if not any(t != o and t in o for o in toks)]
    terms = [Term(q, [q], _bigrams(q) if len(q) >= 3 else [], 2.0) for q in quoted]
    for t in longest:
        alts = [t] + [x for x in expand([t]).lower().split() if x != t]
        parts = [o for o in toks if o != t and o in t] or (_bigrams(t) if len(t) >= 3 and _CJK.match(t) else [])
        terms.append(Term(t, alts, parts))
    if not terms:  # only "what kind of answer" words ("主要预期目标包括哪些"): they are the topic then
        terms = [Term(t, [t], []) for t in toks_all if t in _TOPIC_WORDS]
    if idf is not None:
        for term in terms:
            term.weight *= max(idf(a) for a in term.alts)
    return terms


def _bigrams(text: str) -> list[str]:
    return [text[i : i + 2] for i in range(len(text) - 1)]


def section_role(section: str, report_year: int) -> str | None:
    """'review' for sections about the previous year, 'plan' for the report year's plans, else None."""
    top = section.split(" > ")[0]
    years = [int(y) for y in re.findall(r"(20\d\d)年", top)]
    if _REVIEW_SECTION.search(top) or report_year - 1 in years:
        return "review"
    if _PLAN_SECTION.search(top) or report_year in years:
        return "plan"
    # No telling top section (an abridgment, a fragment): the wording of the section titles.
    if re.search(r"实现|取得|成效|成绩|显著|明显", section):
        return "review"
    if re.search(r"更大力度|着力|全力|奋力|加快|打造|力争", section):
        return "plan"
    return None


def sentence_role(sentence: str, section: str, report_year: int) -> str | None:
    role = section_role(section, report_year)
    if role:
        return role
    if re.search(r"预计|去年|过去一年|刚刚过去", sentence):
        return "review"
    if _PLAN_SENT.search(sentence):
        return "plan"
    return None


def _sentences(text: str) -> list[str]:
    return [s for s in (m.group(0).strip() for m in _SENT.finditer(text)) if len(s) >= 4]


def _common_run(question: str, sentence: str, cap: int = 12) -> int:
    """Length of the longest run (4+ characters) of the question found verbatim in the sentence, else 0.

    A bonus for words kept together: 一般公共预算收入 beats 一般公共预算总收入 when jieba split the
    question's compound into words both sentences hold. `question` comes without region names, years
    and question boilerplate (报告, 多少 …).
    """
    size = SequenceMatcher(None, question, sentence, autojunk=False).find_longest_match().size
    return min(size, cap) if size >= 4 else 0


def _is_lead(sentence: str) -> bool:
    """A short figure-less sentence: a paragraph that starts with one starts with its theme."""
    return len(sentence) <= 20 and not _DIGIT.search(sentence)


def _narrow(sentence: str, matches: Callable[[str], float]) -> str:
    """For a long sentence, the contiguous clause span that matches best (plus the figure right after it)."""
    if len(sentence) <= 90:
        return sentence
    clauses = [c for c in (m.group(0) for m in _CLAUSE.finditer(sentence)) if c]
    best = max(range(len(clauses)), key=lambda i: (matches(clauses[i]), bool(_DIGIT.search(clauses[i])), -i))
    start, end = best, best + 1
    if not _DIGIT.search(clauses[best]) and end < len(clauses) and _DIGIT.search(clauses[end]):
        end += 1
    if _DIGIT.search(clauses[best]) and matches(clauses[best]) == 0 and best > 0:
        start -= 1
    span = "".join(clauses[start:end]).strip("，,、：: ")
    return span if len(span) >= 6 else sentence


def enumeration(text: str, after: str) -> list[str]:
    """The item heads of an enumeration (一是…、二是…) that follows `after` in a paragraph."""
    at = text.find(after)
    if at < 0:
        return []
    items = [m.group(1).strip() for m in _ENUM.finditer(text, at + len(after) - 1)]
    return items if len(items) >= 2 else []


def pick_sentences(question: str, hits: list[Hit], group_names: list[str], idf: Callable[[str], float],
                   limit: int = 1, role: str = "any") -> list[Pick]:
    """The best answering sentences among the hits, best first (at most `limit`, from distinct sentences).

    With role 'outcome' only sentences about the previous year count; with 'target', only the report
    year's plans (sections that cannot be told apart count for both).
    """
    terms = question_terms(question, group_names, idf)
    if not terms:
        return []
    total = sum(t.weight for t in terms)
    wants_definition = bool(_DEFINE_Q.search(question))
    wants_figure = bool(_FIGURE_Q.search(question)) and not wants_definition and not _LIST_Q.search(question)
    # A question that states a figure ("…是3880.3亿元吗?") is answered by a sentence with a figure of that kind.
    asserted = [n for n in extract_numbers(_YEARS.sub(" ", question)) if n.unit]

    core = _BOILERPLATE.sub(" ", _YEARS.sub(" ", question))
    for name in sorted(group_names, key=len, reverse=True):
        core = core.replace(name, " ")

    def covered(text: str) -> float:
        low = text.lower()
        return sum(t.weight * t.credit(low) for t in terms) / total

    picks = []
    for rank, hit in enumerate(hits):
        footnote = bool(_FOOTNOTE.match(hit.text))
        sents = _sentences(hit.text)

        def judge(sent: str) -> tuple[float, str | None] | None:
            """(coverage, year role) of a sentence on the question's topic, of the wanted year role and
            with a figure of the asserted kind; None for any other."""
            cov = covered(sent)
            if cov <= 0:
                return None
            srole = sentence_role(sent, hit.section, hit.year)
            if role == "outcome" and srole == "plan" or role == "target" and srole == "review":
                return None
            if asserted and not any(unit_family(a.unit) == unit_family(n.unit)
                                    for a in asserted for n in extract_numbers(sent)):
                return None
            return cov, srole

        for i, sent in enumerate(sents):
            judged = judge(sent)
            if judged is None:
                continue
            cov, srole = judged
            score = cov + 0.03 * (len(hits) - rank) + 0.02 * _common_run(core, sent)
            if wants_figure and _DIGIT.search(sent):
                score += 0.15
            if role != "any" and srole == {"outcome": "review", "target": "plan"}[role]:
                score += 0.1
            if wants_definition and footnote:
                score += 0.3
            if wants_definition and footnote:
                quote = _whole(hit.text)
            else:
                quote = _narrow(sent, covered) if wants_figure else sent
                follow = next((j for j in (1, 2) if j < len(sents) and judge(sents[j])), None) \
                    if i == 0 and _is_lead(sent) else None
                if follow:
                    # a slogan that opens the paragraph ("擦亮招商引资“金名片”。") says what, not how:
                    # quote the next sentence on the same topic too (a skipped one becomes "……")
                    after = _narrow(sents[follow], covered) if wants_figure else sents[follow]
                    quote = sent + ("……" if follow > 1 else "") + after
            picks.append(Pick(hit, quote, cov, score))
    picks.sort(key=lambda p: -p.score)
    out: list[Pick] = []
    for p in picks:
        if p.coverage < MIN_COVERAGE:
            continue
        if any(p.quote in o.quote or o.quote in p.quote for o in out):
            continue
        out.append(p)
        if len(out) == limit:
            break
    return out


def year_phrase(hit: Hit, role: str, quote: str) -> str:
    """Which report a figure comes from and whether it reviews the previous year or plans the report year."""
    srole = sentence_role(quote, hit.section, hit.year)
    if srole == "review" or (srole is None and role == "outcome"):
        return f"{hit.region}{hit.year}年政府工作报告（回顾{hit.year - 1}年）"
    if srole == "plan" or (srole is None and role == "target"):
        return f"{hit.region}{hit.year}年政府工作报告（{hit.year}年安排）"
    return f"{hit.region}{hit.year}年政府工作报告"


def compose(question: str, groups: list[tuple[Group, list[Hit]]], idf: Callable[[str], float]) -> tuple[str, list[Pick]]:
    """The extractive answer text (with citation marks) and the picks it quotes; "" when nothing answers."""
    is_list = bool(_LIST_Q.search(question))
    limit = 2 if is_list else 1
    comparison = len(groups) > 1
    lines, used = [], []
    names = [n for _, hits in groups for h in hits[:1] for n in (h.region, h.short)]
    names += [g.region for g, _ in groups if g.region]
    for group, hits in groups:
        picks = pick_sentences(question, hits, names, idf, limit=limit, role=group.role)
        if not picks:
            if comparison:
                lines.append(f"- {group.label}：未提及。")
            continue
        used.extend(picks)
        parts = []
        for p in picks:
            items = enumeration(p.hit.text, p.quote) if is_list else []
            extra = f"其中：{'；'.join(items)}。" if items else ""
            parts.append(_cite_each_sentence(f"{_ensure_stop(p.quote)}{extra}", p.hit.mark))
        head = year_phrase(picks[0].hit, group.role, picks[0].quote)
        body = "".join(parts)
        lines.append(f"- {head}：{body}" if comparison else f"据{head}：{body}")
    if not used:
        return "", []
    return "\n".join(lines), used


def _whole(text: str, limit: int = 300) -> str:
    """A paragraph up to the last sentence end within `limit` characters (a footnote is one definition)."""
    if len(text) <= limit:
        return text
    cut = max(text.rfind(p, 0, limit) for p in "。；;")
    return text[: cut + 1] if cut > 0 else text[:limit]


def _cite_each_sentence(text: str, mark: str) -> str:
    """The mark after every sentence of a quote: each sentence of an answer is a claim that needs one."""
    return re.sub(r"([。！？!?]+[”’」』）)]*)(?=.)", lambda m: m.group(1) + mark, text) + mark


def _ensure_stop(quote: str) -> str:
    quote = quote.rstrip("，,、；;：: ")
    return quote if quote.endswith(("。", "！", "？")) else quote + "。"
