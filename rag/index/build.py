"""Keeping the corpus and index up to date: ingest files, merge them into the corpus, write a new index generation."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from dataclasses import replace as replace_field
from functools import cached_property
from pathlib import Path

from ingest import load_reports
from ingest.errors import ConfigError, IndexError_
from ingest.limits import MB, Limits
from ingest.model import Corpus, FileProblem, Report
from ingest.store import load_corpus, save_corpus
from rag.index.lock import writer_lock
from rag.index.merge import merge, refuse_replacements, unchanged_reports
from rag.index.store import LoadedIndex, build_index, current_manifest, remove_dead_partials, report_hash
from rag.settings import Settings

BM25_ONLY = "bm25"
LEGACY_CORPUS = "corpus.json"  # the whole corpus of record, as versions before the catalogue kept it


def open_embedder(settings: Settings):
    """The embedder the settings name, or None in BM25-only mode."""
    if settings.embed_model == BM25_ONLY:
        return None
    from rag.embedding.embed import load_embedder

    return load_embedder(settings)


def check_model(index: LoadedIndex, settings: Settings, embedder=None) -> None:
    """Refuse to query an index with another embedding model than the one it was built with."""
    check_manifest(index.manifest, index.path, settings, embedder)


def check_manifest(manifest: dict, path: Path, settings: Settings, embedder=None) -> None:
    """check_model on a generation's manifest (IndexError_ naming both models and the fix)."""
    built = manifest.get("embed_model")
    same_name = built == settings.embed_model
    same_weights = embedder is None or manifest.get("embed_identity") == getattr(embedder, "identity", BM25_ONLY)
    if not (same_name and same_weights):
        raise IndexError_(
            f"the index was built with embedding model {built!r} "
            f"({manifest.get('embed_identity')}), but GOVQA_EMBED_MODEL is {settings.embed_model!r}"
            + ("" if same_weights else f" ({getattr(embedder, 'identity', '?')})"),
            fix=f"rebuild the index with this model (govqa index), or set GOVQA_EMBED_MODEL={built}"
            if not same_name
            else "rebuild the index with these settings (govqa index: each identity's vectors are cached, so "
            "switching back costs nothing), or set back what it was built with: GOVQA_EMBED_BACKEND "
            "(onnx-int8, onnx, or torch: every index built before that setting existed), GOVQA_EMBED_BASE_URL, "
            "GOVQA_PASSAGE_PREFIX",
            path=str(path),
        )


def embedding_cache(settings: Settings, embedder, deadline: float | None = None, deadline_setting: str = ""):
    from rag.embedding.cache import EmbeddingCache

    return EmbeddingCache(
        settings.data_dir / "cache" / "embeddings",
        embedder.identity,
        embedder.dim,
        flush_every=settings.embed_batch_size * settings.embed_flush_batches,
        deadline=deadline,
        deadline_setting=deadline_setting,
    )


def ingest_limits(settings: Settings) -> Limits:
    """The file limits the settings set (GOVQA_MAX_FILE_MB, GOVQA_MAX_UNZIPPED_MB, GOVQA_MAX_TEXT_CHARS)."""
    return Limits(
        max_file_bytes=int(settings.max_file_mb * MB),
        max_unzipped_bytes=int(settings.max_unzipped_mb * MB),
        max_text_chars=settings.max_text_chars,
    )


@dataclass
class Update:
    """What an ingest/remove changed. `catalogue`: the corpus of record (reports ingested earlier without their
    paragraphs); `corpus`: the whole corpus, read in full on first use."""

    catalogue: Corpus
    generation: Path | None
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)  # reports whose file was ingested again with other content
    removed: list[str] = field(default_factory=list)
    new: Corpus | None = None  # what the given files produced (with their problems)
    embedded: int = 0  # texts (passages and sentences) sent to the embedder (not found in the embedding cache)
    reused: int = 0  # texts whose vectors came from the embedding cache
    records: Path | None = None  # the folder of the full reports of record
    unchanged: list[str] = field(default_factory=list)  # reports ingested again exactly as they were

    def kept(self, problem: FileProblem) -> list[str]:
        """The reports a skipped file gave at an earlier ingest, kept as they were ([] for a warning)."""
        return [] if problem.warning else [r.id for r in self.catalogue.reports if r.source == problem.path]

    def only(self, ids: set[str]) -> Corpus:
        """The full reports with these ids (only their records are read), without the TOC listing."""
        chosen = Corpus(reports=[r for r in self.catalogue.reports if r.id in ids])
        return chosen if self.records is None else with_paragraphs(chosen, self.records)

    @cached_property
    def corpus(self) -> Corpus:
        if self.records is None:
            return self.catalogue
        full = Corpus(reports=list(self.catalogue.reports), listed=self.catalogue.listed)
        full.problems = self.catalogue.problems
        return with_paragraphs(full, self.records)


