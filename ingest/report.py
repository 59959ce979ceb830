"""Assemble one Report from the cleaned lines of one report: metadata, ids, paragraphs, warnings."""

from __future__ import annotations

from .chrome import trim_tail
from .errors import IngestError
from .gazetteer import Place, gazetteer, short_name
from .headings import SENTENCE_END
from .manifest import ManifestEntry
from .metadata import (
    TITLE,
    Detected,
    date_from_body,
    infer_region,
    read_header,
    split_header,
    title_year,
    year_from_headings,
)
from .model import Paragraph, Report
from .paragraphs import Block, build_blocks

TRUNCATED_WARNING = "正文不完整（截断）：最后一段停在句子中间"
_CLOSERS = "”’」』）)】》"


class MissingFacts(IngestError):
    """The report's year or region could not be determined (the fix shows the manifest lines)."""

    def __init__(self, message: str, *, region: str | None, year: int | None, path: str):
        super().__init__(message, path=path)
        self.region = region
        self.year = year


def build_report(
    lines: list[str],
    *,
    source: str,
    sha256: str,
    entry: ManifestEntry | None = None,
    csv_meta: dict[str, str] | None = None,
) -> Report:
    """The Report in `lines` (one report's cleaned lines, chrome and page jumps already marked)."""
    header, body = split_header(lines)
    blocks = build_blocks(trim_tail(body))
    if not any(b.kind != "heading" for b in blocks):
        raise IngestError(
            "no report text found after cleaning", path=source, fix="check that the file holds a government work report"
        )
    body_text = "\n".join(b.text for b in blocks)
    found = read_header(header, body_text)
    prov = dict(found.provenance)
    warnings: list[str] = []

    csv_meta = csv_meta or {}
    title = _title(found, csv_meta, prov)
    year = _year(found, blocks, csv_meta, entry, prov, warnings)
    place = _place(found, body_text, csv_meta, entry, prov, warnings, source)
    if year is None or place is None:
        raise _missing_facts(year, place, source)

    region = place.full
    short = short_name(place)
    for key in ("short", "level", "province"):
        prov[key] = "gazetteer"
    report_id = f"{short}-{year}"
    title, source_title = _whose_title(title, year, region, prov)
    date = _date(found, body_text, year, prov)
    paragraphs = _paragraphs(blocks, report_id)
    truncated = _stops_mid_sentence(paragraphs)
    if truncated:
        warnings.append(TRUNCATED_WARNING)
    if found.starts_mid_report:
        warnings.append("正文从中途开始（上接他版），前面部分缺失")
    return Report(
        id=report_id,
        region=region,
        short=short,
        level=place.level,
        province=place.province,
        year=year,
        title=title,
        source=source,
        source_sha256=sha256,
        meeting=found.meeting,
        date=date,
        speaker=found.speaker,
        paragraphs=paragraphs,
        provenance=prov,
        warnings=warnings,
        truncated=truncated,
        abridged=found.abridged or "摘" in (title or ""),
        extra=_extra(csv_meta, source_title, found, entry),
    )


def _title(found: Detected, csv_meta: dict[str, str], prov: dict[str, str]) -> str | None:
    """The title from the CSV, else from the text (None when neither has one), noting where it came from."""
    title = found.title
    if csv_meta.get("title"):
        title, prov["title"] = csv_meta["title"], "csv"
    elif title:
        prov["title"] = "text"
    return title


def _year(
    found: Detected,
    blocks: list[Block],
    csv_meta: dict[str, str],
    entry: ManifestEntry | None,
    prov: dict[str, str],
    warnings: list[str],
) -> int | None:
    """The report year: manifest > csv > title/meeting date > section headings (None when none says)."""
    year, year_note = found.year, None
    if year is None:
        year, year_note = year_from_headings(
            [b.text for b in blocks if b.kind == "heading"] + [b.section for b in blocks[:60]]
        )
        if year is not None:
            prov["year"] = "text"
    csv_year_text = csv_meta.get("year") or csv_meta.get("年份") or ""
    if csv_year_text.isdigit():
        csv_year = int(csv_year_text)
        if year is not None and year != csv_year:
            warnings.append(f"CSV 年份 {csv_year} 与正文 {year} 不一致，采用 CSV")
        year, prov["year"] = csv_year, "csv"
    if entry and entry.year:
        year, prov["year"] = entry.year, "manifest"
    elif year_note:
        warnings.append(year_note)
    return year


