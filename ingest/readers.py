"""Read one file of any supported format into raw documents: plain text plus source metadata."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from .encoding import decode_text
from .errors import IngestError
from .limits import Limits, check_file_size, check_text_length, check_unzipped_size

SUPPORTED = (".txt", ".md", ".html", ".htm", ".pdf", ".docx", ".csv")
TEXT_COLUMN = "full_text"


@dataclass
class RawDocument:
    """The text of one report (or compilation) before cleaning, with metadata from the container."""

    text: str
    label: str  # the file path, or "path#row N" for a CSV row
    meta: dict[str, str] = field(default_factory=dict)  # CSV columns other than the text


def read_documents(path: Path, label: str, limits: Limits | None = None) -> list[RawDocument]:
    """All raw documents in `path`; IngestError naming the file when it cannot be read, LimitError when it
    is larger than `limits` allow (the file size is checked before reading, a .docx's unzipped size before
    parsing, the text's length as it is extracted)."""
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED:
        raise IngestError(
            f"unsupported file type {suffix or '(none)'}", path=label, fix=f"use one of {', '.join(SUPPORTED)}"
        )
    try:
        check_file_size(path, label, limits)
        raw = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"cannot read the file: {exc.strerror or exc}", path=label, fix="check the path") from exc
    if not raw.strip():
        raise IngestError("the file is empty", path=label, fix="remove it or replace it with the report's text")
    if suffix == ".pdf":
        return [RawDocument(_pdf_text(raw, label, limits), label)]
    if suffix == ".docx":
        check_unzipped_size(raw, label, limits)
        text = _docx_text(raw, label)
        check_text_length(len(text), label, limits)
        return [RawDocument(text, label)]
    text = decode_text(raw, label)
    check_text_length(len(text), label, limits)
    if suffix in (".txt", ".md"):
        return [RawDocument(text, label)]
    if suffix in (".html", ".htm"):
        return [RawDocument(_html_text(text, label), label)]
    return _csv_documents(text, label)


def _html_text(html: str, label: str) -> str:
    import trafilatura

    text = trafilatura.extract(
        html, output_format="txt", include_comments=False, include_tables=False, favor_recall=True
    )
    if not text or not text.strip():
        text = trafilatura.html2txt(html)
    if not text or not text.strip():
        raise IngestError("no text found in the HTML page", path=label, fix="save the page that holds the report text")
    return text


def _pdf_text(raw: bytes, label: str, limits: Limits | None = None) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(raw))
        pages, chars = [], 0
        for page in reader.pages:  # page by page: an oversized PDF is refused at the page that crosses the limit
            pages.append(page.extract_text() or "")
            chars += len(pages[-1]) + 1
            check_text_length(chars, label, limits)
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise IngestError(f"not a readable PDF: {exc}", path=label, fix="re-export the PDF or give the text") from exc
    text = "\n".join(pages)
    if not text.strip():
        raise IngestError(
            "the PDF has no extractable text (scanned images?)", path=label, fix="OCR it first, or give the text"
        )
    return text


def _docx_text(raw: bytes, label: str) -> str:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(raw))
    except (PackageNotFoundError, KeyError, ValueError) as exc:
        raise IngestError(f"not a readable .docx: {exc}", path=label, fix="re-save it as .docx from Word") from exc
    except Exception as exc:  # zipfile.BadZipFile and lxml errors for a damaged file
        raise IngestError(f"not a readable .docx: {exc}", path=label, fix="re-save it as .docx from Word") from exc
    text = "\n".join(p.text for p in document.paragraphs)
    if not text.strip():
        raise IngestError("the .docx has no text", path=label, fix="check that the report text is in the document")
    return text


def _csv_documents(text: str, label: str) -> list[RawDocument]:
    """One document per row; the text column is `full_text`, else the column with the longest values."""
    try:
        rows = list(csv.DictReader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise IngestError(f"malformed CSV: {exc}", path=label, fix="save it as a standard CSV with a header") from exc
    if not rows or not rows[0]:
        raise IngestError("the CSV has no data rows", path=label, fix="add a header row and one row per report")
    columns = [c for c in rows[0].keys() if c is not None]
    text_col = TEXT_COLUMN if TEXT_COLUMN in columns else None
    if text_col is None:
        lengths = {c: sum(len(r.get(c) or "") for r in rows) / len(rows) for c in columns}
        text_col = max(columns, key=lambda c: (lengths[c], -columns.index(c)))
        if lengths[text_col] < 200:
            raise IngestError("no column holds report text", path=label, fix=f"name the text column '{TEXT_COLUMN}'")
    docs = []
    for i, row in enumerate(rows, start=1):
        body = row.get(text_col) or ""
        if not body.strip():
            continue
        meta = {c.strip(): (row.get(c) or "").strip() for c in columns if c != text_col}
        docs.append(RawDocument(body, f"{label}#row{i}" if len(rows) > 1 else label, meta))
    if not docs:
        raise IngestError(f"the column '{text_col}' is empty in every row", path=label, fix="fill in the report text")
    return docs
