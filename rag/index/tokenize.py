"""Chinese word tokens for keyword search: jieba search-mode cut, minus punctuation and stop words."""

from __future__ import annotations

import logging
import re
from functools import lru_cache

_KEEP = re.compile(r"[\w\u4e00-\u9fff%]")
_STOP = frozenset(
    "的 了 和 与 及 等 是 在 对 为 把 将 以 于 中 上 下 年 我们 全市 全省 市 省 多少 什么 哪些 怎么 如何 吗 呢 "
    "是否 有 没有 哪 个 几 请问 一下 提到 报告 政府 工作 情况 方面 主要 一 其 这 那 要 把 被 给 从 向 到".split()
)


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def load_dictionary() -> None:
    """Load jieba's dictionary now (~1 s) rather than on the first question."""
    _jieba()


def cut(text: str) -> list[str]:
    """jieba's precise-mode words of `text`, punctuation included (their lengths add up to len(text))."""
    return _jieba().lcut(text)


def tokens(text: str) -> list[str]:
    """Search-mode jieba tokens of `text`, lower-cased, without punctuation or stop words."""
    out = []
    for tok in _jieba().lcut_for_search(text):
        tok = tok.strip().lower()
        if tok and _KEEP.search(tok) and tok not in _STOP:
            out.append(tok)
    return out
