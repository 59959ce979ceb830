"""The default answerer, no LLM: picks the sentences of the retrieved paragraphs that answer the question."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from .query import Group
from .synonyms import expand
from .tokenize import tokens
from .types import Hit

# Words of the question that say what kind of answer is wanted, not what it is about.
_ASK_WORDS = frozenset(
    "多少 几 哪些 什么 怎样 怎么样 如何 是否 有没有 吗 呢 目标 预期 计划 打算 安排 提出 明确 要求 报告 提到 "
    "说 讲 介绍 情况 具体 分别 比较 对比 相比 相比较 各 两 两市 两地 之间 区别 差异 哪个 更 高 低 和 与 及 "
    "今年 去年 当年 全年 年度 年 月 实现 完成 达到 取得 增长 主要 重点 工作 任务 内容 举措 措施 方面".split()
)
_FIGURE_Q = re.compile(r"多少|几|多大|比例|增速|增幅|规模|总量|总额|目标|数量|多高|占比|率")
_LIST_Q = re.compile(r"哪些|哪几|有什么|包括|举措|措施|几个方面|重点|任务|内容|做法|工作")
_DEFINE_Q = re.compile(r"是什么意思|指什么|指的是|含义|什么是|是指|解释|定义")
_DIGIT = re.compile(r"\d")
_SENT = re.compile(r"[^。！？!?；;]*[。！？!?；;]?")
_CLAUSE = re.compile(r"[^，,、：:]*[，,、：:]?")
_REVIEW = re.compile(r"回顾|过去|去年|一年来|五年|工作总结|成绩|成效")
_PLAN = re.compile(r"安排|目标|任务|重点|要求|计划|思路|今年|部署|总体")

MIN_COVERAGE = 0.5  # share of the question's content weight a sentence must cover to count as an answer


@dataclass
class Pick:
    """A sentence (or clause span) chosen from a hit, with its coverage of the question."""

    hit: Hit
    quote: str
    coverage: float
    score: float


def question_terms(question: str, group_names: list[str]) -> list[list[str]]:
    """Content terms of the question, each with its synonyms: [[term, syn1, ...], ...]."""
    names = set()
    for n in group_names:
        names.update(tokens(n))
        names.add(n)
    terms = []
    for t in dict.fromkeys(tokens(question)):
        if t in _ASK_WORDS or t in names or re.fullmatch(r"20\d\d|\d+", t):
            continue
        group = [t] + [s for s in tokens(expand([t])) if s != t]
        terms.append(group)
    # Drop a term that is part of a longer term also present (search mode yields 生产, 总值 and 生产总值).
    flat = [g[0] for g in terms]
    return [g for g in terms if not any(g[0] != o and g[0] in o for o in flat)]


def _sentences(text: str) -> list[str]:
    return [s for s in (m.group(0).strip() for m in _SENT.finditer(text)) if len(s) >= 4]


def _narrow(sentence: str, matches: Callable[[str], float]) -> str:
    """For a long sentence, the contiguous clause span that matches best (plus the figure right after it)."""
    if len(sentence) <= 90:
        return sentence
    clauses = [c for c in (m.group(0) for m in _CLAUSE.finditer(sentence)) if c]
    best = max(range(len(clauses)), key=lambda i: (matches(clauses[i]), -i))
    end = best + 1
    if not _DIGIT.search(clauses[best]) and end < len(clauses) and _DIGIT.search(clauses[end]):
        end += 1
    start = best
    if _DIGIT.search(clauses[best]) and not matches(clauses[best]) and best > 0:
        start -= 1
    span = "".join(clauses[start:end]).strip("，,、：: ")
    return span if len(span) >= 6 else sentence


def pick_sentences(question: str, hits: list[Hit], group_names: list[str], idf: Callable[[str], float],
                   limit: int = 1) -> list[Pick]:
    """The best answering sentences among the hits, best first (at most `limit`, from distinct sentences)."""
    terms = question_terms(question, group_names)
    if not terms:
        return []
    weights = [max(idf(t) for t in g) for g in terms]
    total = sum(weights)
    wants_figure = bool(_FIGURE_Q.search(question)) and not _DEFINE_Q.search(question)
    wants_definition = bool(_DEFINE_Q.search(question))

    def covered(text: str) -> float:
        low = text.lower()
        return sum(w for g, w in zip(terms, weights) if any(t in low for t in g)) / total

    picks = []
    for rank, hit in enumerate(hits):
        for sent in _sentences(hit.text):
            cov = covered(sent)
            if cov <= 0:
                continue
            score = cov + 0.03 * (len(hits) - rank)
            if wants_figure and _DIGIT.search(sent):
                score += 0.15
            if wants_definition and re.match(r"^\[?\d+\]", hit.text):
                score += 0.2
            quote = _narrow(sent, covered) if wants_figure else sent
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


def year_phrase(hit: Hit, role: str) -> str:
    """Which report a figure comes from and whether it reviews the previous year or plans the report year."""
    if role == "outcome" or (role == "any" and _REVIEW.search(hit.section) and not _PLAN.search(hit.section)):
        return f"{hit.region}{hit.year}年政府工作报告（回顾{hit.year - 1}年）"
    if role == "target" or _PLAN.search(hit.section):
        return f"{hit.region}{hit.year}年政府工作报告（{hit.year}年安排）"
    return f"{hit.region}{hit.year}年政府工作报告"


def compose(question: str, groups: list[tuple[Group, list[Hit]]], idf: Callable[[str], float]) -> tuple[str, list[Pick]]:
    """The extractive answer text (with citation marks) and the picks it quotes; "" when nothing answers."""
    limit = 3 if _LIST_Q.search(question) and not _FIGURE_Q.search(question) else 1
    comparison = len(groups) > 1
    lines, used = [], []
    for group, hits in groups:
        names = [h.region for h in hits[:1]] + [h.short for h in hits[:1]] + ([group.region] if group.region else [])
        picks = pick_sentences(question, hits, names, idf, limit=limit)
        if not picks:
            if comparison:
                lines.append(f"- {group.label}：未提及。")
            continue
        used.extend(picks)
        body = "".join(f"{_ensure_stop(p.quote)}{p.hit.mark}" for p in picks)
        head = year_phrase(picks[0].hit, group.role)
        lines.append(f"- {head}：{body}" if comparison else f"据{head}：{body}")
    if not used:
        return "", []
    return "\n".join(lines), used


def _ensure_stop(quote: str) -> str:
    quote = quote.rstrip("，,、；;：: ")
    return quote if quote.endswith(("。", "！", "？")) else quote + "。"
