"""Save and load a Corpus as JSON (atomic write: temp file in the same folder, then os.replace)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from .errors import IngestError
from .model import FORMAT_NAME, FORMAT_VERSION, Corpus

_FIX_REBUILD = "run `govqa ingest` again to rebuild it"


def save_corpus(corpus: Corpus, path: str | Path) -> Path:
    """Write `corpus` to `path` (parents created); a crash never leaves a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(corpus.to_dict(), fh, ensure_ascii=False, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_corpus(path: str | Path) -> Corpus:
    """Read a corpus saved by save_corpus; IngestError naming the file if missing/corrupt/other version."""
    path = Path(path)
    if not path.is_file():
        raise IngestError("no corpus file here", path=str(path), fix="run `govqa ingest` first")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise IngestError(f"the corpus file is corrupt: {exc}", path=str(path), fix=_FIX_REBUILD) from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        raise IngestError(f"not a {FORMAT_NAME} file", path=str(path), fix=_FIX_REBUILD)
    if data.get("version") != FORMAT_VERSION:
        raise IngestError(
            f"corpus format version {data.get('version')}, this program reads version {FORMAT_VERSION}",
            path=str(path),
            fix=_FIX_REBUILD,
        )
    try:
        return Corpus.from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise IngestError(f"the corpus file is corrupt: {exc}", path=str(path), fix=_FIX_REBUILD) from exc
