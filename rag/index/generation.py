"""Reading an index generation: CURRENT, its manifest, its segments laid out as one searchable index.

Readers take no lock: a writer swaps CURRENT atomically and prunes old generations, so `load_index` retries
once when the generation it read vanished (or was incomplete) because CURRENT moved on meanwhile.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ingest.errors import IndexError_
from ingest.model import Corpus, FileProblem, ListedReport
from rag.index.bm25 import KeywordIndex
from rag.index.segment import ChunkList, Layout, load_segment
from rag.index.sentences import SentenceTable
from rag.index.vectors import SegmentedVectors, VectorSearch

INDEX_FORMAT = 2  # 2: a generation is a manifest naming immutable segments (1: one folder written whole)
CURRENT = "CURRENT"


@dataclass
class LoadedIndex:
    """An index generation in memory: what retrieval needs."""

    path: Path
    manifest: dict
    corpus: Corpus
    chunks: ChunkList  # by position (a Sequence of Chunk, made on demand)
    vectors: VectorSearch | None  # the dense backend (row i = chunks[i]), None in BM25-only mode
    keyword: KeywordIndex
    sentences: SentenceTable | None = None  # sentence spans (and vectors) of every indexed paragraph
    layout: Layout | None = None  # report -> chunk positions

    @property
    def embed_model(self) -> str:
        return self.manifest["embed_model"]


def current_generation(index_dir: Path) -> Path:
    """The generation CURRENT points at, or a clear error when there is no usable index."""
    index_dir = Path(index_dir)
    pointer = index_dir / CURRENT
    if not pointer.exists():
        raise IndexError_(
            f"no index at {index_dir}",
            fix="build it: govqa ingest data/reports (or make run)",
            path=str(index_dir),
        )
    gen = index_dir / pointer.read_text(encoding="utf-8").strip()
    if not (gen / "manifest.json").exists():
        raise IndexError_(
            f"index generation {gen.name} is missing or incomplete", fix="rebuild: govqa index", path=str(gen)
        )
    return gen


def load_index(index_dir: Path) -> LoadedIndex:
    """Load the current generation (corpus, nodes, FAISS vectors, BM25).

    A writer may swap CURRENT and prune the old generation while it is read: when the generation read
    vanishes (or is incomplete) and CURRENT has moved on meanwhile, the load is tried once more on the new one.
    """
    try:
        return _load_generation(current_generation(index_dir))
    except IndexError_ as first:
        pointer = Path(index_dir) / CURRENT
        try:
            moved = first.path is not None and pointer.read_text(encoding="utf-8").strip() != Path(first.path).name
        except OSError:
            moved = False
        if not moved:
            raise
    try:
        return _load_generation(current_generation(index_dir))
    except IndexError_ as second:
        raise IndexError_(
            f"{second.message}; the index changed twice while it was being loaded",
            fix="another process is rebuilding it: try again when it has finished (or rebuild: govqa index)",
            path=second.path,
        ) from second


def _load_generation(gen: Path) -> LoadedIndex:
    try:
        manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("format") != INDEX_FORMAT:
            raise IndexError_(
                f"index format {manifest.get('format')} is not {INDEX_FORMAT}",
                fix="rebuild: govqa index",
                path=str(gen),
            )
        segments = [load_segment(gen.parent / s["name"]) for s in manifest["segments"]]
        catalogue = json.loads((gen / "catalogue.json").read_text(encoding="utf-8"))
        if not gen.is_dir():  # pruned while it was read: what was read may be incomplete
            raise FileNotFoundError(f"{gen} was removed while it was read")
    except IndexError_:
        raise
    except (OSError, ValueError, KeyError, RuntimeError) as e:  # faiss raises RuntimeError on a bad file
        raise IndexError_(
            f"index generation {gen.name} is unreadable ({e})", fix="rebuild: govqa index", path=str(gen)
        ) from e
    layout = Layout(segments, [s["reports"] for s in manifest["segments"]])
    by_id = {rid: segments[s].reports[i] for rid, (s, i) in layout.report_at.items()}
    corpus = Corpus(
        reports=[by_id[rid] for rid in manifest["reports"] if rid in by_id],
        listed=[ListedReport(**x) for x in catalogue["listed"]],
        problems=[FileProblem(**x) for x in catalogue["problems"]],
    )
    parts = [(seg, layout.to_pos[s], layout.live[s]) for s, seg in enumerate(segments)]
    vectors: VectorSearch | None = None
    if manifest.get("vectors", {}).get("backend") == "milvus":  # GOVQA_VECTOR_STORE=milvus built it
        from rag.index.milvus_search import open_milvus_vectors

        vectors = open_milvus_vectors(manifest["vectors"], ChunkList(layout), manifest["dim"], gen)
    elif manifest.get("dim"):
        vectors = SegmentedVectors([(seg.vectors, to_pos, live) for seg, to_pos, live in parts])  # type: ignore[misc]
    keyword = KeywordIndex([(seg.postings, seg.terms, to_pos, live) for seg, to_pos, live in parts], layout.size)
    where = {
        rid: (s, int(segments[s].slot_base[i]), len(segments[s].reports[i].paragraphs))
        for rid, (s, i) in layout.report_at.items()
    }
    sentences = SentenceTable([seg.sentences for seg in segments], where)
    if len(corpus.reports) != len(manifest["reports"]) or layout.size != manifest["chunks"]:
        raise IndexError_(f"index generation {gen.name} is inconsistent", fix="rebuild: govqa index", path=str(gen))
    return LoadedIndex(gen, manifest, corpus, ChunkList(layout), vectors, keyword, sentences, layout)


def generation_corpus(gen: Path) -> Corpus:
    """The reports (with their paragraphs) a generation indexes, in corpus order, with its listings and problems;
    read from its segments' corpus files only (no vectors)."""
    from ingest.store import load_corpus

    manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    catalogue = json.loads((gen / "catalogue.json").read_text(encoding="utf-8"))
    by_id = {}
    for seg in manifest["segments"]:
        live = set(seg["reports"])
        by_id.update({r.id: r for r in load_corpus(gen.parent / seg["name"] / "corpus.json").reports if r.id in live})
    return Corpus(
        reports=[by_id[rid] for rid in manifest["reports"] if rid in by_id],
        listed=[ListedReport(**x) for x in catalogue["listed"]],
        problems=[FileProblem(**x) for x in catalogue["problems"]],
    )