def _place(
    found: Detected,
    body_text: str,
    csv_meta: dict[str, str],
    entry: ManifestEntry | None,
    prov: dict[str, str],
    warnings: list[str],
    source: str,
) -> Place | None:
    """The report's region: manifest > csv > title > meeting line > mentions in the text (with a warning)."""
    place: Place | None = None
    region_name = found.region
    for column in ("region", "province", "地区", "省份"):
        if csv_meta.get(column):
            region_name, prov["region"] = csv_meta[column], "csv"
            break
    if entry and entry.region:
        region_name, prov["region"] = entry.region, "manifest"
    if region_name:
        place = gazetteer().find(region_name)
        if place is None:
            raise IngestError(
                f"region {region_name!r} is not in the gazetteer of Chinese administrative divisions",
                path=source,
                fix="use the full official name, e.g. 石家庄市 or 泰州市高港区 (in the manifest if need be)",
            )
    else:
        place, note = infer_region(body_text, found.meeting)
        if place is not None:
            prov["region"] = "inferred"
            if note is not None:  # always set together with place
                warnings.append(note)
    return place


def _missing_facts(year: int | None, place: Place | None, source: str) -> MissingFacts:
    """The error for a report whose year or region (or both) could not be determined."""
    missing = " and ".join(w for w, v in (("year", year), ("region", place)) if v is None)
    return MissingFacts(
        f"cannot determine the report's {missing} from its text",
        region=place.full if place else None,
        year=year,
        path=source,
    )


def _whose_title(title: str | None, year: int, region: str, prov: dict[str, str]) -> tuple[str, str | None]:
    """(title, source title): a title that says whose report it is, keeping the source's own when it did not."""
    source_title = None
    if title is None or not _names_report(title):
        source_title = title  # e.g. a bare "政府工作报告": keep it, but show a title that says whose report
        title, prov["title"] = f"{year}年{region}政府工作报告", "inferred"
    return title, source_title


def _date(found: Detected, body_text: str, year: int, prov: dict[str, str]) -> str | None:
    """The report's date: from its header, else from its text (noting that), else None."""
    date = found.date
    if date is None:
        date = date_from_body(body_text, year)
        if date:
            prov["date"] = "text"
    return date


def _paragraphs(blocks: list[Block], report_id: str) -> list[Paragraph]:
    """The blocks as the report's paragraphs, numbered from 1."""
    return [
        Paragraph(report_id=report_id, number=n, text=b.text, section=b.section, kind=b.kind)
        for n, b in enumerate(blocks, start=1)
    ]


def _extra(
    csv_meta: dict[str, str], source_title: str | None, found: Detected, entry: ManifestEntry | None
) -> dict[str, str]:
    """The report's extra fields: the CSV columns, the source's own title, the headline and the manifest note."""
    extra = dict(csv_meta)
    if source_title:
        extra["source_title"] = source_title
    if found.headline:
        extra["headline"] = found.headline
    if entry and entry.note:
        extra["manifest_note"] = entry.note
    return extra


def _stops_mid_sentence(paragraphs: list[Paragraph]) -> bool:
    """Truncation rule: the last body paragraph (notes excluded) does not end a sentence."""
    body = [p for p in paragraphs if p.kind == "body"]
    if not body:
        return False
    core = body[-1].text.rstrip(_CLOSERS)
    return not core or core[-1] not in SENTENCE_END


def _names_report(title: str) -> bool:
    """A title that states year and region ("2024年济南市政府工作报告"), not a bare "政府工作报告"."""
    m = TITLE.match(title)
    return m is None or bool(title_year(m) and m.group("region"))
