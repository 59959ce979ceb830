"""The manifest (manifest.toml): facts a report's text does not state, one [[report]] per file."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from .errors import ManifestError

MANIFEST_NAME = "manifest.toml"
_KEYS = {"file", "region", "year", "note"}


@dataclass(frozen=True)
class ManifestEntry:
    file: Path  # resolved path of the file the entry is about
    region: str | None = None
    year: int | None = None
    note: str | None = None


@dataclass(frozen=True)
class Manifest:
    path: Path
    entries: dict[Path, ManifestEntry]

    def entry_for(self, file: Path) -> ManifestEntry | None:
        return self.entries.get(file.resolve())

    def missing_files(self) -> list[Path]:
        return [p for p in self.entries if not p.exists()]


def load_manifest(path: Path) -> Manifest:
    """Parse and check `path`; ManifestError naming the problem and the fix."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ManifestError(f"cannot read the manifest: {exc}", path=str(path), fix="check the path") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        placeholder = re.search(r"<[^<>\n]*>", text)
        fix = (
            f"replace the placeholder {placeholder.group(0)} with the value (a year is a bare number: year = 2025)"
            if placeholder
            else "fix the syntax (see README, 'The manifest')"
        )
        raise ManifestError(f"not valid TOML: {exc}", path=str(path), fix=fix) from exc
    tables = data.get("report", [])
    if not isinstance(tables, list):
        raise ManifestError(
            "'report' must be an array of tables ([[report]])",
            path=str(path),
            fix="write one [[report]] table per file",
        )
    entries: dict[Path, ManifestEntry] = {}
    for n, table in enumerate(tables, start=1):
        where = f"[[report]] #{n}"
        unknown = set(table) - _KEYS
        if unknown:
            raise ManifestError(
                f"{where}: unknown field(s) {', '.join(sorted(unknown))}",
                path=str(path),
                fix=f"use only {', '.join(sorted(_KEYS))}",
            )
        file = table.get("file")
        if not isinstance(file, str) or not file.strip():
            raise ManifestError(
                f"{where}: 'file' is missing",
                path=str(path),
                fix='add file = "<name of the report file in this folder>"',
            )
        year = table.get("year")
        if year is not None and (not isinstance(year, int) or not 1949 <= year <= 2100):
            raise ManifestError(
                f"{where} ({file}): 'year' must be an integer like 2025, got {year!r}",
                path=str(path),
                fix="write year = 2025 (no quotes)",
            )
        region = table.get("region")
        if region is not None and (not isinstance(region, str) or not region.strip()):
            raise ManifestError(
                f"{where} ({file}): 'region' must be a name like \"石家庄市\"",
                path=str(path),
                fix='write region = "石家庄市"',
            )
        resolved = (path.parent / file).resolve()
        entries[resolved] = ManifestEntry(resolved, region.strip() if region else None, year, table.get("note"))
    return Manifest(path, entries)


def manifest_fix(file: Path, manifest_path: Path | None, region: str | None, year: int | None) -> str:
    """The exact TOML lines to add for `file`, with what is known filled in."""
    target = manifest_path or file.parent / MANIFEST_NAME
    try:
        rel = file.resolve().relative_to(target.resolve().parent).as_posix()
    except ValueError:
        rel = file.resolve().as_posix()
    lines = [
        f"add to {target}:",
        "[[report]]",
        f'file = "{rel}"',
        f'region = "{region}"' if region else 'region = "<地区全称，如 石家庄市>"',
        f"year = {year}" if year else "year = <报告年份，如 2025>",
    ]
    return "\n".join(lines)
