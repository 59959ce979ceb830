"""The numbered items a sentence announces, found by their numbering alone, on real reports (no model)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest import load_reports
from ingest.model import Paragraph, Report
from rag.answering.enumeration import items_after, ordinal
from rag.index.sentences import split_sentences

ROOT = Path(__file__).resolve().parents[3]
EXTRA = ROOT.parent / "shared" / "corpus-extra"


@pytest.fixture(scope="module")
def sample():
    return load_reports([ROOT / "data" / "reports"])


@pytest.mark.parametrize(
    "sentence, expected",
    [
        ("二是坚定实施产业兴区战略，在加快发展特色优势产业上实现新突破。", ("是", 2)),
        ("十二是持续优化营商环境。", ("是", 12)),
        ("（三）强化创新驱动发展，加速新旧动能转换。", ("（一）", 3)),
        ("(四)市场主体得到保障。", ("（一）", 4)),
        ("五、提升生育医疗保障水平。", ("一、", 5)),
        ("第二,按照我市“11258”总体部署,打造独具保定特质的5个标志场景。", ("第一", 2)),
        ("3.加快建设现代化产业体系。", ("1.", 3)),
        ("（2）推进城中村改造。", ("（1）", 2)),
        ("2.5%的增长来之不易。", None),  # a figure, not an ordinal
        ("一是", ("是", 1)),
        ("全市生产总值增长7%左右。", None),
        ("是年，全市经济稳中有进。", None),
    ],
)
def test_ordinal(sentence, expected):
    assert ordinal(sentence) == expected


def test_items_inside_the_announcing_paragraph(sample):
    """保定 2023 ¶16 announces 7 scenes and names them in the same paragraph; ¶17's own list (一是… again) is not
    taken for the rest of ¶16's."""
    report = sample.report("保定-2023")
    lead = "第一,围绕落实中国式现代化的河北图景,着力打造7个重点场景。"
    items = items_after(report, 16, lead)
    assert [i.text[:2] for i in items] == ["一是", "二是", "三是", "四是", "五是", "六是", "七是"]
    assert {i.paragraph for i in items} == {16}
    assert items[0].text == "一是新型能源强市场景。" and items[-1].text == "七是乐享保定场景。"
    text = report.paragraph(16).text
    assert all(text[i.start : i.end] == i.text for i in items)
    assert all(split_sentences(text)[i.index] == (i.start, i.end) for i in items)
    second = items_after(report, 17, "第二,按照我市“11258”总体部署[17],打造独具保定特质的5个标志场景。")
    assert [i.text for i in second][-1] == "五是文化保定场景。" and len(second) == 5


def test_a_sentence_not_followed_by_a_first_item_announces_nothing(sample):
    report = sample.report("保定-2023")
    assert items_after(report, 16, "一是新型能源强市场景。") == []  # followed by prose, not 二是 right away
    assert items_after(report, 23, report.paragraph(23).text[:20]) == []
    assert items_after(report, 16, "not in the paragraph") == []


def _report(texts: list[tuple[str, str]]) -> Report:
    paragraphs = [Paragraph("t-2026", n, text, "s", kind) for n, (kind, text) in enumerate(texts, 1)]
    return Report("t-2026", "t市", "t", "prefecture", "", 2026, "t", "t.txt", "", paragraphs=paragraphs)


def test_items_across_paragraphs_end_where_the_numbering_or_the_section_ends():
    report = _report(
        [
            ("body", "今年重点做好三个方面工作。"),
            ("heading", "（一）扩大内需。"),
            ("body", "一是促进消费。二是扩大投资。"),  # a sub-list in another style belongs to item (一)
            ("heading", "（二）科技创新。"),
            ("body", "（1）加强基础研究。"),
            ("heading", "（三）民生保障。"),
            ("heading", "三、政府自身建设"),  # a level-1 heading ends a list of level-2 items
            ("heading", "（四）不属于上面的清单。"),
        ]
    )
    items = items_after(report, 1, "今年重点做好三个方面工作。")
    assert [(i.paragraph, i.text) for i in items] == [
        (2, "（一）扩大内需。"),
        (4, "（二）科技创新。"),
        (6, "（三）民生保障。"),
    ]


def test_a_skipped_number_ends_the_list_and_one_item_is_no_list():
    report = _report([("body", "主要有以下几点。一是甲。二是乙。四是丁。"), ("body", "总之如此。一是另一个清单。")])
    assert [i.text for i in items_after(report, 1, "主要有以下几点。")] == ["一是甲。", "二是乙。"]
    single = _report([("body", "情况如下。一是甲。"), ("body", "别的内容。")])
    assert items_after(single, 1, "情况如下。") == []


@pytest.mark.skipif(not EXTRA.is_dir(), reason="../shared/corpus-extra is not beside the repo")
def test_items_as_the_first_sentences_of_the_following_paragraphs():
    """宁夏 2026 ¶51 announces “五大战略”; ¶52–¶56 open with 一是…五是, each followed by its measures."""
    corpus = load_reports([EXTRA])
    report = next(r for r in corpus.reports if r.id.startswith("宁夏"))
    n = next(p.number for p in report.paragraphs if p.text.startswith("（一）着力贯彻新发展理念"))
    sentence = next(s for s in report.paragraph(n).text.split("。") if "五大战略" in s) + "。"
    items = items_after(report, n, sentence)
    assert [i.paragraph for i in items] == list(range(n + 1, n + 6))
    assert all(i.start == 0 and "战略" in i.text for i in items)
