"""The data types that flow from ingest to rag: reports, paragraphs, chunks, the corpus."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

FORMAT_NAME = "govqa-corpus"
FORMAT_VERSION = 1

# Administrative levels (code -> Chinese label shown to users).
LEVELS = {
    "province": "省级",
    "prefecture": "地级市",
    "county-city": "县级市",
    "county": "县",
    "district": "市辖区",
}


@dataclass(frozen=True)
class Paragraph:
    """One paragraph of one report: the unit every citation points at."""

    report_id: str  # e.g. "济南-2024"
    number: int  # 1..N within the report, stable for the same input
    text: str
    section: str = ""  # heading path, e.g. "二、2024年政府工作安排 > (三)..."
    kind: str = "body"  # body | heading | footnote

    @property
    def id(self) -> str:
        return f"{self.report_id}-p{self.number}"


@dataclass(frozen=True)
class Chunk:
    """A piece of a paragraph to embed: the whole paragraph or a sentence-aligned part of it."""

    report_id: str
    paragraph: int
    part: int  # 0.. within the paragraph
    text: str
    header: str  # short context header: region, year, section title

    @property
    def id(self) -> str:
        return f"{self.report_id}-p{self.paragraph}-c{self.part}"

    @property
    def paragraph_id(self) -> str:
        return f"{self.report_id}-p{self.paragraph}"

    @property
    def embed_text(self) -> str:
        return f"{self.header}\n{self.text}" if self.header else self.text


@dataclass
class Report:
    """One government work report with its metadata and numbered paragraphs."""

    id: str  # short region + year, e.g. "济南-2024"; unique in a corpus
    region: str  # full name, e.g. "济南市", "泰州市高港区", "河北省"
    short: str  # short form used in ids and citations, e.g. "济南", "高港区", "河北"
    level: str  # a key of LEVELS
    province: str  # e.g. "山东省"; for a province, itself
    year: int  # the report year (reviews year-1, sets targets for year)
    title: str
    source: str  # file path as given (relative where possible)
    source_sha256: str  # of the raw file bytes
    meeting: str | None = None  # e.g. "济南市第十八届人民代表大会第三次会议"
    date: str | None = None  # ISO date of delivery, where stated
    speaker: str | None = None
    paragraphs: list[Paragraph] = field(default_factory=list)
    provenance: dict[str, str] = field(default_factory=dict)  # field -> title|text|manifest|inferred|gazetteer|csv
    warnings: list[str] = field(default_factory=list)
    truncated: bool = False  # the text stops mid-report
    abridged: bool = False  # 摘要 / 摘登: an abridgment, not the full report
    extra: dict[str, str] = field(default_factory=dict)  # other source metadata (CSV columns, ...)

    @property
    def chars(self) -> int:
        return sum(len(p.text) for p in self.paragraphs)

    def paragraph(self, number: int) -> Paragraph:
        return self.paragraphs[number - 1]


@dataclass
class ListedReport:
    """A report named in a compilation's table of contents."""

    title: str
    region: str
    year: int
    source: str
    has_text: bool  # False: listed in the table of contents only, its text is not in the file
    report_id: str | None = None  # the Report holding its text, when has_text


@dataclass
class FileProblem:
    """A file (or part of one) that could not be ingested, with the fix to apply."""

    path: str
    message: str
    fix: str | None = None
    warning: bool = False  # True: nothing was skipped (e.g. a manifest entry naming a missing file)


@dataclass
class Corpus:
    """Everything ingest produced: the reports, compilation listings, and the files that failed."""

    reports: list[Report] = field(default_factory=list)
    listed: list[ListedReport] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)

    def report(self, report_id: str) -> Report:
        for r in self.reports:
            if r.id == report_id:
                return r
        raise KeyError(report_id)

    def to_dict(self) -> dict:
        return {"format": FORMAT_NAME, "version": FORMAT_VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict) -> Corpus:
        if data.get("format") != FORMAT_NAME or data.get("version") != FORMAT_VERSION:
            raise ValueError(
                f"not a {FORMAT_NAME} v{FORMAT_VERSION} file (got {data.get('format')} v{data.get('version')})"
            )
        reports = []
        for r in data["reports"]:
            r = dict(r)
            r["paragraphs"] = [Paragraph(**p) for p in r["paragraphs"]]
            reports.append(Report(**r))
        return cls(
            reports=reports,
            listed=[ListedReport(**x) for x in data.get("listed", [])],
            problems=[FileProblem(**x) for x in data.get("problems", [])],
        )
