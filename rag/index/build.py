"""Keeping the corpus and index up to date: ingest files, merge them into the corpus, write a new index generation."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from ingest import load_reports
from ingest.errors import ConfigError, IndexError_
from ingest.model import Corpus
from ingest.store import load_corpus, save_corpus

from rag.index.store import LoadedIndex, build_index
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
            fix=f"rebuild the index with this model (govqa index), or set GOVQA_EMBED_MODEL={built}",
            path=str(index.path),
        )


def embedding_cache(settings: Settings, embedder):
    from rag.embedding.cache import EmbeddingCache

    return EmbeddingCache(settings.data_dir / "cache" / "embeddings", embedder.identity, embedder.dim)


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


def merge(old: Corpus, new: Corpus) -> tuple[Corpus, list[str], list[str]]:
    """`old` with the reports of `new` added; a report from a file ingested again replaces its old version."""
    sources = {r.source for r in new.reports} | {x.source for x in new.listed} | {p.path for p in new.problems}
    ids = {r.id for r in new.reports}
    kept = [r for r in old.reports if r.source not in sources and r.id not in ids]
    replaced = [r.id for r in old.reports if r not in kept]
    added = [r.id for r in new.reports if r.id not in replaced]
    merged = Corpus(
        reports=kept + new.reports,
        listed=[x for x in old.listed if x.source not in sources] + new.listed,
        problems=[p for p in old.problems if p.path not in sources] + new.problems,
    )
    return merged, added, replaced


def update(settings: Settings, paths: Iterable[str | Path] = (), remove: Iterable[str] = (), progress: bool = False,
           manifest: Path | None = None, embedder=None, index: bool = True) -> Update:
    """Ingest `paths` into the corpus, drop the `remove` report ids, save, and write a new index generation.

    Unchanged paragraphs are not embedded again (embedding cache). A failure at any step leaves the
    saved corpus and the current index as they were.
    """
    paths = list(paths)
    old = current_corpus(settings)
    new = load_reports(paths, manifest=manifest, progress=progress) if paths else Corpus()
    corpus, added, replaced = merge(old, new)
    remove = list(remove)
    unknown = [r for r in remove if r not in {x.id for x in corpus.reports}]
    if unknown:
        raise ConfigError(f"no report with id {', '.join(unknown)} in the corpus",
                          fix="see the ids with: govqa catalogue")
    corpus.reports = [r for r in corpus.reports if r.id not in remove]
    gen, embedded, reused = None, 0, 0
    if index:
        if embedder is None and settings.embed_model != BM25_ONLY:
            embedder = open_embedder(settings)
        cache = embedding_cache(settings, embedder) if embedder is not None else None
        gen = build_index(corpus, settings.index_dir, settings.embed_model, embedder, cache, progress=progress)
        if cache is not None:  # passages and their sentences alike
            embedded, reused = cache.misses, cache.hits
    save_corpus(corpus, settings.corpus_path)
    return Update(corpus, gen, added, replaced, remove, new, embedded, reused)