def current_catalogue(settings: Settings) -> Corpus:
    """The catalogue of record: every report's metadata (reports ingested before saved without their paragraphs),
    the listings and the problems; empty when nothing was ingested yet. A data dir of an older version keeps a
    whole corpus.json instead: it is read (and replaced by the catalogue at the next ingest)."""
    legacy = settings.corpus_path.with_name(LEGACY_CORPUS)
    path = settings.corpus_path if settings.corpus_path.exists() or not legacy.exists() else legacy
    return load_corpus(path) if path.exists() else Corpus()


def current_corpus(settings: Settings) -> Corpus:
    """The whole corpus of record, every report with its paragraphs (read from the reports of record)."""
    return with_paragraphs(current_catalogue(settings), records_dir(settings))


def with_paragraphs(corpus: Corpus, records: Path) -> Corpus:
    """`corpus` with each report that lacks its paragraphs (a catalogue entry) replaced by its full report of
    record from `records`; changes and returns `corpus`."""
    light = [r.id for r in corpus.reports if not r.paragraphs]
    loaded = {r.id: r for r in read_records(records, light)}
    corpus.reports = [loaded.get(r.id, r) for r in corpus.reports]
    return corpus


def records_dir(settings: Settings) -> Path:
    """Where the full reports of record are kept, one file per report version (named by its content hash)."""
    return settings.corpus_path.parent / "reports"


