"""Keeping the corpus and index up to date: ingest files, merge them into the corpus, write a new index generation."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from dataclasses import replace as replace_field
from pathlib import Path

from ingest import load_reports
from ingest.errors import ConfigError, IndexError_
from ingest.limits import MB, Limits
from ingest.model import Corpus, FileProblem, Report
from ingest.store import load_corpus, save_corpus
from rag.index.lock import writer_lock
from rag.index.store import LoadedIndex, build_index, remove_dead_partials
from rag.settings import Settings

BM25_ONLY = "bm25"


def open_embedder(settings: Settings):
    """The embedder the settings name, or None in BM25-only mode."""
    if settings.embed_model == BM25_ONLY:
        return None
    from rag.embedding.embed import load_embedder

    return load_embedder(settings)


def check_model(index: LoadedIndex, settings: Settings, embedder=None) -> None:
    """Refuse to query an index with another embedding model than the one it was built with."""
    built = index.manifest.get("embed_model")
    same_name = built == settings.embed_model
    same_weights = embedder is None or index.manifest.get("embed_identity") == getattr(embedder, "identity", BM25_ONLY)
    if not (same_name and same_weights):
        raise IndexError_(
            f"the index was built with embedding model {built!r} "
            f"({index.manifest.get('embed_identity')}), but GOVQA_EMBED_MODEL is {settings.embed_model!r}"
            + ("" if same_weights else f" ({getattr(embedder, 'identity', '?')})"),
            fix=f"rebuild the index with this model (govqa index), or set GOVQA_EMBED_MODEL={built}"
            if not same_name
            else "rebuild the index with these settings (govqa index: each identity's vectors are cached, so "
            "switching back costs nothing), or set back what it was built with: GOVQA_EMBED_BACKEND "
            "(onnx-int8, onnx, or torch: every index built before that setting existed), GOVQA_EMBED_BASE_URL, "
            "GOVQA_PASSAGE_PREFIX",
            path=str(index.path),
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
    """What an ingest/remove changed."""

    corpus: Corpus
    generation: Path | None
    added: list[str] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    new: Corpus | None = None  # what the given files produced (with their problems)
    embedded: int = 0  # texts (passages and sentences) sent to the embedder (not found in the embedding cache)
    reused: int = 0  # texts whose vectors came from the embedding cache


def current_corpus(settings: Settings) -> Corpus:
    """The corpus of record (empty when nothing was ingested yet)."""
    return load_corpus(settings.corpus_path) if settings.corpus_path.exists() else Corpus()


def _same_file(a: Report, b: Report) -> bool:
    return a.source == b.source or (bool(a.source_sha256) and a.source_sha256 == b.source_sha256)


def refuse_replacements(old: Corpus, new: Corpus) -> tuple[Corpus, list[FileProblem]]:
    """`new` without the reports whose id is already in `old` from another file, and a problem for each
    refused one naming the id, both files and the fix (--replace, or remove the old one first)."""
    by_id = {r.id: r for r in old.reports}
    kept, refused = [], []
    for r in new.reports:
        first = by_id.get(r.id)
        if first is None or _same_file(first, r):
            kept.append(r)
            continue
        refused.append(
            FileProblem(
                r.source,
                f"report {r.id} is already in the corpus, from {first.source}; not replaced",
                f"to replace it, ingest again with --replace (Python: replace=True; UI: tick 替换同编号的已有报告), "
                f"or remove it first: govqa remove {r.id}; if this is another report, set its region/year in the manifest",
            )
        )
    gone = {r.id for r in new.reports} - {r.id for r in kept}
    listed = [x if x.report_id not in gone else replace_field(x, report_id=None, has_text=False) for x in new.listed]
    return Corpus(reports=kept, listed=listed, problems=new.problems + refused), refused


def merge(old: Corpus, new: Corpus, refused: Iterable[FileProblem] = ()) -> tuple[Corpus, list[str], list[str]]:
    """`old` with the reports of `new` added; a report from a file ingested again replaces its old version.

    `refused`: the problems of reports refused by refuse_replacements (their files' old reports are kept).
    """
    refused = list(refused)
    sources = (
        {r.source for r in new.reports}
        | {x.source for x in new.listed}
        | {p.path for p in new.problems if not p.warning and p not in refused}
    )
    ids = {r.id for r in new.reports}
    kept = [r for r in old.reports if r.source not in sources and r.id not in ids]
    replaced = [r.id for r in old.reports if r not in kept]
    added = [r.id for r in new.reports if r.id not in replaced]
    cleared = sources | {p.path for p in new.problems}
    merged = Corpus(
        reports=kept + new.reports,
        listed=[x for x in old.listed if x.source not in sources] + new.listed,
        problems=[p for p in old.problems if p.path not in cleared] + new.problems,
    )
    return merged, added, replaced


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
) -> Update:
    """Ingest `paths` into the corpus, drop the `remove` report ids, save, and write a new index generation.

    Unchanged paragraphs are not embedded again (embedding cache). A failure at any step leaves the
    saved corpus and the current index as they were. A report whose id is already in the corpus from
    another file is refused (a problem in `Update.new`) unless `replace`; the same file ingested again
    replaces its old version. Files larger than the settings' limits are refused (problems) before they are read.

    One writer at a time per data dir: the whole read-merge-build-save runs under the data dir's writer
    lock. When another process holds it, wait (calling `on_wait` with a message first) or, with
    wait=False, raise BusyError at once. The .partial folders of dead builds are removed first.

    `time_limit`: seconds (from the call) after which embedding stops with a LimitError naming
    `time_limit_setting` (the UI passes GOVQA_MAX_UPLOAD_SECONDS); nothing is changed but the embedding
    cache, which keeps what was embedded so a second try resumes.
    """
    started = time.monotonic()
    paths = list(paths)
    remove = list(remove)
    what = "ingest" if paths else ("remove " + " ".join(remove) if remove else "index")
    with writer_lock(settings.data_dir, wait=wait, what=what, on_wait=on_wait):
        if settings.index_dir.is_dir():
            remove_dead_partials(settings.index_dir)
        old = current_corpus(settings)  # read under the lock: another writer's reports are never lost
        limits = ingest_limits(settings)
        new = load_reports(paths, manifest=manifest, progress=progress, limits=limits) if paths else Corpus()
        refused: list[FileProblem] = []
        if not replace:
            new, refused = refuse_replacements(old, new)
        corpus, added, replaced = merge(old, new, refused)
        unknown = [r for r in remove if r not in {x.id for x in corpus.reports}]
        if unknown:
            raise ConfigError(
                f"no report with id {', '.join(unknown)} in the corpus", fix="see the ids with: govqa catalogue"
            )
        corpus.reports = [r for r in corpus.reports if r.id not in remove]
        gen, embedded, reused = None, 0, 0
        if index:
            if embedder is None and settings.embed_model != BM25_ONLY:
                embedder = open_embedder(settings)
            deadline = started + time_limit if time_limit is not None else None
            cache = embedding_cache(settings, embedder, deadline, time_limit_setting) if embedder is not None else None
            gen = build_index(corpus, settings.index_dir, settings.embed_model, embedder, cache, progress=progress)
            if cache is not None:  # passages and their sentences alike
                embedded, reused = cache.misses, cache.hits
        save_corpus(corpus, settings.corpus_path)
    return Update(corpus, gen, added, replaced, remove, new, embedded, reused)
