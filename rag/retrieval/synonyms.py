"""Report vocabulary for keyword search: what users say -> the words the reports use."""

# Each user term maps to report terms appended to the BM25 query (dense retrieval needs none of this).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "gdp": ("生产总值", "地区生产总值"),
    "经济总量": ("生产总值",),
    "经济增长": ("生产总值", "增长"),
    "经济": ("生产总值",),
    "增速": ("增长",),
    "增幅": ("增长",),
    "财政收入": ("一般公共预算收入",),
    "税收": ("税收收入",),
    "投资": ("固定资产投资",),
    "消费": ("社会消费品零售总额",),
    "社零": ("社会消费品零售总额",),
    "外贸": ("进出口", "外贸"),
    "出口": ("进出口",),
    "收入": ("居民人均可支配收入",),
    "就业": ("城镇新增就业",),
    "失业": ("城镇调查失业率",),
    "物价": ("居民消费价格",),
    "cpi": ("居民消费价格",),
    "招商": ("招商引资", "签约", "引进"),
    "植树": ("造林", "营造林", "绿化"),
    "空气": ("空气质量", "pm2.5", "优良天数"),
    "粮食": ("粮食产量", "粮食播种面积"),
    "高企": ("高新技术企业",),
    "研发": ("研发投入", "r&d"),
    "民生实事": ("民生实事",),
    "住房": ("保障性住房", "棚户区", "老旧小区"),
    "养老": ("养老", "养老服务"),
    "教育": ("学校", "幼儿园", "学位"),
}


def expand(question_tokens: list[str]) -> str:
    """The report terms that the question's tokens stand for, as text to tokenise and add to the query."""
    extra: list[str] = []
    for t in question_tokens:
        for term in SYNONYMS.get(t, ()):
            if term not in extra:
                extra.append(term)
    return " ".join(extra)