def _record_hashes(folder: Path) -> dict[str, str]:
    try:
        return json.loads((folder / "index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def read_records(folder: Path, ids: list[str]) -> list[Report]:
    """The full reports of record with these ids."""
    hashes = _record_hashes(folder)
    out = []
    for rid in ids:
        if rid not in hashes:
            raise IndexError_(f"report {rid} has no saved text", fix="ingest its file again", path=str(folder))
        out.extend(load_corpus(folder / f"{hashes[rid]}.json").reports)
    return out


def save_records(folder: Path, corpus: Corpus) -> Corpus:
    """Save the reports of `corpus` that have their paragraphs (one file each, kept while any version names
    it) and the id -> file index; return the catalogue to save as the corpus of record (no paragraphs)."""
    folder.mkdir(parents=True, exist_ok=True)
    hashes = _record_hashes(folder)
    for r in corpus.reports:
        if r.paragraphs:
            h = report_hash(r)
            if not (folder / f"{h}.json").exists():
                save_corpus(Corpus(reports=[r]), folder / f"{h}.json")
            hashes[r.id] = h
    live = {r.id for r in corpus.reports}
    hashes = {k: v for k, v in hashes.items() if k in live}
    tmp = folder / f"index.json.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(hashes, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp, folder / "index.json")
    kept = set(hashes.values())
    for old in folder.glob("*.json"):
        if old.name != "index.json" and old.stem not in kept:
            old.unlink(missing_ok=True)
    light = [replace_field(r, paragraphs=[]) for r in corpus.reports]
    return Corpus(reports=light, listed=corpus.listed, problems=corpus.problems)


def _current_if_same_model(settings: Settings, embedder) -> Path | None:
    """The current index generation when it was built with the settings' model and weights, else None."""
    gen, manifest = current_manifest(settings.index_dir)
    try:
        if gen is not None:
            check_manifest(manifest, gen, settings, embedder)
    except IndexError_:
        return None
    return gen


def update(
    settings: Settings,
    paths: Iterable[str | Path] = (),
    remove: Iterable[str] = (),
    progress: bool = False,
    manifest: Path | None = None,
    embedder=None,
    index: bool = True,
    replace: bool = False,
    wait: bool = True,
    on_wait: Callable[[str], None] | None = None,
    time_limit: float | None = None,
    time_limit_setting: str = "",
    reports: Iterable[Report] = (),
    use_cache: bool = True,
    compact: bool = False,
) -> Update:
    """Ingest `paths` into the corpus, drop the `remove` report ids, save, and write a new index generation.

    Only new or changed reports are written (a new index segment and their record files); the corpus of
    record (settings.corpus_path) keeps the catalogue: every report's metadata without its paragraphs.

    Unchanged paragraphs are not embedded again (embedding cache). A failure at any step leaves the
    saved corpus and the current index as they were. A report whose id is already in the corpus from
    another file is refused (a problem in `Update.new`) unless `replace`; the same file ingested again
    replaces its old version. Files larger than the settings' limits are refused (problems) before they are read.

    One writer at a time per data dir: the whole read-merge-build-save runs under the data dir's writer
    lock. When another process holds it, wait (calling `on_wait` with a message first) or, with
    wait=False, raise BusyError at once. The .partial folders of dead builds are removed first.

    `reports`: reports already read (not from files) to ingest like the files' reports. `use_cache`: False
    embeds without the embedding cache (for an embedder that computes nothing, as bench/scale_bench.py's).

    `compact`: also merge the index's small segments into the new one (GOVQA_INDEX_MAX_SEGMENTS does it when
    there are too many); answers do not change.

    `time_limit`: seconds (from the call) after which embedding stops with a LimitError naming
    `time_limit_setting` (the UI passes GOVQA_MAX_UPLOAD_SECONDS); nothing is changed but the embedding
    cache, which keeps what was embedded so a second try resumes.
    """
    started = time.monotonic()
    paths = list(paths)
    remove = list(remove)
    what = "ingest" if paths or reports else ("remove " + " ".join(remove) if remove else "index")
    with writer_lock(settings.data_dir, wait=wait, what=what, on_wait=on_wait):
        if settings.index_dir.is_dir():
            remove_dead_partials(settings.index_dir)
        old = current_catalogue(settings)  # read under the lock: another writer's reports are never lost
        limits = ingest_limits(settings)
        new = load_reports(paths, manifest=manifest, progress=progress, limits=limits) if paths else Corpus()
        new.reports = new.reports + list(reports)
        if not replace:
            new = refuse_replacements(old, new)
        corpus, added, replaced = merge(old, new)
        unchanged = unchanged_reports(old, new, replaced, _record_hashes(records_dir(settings)))
        replaced = [rid for rid in replaced if rid not in unchanged]
        unknown = [r for r in remove if r not in {x.id for x in corpus.reports}]
        if unknown:
            raise ConfigError(
                f"no report with id {', '.join(unknown)} in the corpus", fix="see the ids with: govqa catalogue"
            )
        corpus.reports = [r for r in corpus.reports if r.id not in remove]
        gen, embedded, reused = None, 0, 0
        if index and embedder is None and settings.embed_model != BM25_ONLY:
            embedder = open_embedder(settings)
        same_listed = sorted(map(repr, corpus.listed)) == sorted(map(repr, old.listed))
        unchanged_corpus = bool(paths or reports) and not (added or replaced or remove or compact) and same_listed
        if index and unchanged_corpus:  # nothing given changed the corpus: no new generation
            gen = _current_if_same_model(settings, embedder)
        if index and gen is None and not (unchanged_corpus and not corpus.reports):
            deadline = started + time_limit if time_limit is not None else None
            cache = None
            if embedder is not None and use_cache:
                cache = embedding_cache(settings, embedder, deadline, time_limit_setting)
            records = records_dir(settings)
            from rag.index.milvus_sync import milvus_sink  # GOVQA_VECTOR_STORE=milvus: vectors synced to Milvus

            gen = build_index(
                corpus,
                settings.index_dir,
                settings.embed_model,
                embedder,
                cache,
                progress=progress,
                hashes=_record_hashes(records),
                full_reports=lambda ids: read_records(records, ids),
                vectors=milvus_sink(settings, embedder),
                compact=compact,
                max_segments=settings.index_max_segments,
            )
            if cache is not None:  # passages and their sentences alike
                embedded, reused = cache.misses, cache.hits
        catalogue = save_records(records_dir(settings), corpus)
        save_corpus(catalogue, settings.corpus_path)
        settings.corpus_path.with_name(LEGACY_CORPUS).unlink(missing_ok=True)
    return Update(catalogue, gen, added, replaced, remove, new, embedded, reused, records_dir(settings), unchanged)
