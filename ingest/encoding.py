"""Turn the raw bytes of a text file into str: BOMs, UTF-8, else charset-normalizer's guess."""

from __future__ import annotations

import codecs
import unicodedata

from charset_normalizer import from_bytes

from .errors import IngestError

_BOMS = [
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
]
_FIX_BINARY = "give a text file (.txt/.md/.html/.csv), a .pdf or a .docx; convert other formats first"


def decode_text(raw: bytes, path: str) -> str:
    """Decode `raw` (the bytes of `path`); IngestError if it is empty or not text."""
    if not raw.strip():
        raise IngestError("the file is empty", path=path, fix="remove it or replace it with the report's text")
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            return _checked(raw.decode(encoding, errors="replace"), path)
    try:
        return _checked(raw.decode("utf-8"), path)
    except UnicodeDecodeError:
        pass
    best = from_bytes(raw).best()
    if best is None:
        raise IngestError("the file is binary, not text", path=path, fix=_FIX_BINARY)
    return _checked(str(best), path)


def _checked(text: str, path: str) -> str:
    """Reject decoded text that is mostly control characters (a binary file read as text)."""
    sample = text[:20000]
    controls = sum(1 for ch in sample if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t\f\v")
    if controls > max(3, len(sample) // 100):
        raise IngestError("the file is binary, not text", path=path, fix=_FIX_BINARY)
    if not text.strip():
        raise IngestError("the file is empty", path=path, fix="remove it or replace it with the report's text")
    return text
