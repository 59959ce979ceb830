"""Streaming shows only checked text: sentences appear once complete and verified, wrong ones never appear."""

import pytest
from test_verify import BD5, HITS, JN, SY

from rag.answering.checked_stream import CheckedStream, complete_length
from rag.answering.verify import verify

GOOD = f"据济南市2024年政府工作报告，济南地区生产总值预期增长5.5%以上{JN}。"
WRONG_INDICATOR = f"一般公共预算收入增长6.5%以上{JN}。"  # 6.5%以上 is 农村居民收入's target
INVENTED = "这一目标体现了稳中求进【杭州·2024·第3段】。"
REPLY = (
    GOOD
    + WRONG_INDICATOR
    + INVENTED
    + "\n"
    + "| 城市 | 目标 |\n"
    + "| 沈阳 | 6%以上【沈阳市·2024·第30段】 |\n"
    + "| 保定 | 7%以上【保定·2023·第20段】 |\n"  # 保定's target is 7%左右
    + f"保定生产总值完成3880.3亿元{BD5}。保定固定资产投资增长9%{BD5}。"
)


def pieces(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


@pytest.mark.parametrize("size", [1, 2, 3, 7, 50, 1000])
def test_joined_pieces_are_the_checked_answer(size):
    stream = CheckedStream(HITS)
    shown = [stream.feed(p) for p in pieces(REPLY, size)] + [stream.flush()]
    expected = verify(REPLY, HITS).text
    assert "".join(shown) == expected and not stream.diverged
    for removed in verify(REPLY, HITS).unsupported:
        assert removed not in "".join(shown)
    assert "6.5%" not in "".join(shown) and "9%" not in "".join(shown) and "杭州" not in "".join(shown)


def test_a_sentence_is_shown_only_once_its_marks_have_arrived():
    stream = CheckedStream(HITS)
    assert stream.feed(GOOD[: -len(JN) - 1]) == ""  # the figure, no mark yet
    assert stream.feed("。【济南·2024·") == ""  # the end and half a mark
    assert stream.feed("第40段】") == ""  # a further mark could still follow
    assert stream.feed("一") == GOOD[: -len(JN) - 1] + "。" + JN  # the next sentence has begun: the first is complete
    assert stream.feed("般公共预算收入增长5%左右【济南·2024·第40段】。") == ""
    assert stream.flush() == f"一般公共预算收入增长5%左右{JN}。"


def test_a_table_row_waits_for_its_line_end():
    row = f"| 沈阳 | 6%以上{SY}。 | 7%{SY} |"
    assert complete_length(row) == 0
    assert complete_length(row + "\n") == len(row)
    stream = CheckedStream(HITS)
    assert stream.feed(row) == ""
    assert stream.feed("\n") == row


def test_nothing_verifiable_shows_nothing():
    stream = CheckedStream(HITS)
    shown = "".join(stream.feed(p) for p in pieces(WRONG_INDICATOR + INVENTED, 4)) + stream.flush()
    assert shown == ""
