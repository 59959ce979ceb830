"""Size limits on input files, checked before any work: the file's size, a .docx's unzipped size, the text's length.

The values come from the settings (rag.settings: GOVQA_MAX_FILE_MB, GOVQA_MAX_UNZIPPED_MB, GOVQA_MAX_TEXT_CHARS);
ingest itself reads no settings, so the limits travel as this small value object. Every refusal is a
LimitError naming the file, the size found, the limit and the setting that sets it.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from .errors import LimitError

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    max_file_bytes: int | None = None  # the file on disk
    max_unzipped_bytes: int | None = None  # a .docx's parts once unzipped (XML is ~10-100x its text)
    max_text_chars: int | None = None  # the text read from one file (all its reports)


def _mb(n: float) -> str:
    return f"{n / MB:.1f} MB"


def check_file_size(path: Path, label: str, limits: Limits | None) -> None:
    """Refuse a file larger than max_file_bytes (from its size on disk: nothing is read)."""
    if limits is None or limits.max_file_bytes is None:
        return
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise LimitError(
            f"the file is {_mb(size)}, more than the limit of {_mb(limits.max_file_bytes)} (GOVQA_MAX_FILE_MB)",
            path=label,
            fix="split it into one file per report, or raise GOVQA_MAX_FILE_MB",
        )


def check_unzipped_size(raw: bytes, label: str, limits: Limits | None) -> None:
    """Refuse a .docx whose parts unzip to more than max_unzipped_bytes (read from the zip directory only)."""
    if limits is None or limits.max_unzipped_bytes is None:
        return
    import io

    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            total = sum(info.file_size for info in z.infolist())
    except zipfile.BadZipFile:
        return  # not a zip: the reader reports it as an unreadable .docx
    if total > limits.max_unzipped_bytes:
        raise LimitError(
            f"the .docx unzips to {_mb(total)}, more than the limit of {_mb(limits.max_unzipped_bytes)} "
            "(GOVQA_MAX_UNZIPPED_MB)",
            path=label,
            fix="save the report as plain text (.txt) or a smaller .docx, or raise GOVQA_MAX_UNZIPPED_MB",
        )


def check_text_length(chars: int, label: str, limits: Limits | None) -> None:
    """Refuse text longer than max_text_chars (checked as it is read: a PDF stops at the page that exceeds it)."""
    if limits is None or limits.max_text_chars is None:
        return
    if chars > limits.max_text_chars:
        raise LimitError(
            f"the text read from the file has more than {limits.max_text_chars:,} characters, "
            "the limit (GOVQA_MAX_TEXT_CHARS)",
            path=label,
            fix="split it into one file per report, or raise GOVQA_MAX_TEXT_CHARS",
        )
