"""Restore words a source masked with placeholders (X的二十大 -> 党的二十大, ZZ建设 -> 政治建设, 5基站 -> 5G基站).

Every rule needs its context on both sides, so "X光", "X射线", "5G+X", "543X", "XX县", English
words and numbers are never touched. The list was built from every X / ZZ / bare-5 occurrence in
the 2024 compilation (004); add a rule here (and a test) for any new masked usage.
"""

from __future__ import annotations

import re

_NOT_LATIN = r"(?<![A-Za-z0-9])"
_CJK_BEFORE = r"(?<=[\u4e00-\u9fff“”、，,。；：（(])"

# (pattern, replacement, example) — X stands for 党, ZZ for 政治, XXXX for 八项规定; the 5G's G was dropped.
RULES: list[tuple[str, str, str]] = [
    (r"(?<=中央)XXXX(?![A-Za-z0-9])", "八项规定", "落实中央XXXX及其实施细则精神"),
    (
        _NOT_LATIN
        + r"X(?=的(?:二十大|十九大|二十届|全面领导|领导|创新理论|建设|核心|民族宗教政策|ZZ|政治|群众路线|纪律))",
        "党",
        "全面贯彻X的二十大精神",
    ),
    (_NOT_LATIN + r"X(?=中央)", "党", "以习近平同志为核心的X中央"),
    (r"(?<=从严治)X(?=ZZ|[^A-Za-z0-9]|$)", "党", "全面从严治XZZ责任"),
    (r"(?<=民主)X(?=派)", "党", "各民主X派"),
    (r"(?<=无)X(?=派人士)", "党", "无X派人士"),
    (r"(?<=“)X(?=派我来的)", "党", "“X派我来的”温暖行动"),
    (r"(?<=次)X(?=代会)", "党", "省第十一次X代会"),
    (_CJK_BEFORE + r"X(?=员干部)", "党", "完善X员干部与企业常态化沟通"),
    (_CJK_BEFORE + r"X(?=建(?:引领|领航))", "党", "“X建引领、社会治理”"),
    (r"(?<=对)X(?=忠诚)", "党", "坚决做到对X忠诚"),
    (_CJK_BEFORE + r"X(?=政(?:主要|同责|机关|领导))", "党", "“一把手”工程,X政主要领导"),
    (r"(?<=中国共产)X(?=[^A-Za-z0-9]|$)", "党", "《中国共产X纪律处分条例》"),
    (r"(?<=村)X(?=组织)", "党", "支持村X组织领办"),
    (_CJK_BEFORE + r"X(?=风廉政)", "党", "政府系统X风廉政建设"),
    (
        _NOT_LATIN
        + r"ZZ(?=(?:建设|判断力|领悟力|执行力|责任|忠诚|教育|清明|生态|工作部|上行动|站位|本色|品格|立场|能力))",
        "政治",
        "不断提高ZZ判断力",
    ),
    (r"(?<=[\u4e00-\u9fff])5(?=(?:基站|全连接|网络|智能工厂|智慧|场景|工厂|专网|应用))", "5G", "新建5基站7000个"),
]

_COMPILED = [(re.compile(p), r) for p, r, _ in RULES]


def restore_placeholders(text: str) -> str:
    """Apply every rule in order (党 rules first, so 从严治XZZ责任 -> 从严治党政治责任)."""
    if "X" not in text and "ZZ" not in text and "5" not in text:
        return text
    for pattern, replacement in _COMPILED:
        text = pattern.sub(replacement, text)
    return text
