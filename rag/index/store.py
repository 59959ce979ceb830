"""The on-disk index: one generation = corpus snapshot + TextNodes + FAISS vectors + BM25 tokens, switched atomically."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest import chunk_report
from ingest.errors import IndexError_
from ingest.model import Chunk, Corpus, Report
from ingest.store import load_corpus, save_corpus
from rag.index.bm25 import KeywordIndex
from rag.index.sentences import SentenceTable, load_sentences, paragraph_sentences, save_sentences
from rag.index.tokenize import tokens
from rag.index.vectors import FaissVectors, VectorSearch

INDEX_FORMAT = 1
CURRENT = "CURRENT"
PARTIAL = ".partial"
OWNER = "owner.json"  # in a .partial folder: the pid of the process building it
KEEP_PREVIOUS = 1  # generations kept besides the current one, so a reader that just read CURRENT finds its folder


def report_hash(report: Report) -> str:
    """Content hash of what a report contributes to the index (metadata + paragraphs)."""
    h = hashlib.sha256()
    for part in (report.id, report.region, str(report.year), report.level, report.province):
        h.update(part.encode() + b"\x00")
    for p in report.paragraphs:
        h.update(f"{p.number}\x00{p.kind}\x00{p.section}\x00{p.text}\x01".encode())
    return h.hexdigest()


def corpus_chunks(corpus: Corpus) -> list[Chunk]:
    """The chunks that are indexed: every non-heading paragraph of every report, in corpus order."""
    out: list[Chunk] = []
    for report in corpus.reports:
        headings = {p.number for p in report.paragraphs if p.kind == "heading"}
        out.extend(c for c in chunk_report(report) if c.paragraph not in headings)
    return out


def _node(chunk: Chunk, report: Report):
    from llama_index.core.schema import TextNode

    return TextNode(
        id_=chunk.id,
        text=chunk.text,
        metadata={
            "report_id": report.id,
            "region": report.region,
            "short": report.short,
            "year": report.year,
            "level": report.level,
            "province": report.province,
            "section": report.paragraph(chunk.paragraph).section,
            "paragraph": chunk.paragraph,
            "part": chunk.part,
            "header": chunk.header,
        },
    )


@dataclass
class LoadedIndex:
    """An index generation in memory: what retrieval needs."""

    path: Path
    manifest: dict
    corpus: Corpus
    chunks: list[Chunk]
    vectors: VectorSearch | None  # the dense backend (row i = chunks[i]), None in BM25-only mode
    keyword: KeywordIndex
    sentences: SentenceTable | None = None  # sentence spans (and vectors) of every indexed paragraph

    @property
    def embed_model(self) -> str:
        return self.manifest["embed_model"]


def build_index(
    corpus: Corpus, index_dir: Path, embed_model: str, embedder=None, cache=None, progress=False, vectors=None
) -> Path:
    """Write a new index generation for `corpus` and switch to it atomically; returns the generation path.

    `embedder` is None only for embed_model "bm25". `cache` (an EmbeddingCache) makes unchanged
    chunks cost nothing to re-embed. An interrupted build leaves the previous generation current.
    `vectors`: a sink holding the chunk vectors instead of vectors.faiss (rag.index.milvus_sync.MilvusSink).
    """
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    chunks = corpus_chunks(corpus)
    by_id = {r.id: r for r in corpus.reports}
    remove_dead_partials(index_dir)
    gen = index_dir / f"gen-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{time.perf_counter_ns() % 10**6:06d}"
    tmp = gen.with_name(gen.name + PARTIAL)
    tmp.mkdir()
    try:
        (tmp / OWNER).write_text(json.dumps({"pid": os.getpid(), "started": time.time()}), encoding="utf-8")
        save_corpus(corpus, tmp / "corpus.json")
        nodes = [_node(c, by_id[c.report_id]) for c in chunks]
        with open(tmp / "nodes.jsonl", "w", encoding="utf-8") as f:
            for n in nodes:
                f.write(n.to_json() + "\n")
        with open(tmp / "tokens.json", "w", encoding="utf-8") as f:
            json.dump([tokens(c.embed_text) for c in chunks], f, ensure_ascii=False)
        sentence_texts, sentence_spans = paragraph_sentences(
            corpus, list(dict.fromkeys(c.paragraph_id for c in chunks))
        )
        dim, sentence_vecs = _embed_generation(tmp, chunks, nodes, sentence_texts, embedder, cache, progress, vectors)
        if vectors is not None and embedder is not None:  # another vector backend: synced before the swap
            vectors.write(corpus, chunks, _embedder_call(embedder, cache, progress), dim)
        save_sentences(tmp, sentence_spans, sentence_vecs)
        manifest = {
            "format": INDEX_FORMAT,
            "embed_model": embed_model,
            "embed_identity": getattr(embedder, "identity", "bm25"),
            "dim": dim,
            "chunks": len(chunks),
            "reports": {r.id: report_hash(r) for r in corpus.reports},
            "corpus_sha256": hashlib.sha256((tmp / "corpus.json").read_bytes()).hexdigest(),
            "built": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        if vectors is not None and embedder is not None:
            manifest["vectors"] = vectors.manifest()  # which backend/URI/collection holds this generation's vectors
        (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        (tmp / OWNER).unlink()
        os.replace(tmp, gen)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    pointer = index_dir / (CURRENT + ".tmp")
    pointer.write_text(gen.name, encoding="utf-8")
    os.replace(pointer, index_dir / CURRENT)
    _prune(index_dir, keep=gen.name)
    return gen


def _embedder_call(embedder, cache, progress):
    if cache is not None:
        return lambda t: cache.embed(t, embedder, progress=progress)
    return lambda t: embedder.embed_passages(t, progress)


def _embed_generation(
    tmp: Path, chunks: list[Chunk], nodes, sentence_texts: list[str], embedder, cache, progress, vectors=None
) -> tuple[int | None, np.ndarray | None]:
    """Embed the chunks (written to tmp/vectors.faiss unless a `vectors` sink holds them) and the sentences:
    (dim, sentence vectors), or Nones for BM25."""
    if embedder is None:
        return None, None
    embed = _embedder_call(embedder, cache, progress)
    if vectors is not None:  # the sink embeds (through the cache) only the chunks of reports that changed
        dim = int(embedder.dim)
    else:
        vecs = np.asarray(embed([c.embed_text for c in chunks]), dtype=np.float32)
        dim = int(vecs.shape[1]) if len(vecs) else embedder.dim
        _write_faiss(vecs, dim, nodes, tmp / "vectors.faiss")
    return dim, np.asarray(embed(sentence_texts), dtype=np.float32).reshape(-1, dim)


def _write_faiss(vecs: np.ndarray, dim: int, nodes, path: Path) -> None:
    import faiss
    from llama_index.vector_stores.faiss import FaissVectorStore

    store = FaissVectorStore(faiss_index=faiss.IndexFlatIP(dim))
    for node, vec in zip(nodes, vecs):
        node.embedding = vec.tolist()
    store.add(nodes)
    store.persist(persist_path=str(path))


def _prune(index_dir: Path, keep: str) -> None:
    """Remove finished generations older than `keep` and the KEEP_PREVIOUS before it; never a .partial folder."""
    done = sorted(
        (
            p
            for p in index_dir.iterdir()
            if p.is_dir() and p.name.startswith("gen-") and not p.name.endswith(PARTIAL) and p.name != keep
        ),
        key=lambda p: p.stat().st_mtime,
    )
    for p in done[: max(0, len(done) - KEEP_PREVIOUS)]:
        shutil.rmtree(p, ignore_errors=True)


def partial_is_dead(folder: Path, grace: float = 60.0) -> bool:
    """True when the build writing `folder` provably ended: its owner pid is not alive (or not this process's
    build any more: our own pid names a build of ours that failed). A folder without an owner record (an
    older version's, or one created a moment ago) counts as dead only after `grace` seconds."""
    from rag.index.lock import pid_alive

    try:
        owner = json.loads((folder / OWNER).read_text(encoding="utf-8"))
        pid = int(owner["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        try:
            return time.time() - folder.stat().st_mtime > grace
        except OSError:
            return False
    return not pid_alive(pid)


def remove_dead_partials(index_dir: Path) -> list[Path]:
    """Remove the .partial folders of builds that died (killed, crashed); a live build's folder is left alone."""
    removed = []
    for p in Path(index_dir).glob("gen-*" + PARTIAL):
        if p.is_dir() and partial_is_dead(p):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed


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
    from ingest.model import Chunk as _Chunk

    try:
        manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("format") != INDEX_FORMAT:
            raise IndexError_(
                f"index format {manifest.get('format')} is not {INDEX_FORMAT}",
                fix="rebuild: govqa index",
                path=str(gen),
            )
        corpus = load_corpus(gen / "corpus.json")
        chunks = []
        with open(gen / "nodes.jsonl", encoding="utf-8") as f:
            for line in f:
                d = json.loads(line)
                m = d["metadata"]
                chunks.append(_Chunk(m["report_id"], m["paragraph"], m["part"], d["text"], m["header"]))
        chunk_tokens = json.loads((gen / "tokens.json").read_text(encoding="utf-8"))
        vectors: VectorSearch | None = None
        if manifest.get("vectors", {}).get("backend") == "milvus":  # GOVQA_VECTOR_STORE=milvus built it
            from rag.index.milvus_search import open_milvus_vectors

            vectors = open_milvus_vectors(manifest["vectors"], chunks, manifest["dim"], gen)
        elif manifest.get("dim"):
            import faiss  # the file FaissVectorStore.persist wrote; read directly: importing llama-index costs seconds

            vectors = FaissVectors(faiss.read_index(str(gen / "vectors.faiss")))
        sentences = load_sentences(gen)
        if not gen.is_dir():  # pruned while it was read: what was read may be incomplete
            raise FileNotFoundError(f"{gen} was removed while it was read")
    except IndexError_:
        raise
    except (OSError, ValueError, KeyError, RuntimeError) as e:  # faiss raises RuntimeError on a bad file
        raise IndexError_(
            f"index generation {gen.name} is unreadable ({e})", fix="rebuild: govqa index", path=str(gen)
        ) from e
    if len(chunks) != manifest["chunks"] or (vectors is not None and vectors.ntotal != len(chunks)):
        raise IndexError_(f"index generation {gen.name} is inconsistent", fix="rebuild: govqa index", path=str(gen))
    return LoadedIndex(gen, manifest, corpus, chunks, vectors, KeywordIndex(chunk_tokens), sentences)
