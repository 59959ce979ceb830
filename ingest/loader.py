"""Public entry points: load report files and folders into a Corpus, bad files becoming FileProblems.

Duplicates: report ids (short-year) must be unique because citations name them. When a second
report gets an id already in the corpus, it is not added: it becomes a FileProblem "duplicate"
naming the first source (fix: remove one file, or set its region/year in the manifest).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .chrome import cut_tail, normalise_lines, strip_chrome
from .compilation import split_compilation
from .errors import IngestError, LimitError
from .gazetteer import gazetteer
from .limits import Limits, check_file_size
from .manifest import MANIFEST_NAME, Manifest, load_manifest, manifest_fix
from .model import Corpus, FileProblem, ListedReport, Report
from .readers import SUPPORTED, read_documents
from .report import MissingFacts, build_report

_SKIP_NAMES = {MANIFEST_NAME, "readme.md", "readme.txt", "readme"}


@dataclass
class FileResult:
    """What one file gave: its reports, its table-of-contents listing, and problems with parts of it."""

    reports: list[Report] = field(default_factory=list)
    listed: list[ListedReport] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)


def display_path(path: Path) -> str:
    """The path as shown in sources and messages: relative to the working directory when it is inside it, else
    absolute (never ../../tmp/x.txt)."""
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return absolute.as_posix()


def read_report_file(path: Path, manifest: Manifest | None = None, limits: Limits | None = None) -> FileResult:
    """Ingest one file. Raises IngestError when the whole file fails (LimitError when it is larger than
    `limits` allow, before it is read); a failing part of a compilation becomes a problem in the result instead."""
    label = display_path(path)
    if path.is_file():
        check_file_size(path, label, limits)
    raw_sha = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
    entry = manifest.entry_for(path) if manifest else None
    result = FileResult()
    documents = read_documents(path, label, limits)
    for doc in documents:
        lines = strip_chrome(cut_tail(normalise_lines(doc.text)))
        segments, toc = split_compilation(lines)
        many = len(segments) > 1 or len(documents) > 1
        for segment in segments:
            try:
                report = build_report(
                    segment,
                    source=doc.label,
                    sha256=raw_sha,
                    entry=None if many else entry,
                    csv_meta=doc.meta,
                )
            except MissingFacts as exc:
                error = IngestError(
                    exc.message,
                    path=doc.label,
                    fix=f"state the {_missing(exc)} in the report's title line, e.g. 2025年石家庄市政府工作报告 (a file "
                    "uploaded in the UI: edit it and upload it again); or "
                    + manifest_fix(path, manifest.path if manifest else None, exc.region, exc.year),
                )
                if not many:
                    raise error from exc
                result.problems.append(FileProblem(doc.label, f"{segment[0][:40]}: {exc.message}", error.fix))
                continue
            except IngestError as exc:
                if not many:
                    raise
                result.problems.append(FileProblem(doc.label, f"{segment[0][:40]}: {exc.message}", exc.fix))
                continue
            if many and entry is not None:
                report.warnings.append("清单条目对应多篇报告的文件，未采用")
            result.reports.append(report)
        result.listed.extend(_listing(toc, result.reports, doc.label))
    return result


def _listing(toc, reports: list[Report], source: str) -> list[ListedReport]:
    listed = []
    g = gazetteer()
    for entry in toc:
        place = g.find(entry.region)
        match = next(
            (
                r
                for r in reports
                if r.year == entry.year and (r.region == entry.region or (place and r.region == place.full))
            ),
            None,
        )
        listed.append(
            ListedReport(
                title=entry.title,
                region=entry.region,
                year=entry.year,
                source=source,
                has_text=match is not None,
                report_id=match.id if match else None,
            )
        )
    return listed


def load_report_file(path: str | Path, manifest: Path | None = None, limits: Limits | None = None) -> list[Report]:
    """The reports in one file (a compilation gives several). Raises IngestError / ManifestError / LimitError."""
    path = Path(path)
    if not path.is_file():
        raise IngestError("no such file", path=str(path), fix="check the path")
    return read_report_file(path, _manifest_for(path, manifest), limits).reports


def _missing_entries(manifest: Manifest) -> list[FileProblem]:
    """A problem for each manifest entry whose file does not exist, naming the manifest and the entry."""
    return [
        FileProblem(
            display_path(manifest.path),
            f'the manifest names a file that does not exist: [[report]] file = "{_entry_name(manifest, p)}"',
            "correct the file name or remove the entry",
            warning=True,
        )
        for p in manifest.missing_files()
    ]


def _entry_name(manifest: Manifest, file: Path) -> str:
    try:
        return file.relative_to(manifest.path.resolve().parent).as_posix()
    except ValueError:
        return file.name


def load_reports(
    paths: str | Path | Iterable[str | Path],
    manifest: Path | None = None,
    progress: bool = False,
    limits: Limits | None = None,
) -> Corpus:
    """Ingest files and folders (one path, or several) into one Corpus.

    Folders give all supported files inside (recursively, sorted, skipping manifest.toml, README and
    hidden files). The manifest is `manifest` if given, else the manifest.toml of the folder being
    read (the nearest one up from the file), or the one beside a single file. A file that fails (or is
    larger than `limits` allow) becomes a FileProblem; the others go on. A manifest entry naming a file
    that does not exist is a FileProblem naming the manifest and the entry. A malformed manifest raises
    ManifestError.
    """
    if isinstance(paths, (str, Path)):  # one path: a string must not be iterated character by character
        paths = [paths]
    corpus = Corpus()
    explicit = load_manifest(Path(manifest)) if manifest else None
    if explicit:
        corpus.problems.extend(_missing_entries(explicit))
    jobs = _jobs(paths, explicit, corpus.problems)
    folder_manifests = {id(m): m for _, m in jobs if m is not None and m is not explicit}
    for own in folder_manifests.values():
        corpus.problems.extend(_missing_entries(own))
    iterator = jobs
    if progress:
        from tqdm import tqdm

        iterator = tqdm(jobs, desc="ingest", unit="file")
    seen: dict[str, Report] = {}
    for path, found in iterator:
        try:
            result = read_report_file(path, found, limits)
        except (IngestError, LimitError) as exc:
            corpus.problems.append(FileProblem(exc.path or display_path(path), exc.message, exc.fix))
            continue
        corpus.problems.extend(result.problems)
        corpus.listed.extend(result.listed)
        for report in result.reports:
            _add_report(corpus, report, seen)
    return corpus


def _jobs(
    paths: Iterable[str | Path], explicit: Manifest | None, problems: list[FileProblem]
) -> list[tuple[Path, Manifest | None]]:
    """Each file to read with the manifest that applies to it; a problem for each empty folder or missing path."""
    jobs: list[tuple[Path, Manifest | None]] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            jobs.extend(_folder_jobs(path, explicit, problems))
        elif path.is_file():
            jobs.append((path, explicit or _folder_manifest(path.parent)))
        else:
            problems.append(FileProblem(display_path(path), "no such file or folder", "check the path"))
    return jobs


def _folder_jobs(
    path: Path, explicit: Manifest | None, problems: list[FileProblem]
) -> list[tuple[Path, Manifest | None]]:
    """The supported files in folder `path`, each with `explicit` or else the nearest manifest.toml up to `path`."""
    jobs: list[tuple[Path, Manifest | None]] = []
    files = sorted(p for p in path.rglob("*") if p.is_file() and _wanted(p, path))
    if not files:
        problems.append(
            FileProblem(
                display_path(path),
                "the folder holds no report files",
                f"add files of type {', '.join(SUPPORTED)}",
            )
        )
    manifests: dict[Path, Manifest | None] = {}
    for f in files:
        if explicit:
            jobs.append((f, explicit))
            continue
        if f.parent not in manifests:  # the nearest manifest.toml between the file and `path`
            folder = f.parent
            while not (folder / MANIFEST_NAME).is_file() and folder != path:
                folder = folder.parent
            manifests[f.parent] = _folder_manifest(folder)
        jobs.append((f, manifests[f.parent]))
    return jobs


def _add_report(corpus: Corpus, report: Report, seen: dict[str, Report]) -> None:
    """Add `report` to the corpus, or a duplicate problem when its id was `seen` (pointing its listing at the first)."""
    if report.id in seen:
        first = seen[report.id]
        corpus.problems.append(
            FileProblem(
                report.source,
                f"duplicate report {report.id}: already read from {first.source}",
                "remove one of the two files, or give this one its own region/year in the manifest",
            )
        )
        for listing in corpus.listed:
            if listing.report_id == report.id and listing.source == report.source:
                listing.report_id = first.id
        return
    seen[report.id] = report
    corpus.reports.append(report)


def _wanted(path: Path, root: Path) -> bool:
    """A supported file that is not a manifest/README and not hidden (nor in a hidden folder)."""
    return (
        path.suffix.lower() in SUPPORTED
        and path.name.lower() not in _SKIP_NAMES
        and not path.name.lower().startswith("readme")
        and not any(part.startswith(".") for part in path.relative_to(root).parts)
    )


def _folder_manifest(folder: Path) -> Manifest | None:
    """The manifest.toml in `folder`, if any (a malformed one raises ManifestError: fix it first)."""
    candidate = folder / MANIFEST_NAME
    return load_manifest(candidate) if candidate.is_file() else None


def _manifest_for(path: Path, manifest: Path | None) -> Manifest | None:
    return load_manifest(Path(manifest)) if manifest else _folder_manifest(path.parent)


def _missing(exc: MissingFacts) -> str:
    """What the report's text lacks, in the words of the fix: the year, the region, or both."""
    return " and ".join(name for name, value in (("year", exc.year), ("region", exc.region)) if value is None) or "year"
