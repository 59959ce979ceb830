"""The on-disk index: generations (a manifest naming immutable segments), written incrementally, switched atomically.

An ingest writes one new segment holding only its new or changed reports (rag.index.segment), then a new
generation folder whose manifest names the segments in use and the live reports of each; CURRENT is swapped
to it atomically. Older generations are pruned (KEEP_PREVIOUS kept), then segments no generation names.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict
from functools import lru_cache
from pathlib import Path

import numpy as np

from ingest import chunk_report
from ingest.errors import IndexError_
from ingest.model import Chunk, Corpus, Report
from ingest.store import save_corpus
from rag.index.bm25 import Postings
from rag.index.generation import (
    CURRENT,
    INDEX_FORMAT,
    LoadedIndex,
    current_generation,
    generation_corpus,
    load_index,
)
from rag.index.segment import SEGMENT_FORMAT, chunk_arrays, report_chunks, to_compact
from rag.index.sentences import save_sentences, segment_sentences
from rag.index.tokenize import tokens

__all__ = [
    "CURRENT",
    "INDEX_FORMAT",
    "LoadedIndex",
    "build_index",
    "current_generation",
    "generation_corpus",
    "load_index",
]

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


def _stamp(kind: str) -> str:
    return f"{kind}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}-{time.perf_counter_ns() % 10**6:06d}"


def _partial(index_dir: Path, name: str) -> Path:
    tmp = index_dir / (name + PARTIAL)
    tmp.mkdir()
    (tmp / OWNER).write_text(json.dumps({"pid": os.getpid(), "started": time.time()}), encoding="utf-8")
    return tmp


def _finish(tmp: Path) -> Path:
    (tmp / OWNER).unlink()
    final = tmp.with_name(tmp.name[: -len(PARTIAL)])
    os.replace(tmp, final)
    return final


def current_manifest(index_dir: Path) -> tuple[Path | None, dict]:
    """The current generation and its manifest, or (None, {}) when there is no readable one."""
    try:
        gen = current_generation(index_dir)
        return gen, json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
    except (IndexError_, OSError, ValueError):
        return None, {}


def _reusable(index_dir: Path, embed_model: str, identity: str) -> dict:
    """The current generation's manifest when its segments can be reused (same format and model), else {}."""
    _, manifest = current_manifest(index_dir)
    same = manifest.get("embed_model") == embed_model and manifest.get("embed_identity") == identity
    return manifest if manifest.get("format") == INDEX_FORMAT and same else {}


def build_index(
    corpus: Corpus,
    index_dir: Path,
    embed_model: str,
    embedder=None,
    cache=None,
    progress=False,
    hashes: dict[str, str] | None = None,
    full_reports: Callable[[list[str]], list[Report]] | None = None,
    vectors=None,
    compact: bool = False,
    max_segments: int = 0,
) -> Path:
    """Write a new index generation for `corpus` and switch to it atomically; returns the generation path.

    Only the reports that are new or changed since the current generation (same model) are written, into one
    new segment; the others stay in their segments, and reports gone from `corpus` are masked. `hashes` gives
    the content hash of reports passed without their paragraphs (the catalogue of record), `full_reports`
    reads such reports in full when they must be written (another model, or no usable generation).
    `embedder` is None only for embed_model "bm25". `cache` (an EmbeddingCache) makes unchanged chunks cost
    nothing to re-embed. An interrupted build leaves the previous generation current. `vectors`: another backend
    synced with the generation's reports before the swap (rag.index.milvus_sync.MilvusSink), besides the segments.
    `compact` (or more than `max_segments` segments, when set) also rewrites the reports of small or mostly masked
    segments into the new segment (rag.index.segment.to_compact); their vectors come from `cache`.
    """
    index_dir = Path(index_dir)
    index_dir.mkdir(parents=True, exist_ok=True)
    remove_dead_partials(index_dir)
    hashes = hashes or {}
    current = _reusable(index_dir, embed_model, getattr(embedder, "identity", "bm25"))
    where = {rid: seg["name"] for seg in current.get("segments", []) for rid in seg["reports"]}
    old_hash = current.get("reports", {})
    wanted = {r.id: (hashes[r.id] if not r.paragraphs and r.id in hashes else report_hash(r)) for r in corpus.reports}
    stale = [r for r in corpus.reports if r.id not in where or old_hash.get(r.id) != wanted[r.id]]
    if compact or 0 < max_segments <= len(current.get("segments", [])):
        ids = {r.id for r in stale}
        merged = to_compact(index_dir, current.get("segments", []), ids)
        stale = [r for r in corpus.reports if r.id in ids or where.get(r.id) in merged]
    light = [r.id for r in stale if not r.paragraphs and r.id in hashes]
    if light:
        if full_reports is None:
            raise IndexError_("reports to index have no text", fix="rebuild: govqa index", path=str(index_dir))
        loaded = {r.id: r for r in full_reports(light)}
        stale = [loaded.get(r.id, r) for r in stale]
    segments = []
    for seg in current.get("segments", []):
        live = [rid for rid in seg["reports"] if rid in wanted and rid not in {r.id for r in stale}]
        if live:
            segments.append({"name": seg["name"], "reports": live})
    dim = current.get("dim")
    if stale:
        name, dim = write_segment(index_dir, stale, embed_model, embedder, cache, progress)
        segments.append({"name": name, "reports": [r.id for r in stale]})
    elif embedder is not None and dim is None:
        dim = embedder.dim
    tmp = _partial(index_dir, _stamp("gen"))
    try:
        catalogue = {"listed": [asdict(x) for x in corpus.listed], "problems": [asdict(x) for x in corpus.problems]}
        (tmp / "catalogue.json").write_text(json.dumps(catalogue, ensure_ascii=False), encoding="utf-8")
        manifest = {
            "format": INDEX_FORMAT,
            "embed_model": embed_model,
            "embed_identity": getattr(embedder, "identity", "bm25"),
            "dim": dim if embedder is not None else None,
            "chunks": sum(_segment_chunks(index_dir / s["name"], s["reports"]) for s in segments),
            "reports": wanted,
            "segments": segments,
            "corpus_sha256": hashlib.sha256(json.dumps([wanted, catalogue], ensure_ascii=False).encode()).hexdigest(),
            "built": time.strftime("%Y-%m-%dT%H:%M:%S"),
        }
        if vectors is not None and embedder is not None and dim is not None:
            written = {r.id: r for r in stale}

            def load(ids: list[str]) -> list[Report]:
                rest = [i for i in ids if i not in written]
                if full_reports is not None and rest:
                    written.update({r.id: r for r in full_reports(rest)})
                elif rest:
                    written.update({r.id: r for r in corpus.reports if r.id in set(rest)})
                return [written[i] for i in ids]

            vectors.write(wanted, load, _embedder_call(embedder, cache, progress), dim)
            manifest["vectors"] = vectors.manifest()  # which backend/URI/collection holds this generation's vectors
        (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        gen = _finish(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    pointer = index_dir / (CURRENT + ".tmp")
    pointer.write_text(gen.name, encoding="utf-8")
    os.replace(pointer, index_dir / CURRENT)
    _prune(index_dir, keep=gen.name)
    return gen


def _segment_chunks(folder: Path, report_ids: list[str]) -> int:
    counts = report_chunks(folder)
    return sum(counts[r] for r in report_ids)


def write_segment(index_dir: Path, reports: list[Report], embed_model: str, embedder, cache, progress) -> tuple:
    """Write the reports' segment (chunks, BM25 postings, vectors, sentences); returns (its name, vector dim)."""
    chunks = corpus_chunks(Corpus(reports=reports))
    tmp = _partial(index_dir, _stamp("seg"))
    try:
        save_corpus(Corpus(reports=reports), tmp / "corpus.json")
        np.savez(tmp / "chunks.npz", **chunk_arrays(reports, chunks))  # type: ignore[arg-type]  # numpy stub: **kwds are arrays
        Postings.build(_chunk_tokens(chunks)).save(tmp)
        index = {r.id: i for i, r in enumerate(reports)}
        indexed = {(index[c.report_id], c.paragraph) for c in chunks}
        sentence_texts, sentences = segment_sentences(reports, indexed)
        dim, sentence_vecs = _embed_segment(tmp, chunks, sentence_texts, embedder, cache, progress)
        save_sentences(tmp, sentences, sentence_vecs)
        counts = {r.id: 0 for r in reports}
        for c in chunks:
            counts[c.report_id] += 1
        manifest = {"format": SEGMENT_FORMAT, "embed_model": embed_model, "dim": dim, "chunks": len(chunks)}
        manifest["corpus_sha256"] = hashlib.sha256((tmp / "corpus.json").read_bytes()).hexdigest()
        manifest |= {"embed_identity": getattr(embedder, "identity", "bm25"), "report_chunks": counts}
        (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        return _finish(tmp).name, dim
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@lru_cache(maxsize=100_000)
def _cut(text: str) -> tuple[str, ...]:
    return tuple(tokens(text))


def _chunk_tokens(chunks: list[Chunk]) -> list[list[str]]:
    """tokens(c.embed_text) of every chunk; header and text are cut apart (jieba splits at the newline between
    them anyway), each distinct string once (texts seen by recent builds of this process are remembered)."""
    return [[*_cut(c.header), *_cut(c.text)] if c.header else list(_cut(c.text)) for c in chunks]


def _embed_segment(
    tmp: Path, chunks: list[Chunk], sentence_texts: list[str], embedder, cache, progress
) -> tuple[int | None, np.ndarray | None]:
    """Embed the chunks (written to tmp/vectors.faiss) and the sentences: (dim, sentence vectors), or Nones for BM25."""
    if embedder is None:
        return None, None
    texts = [c.embed_text for c in chunks]
    embed = _embedder_call(embedder, cache, progress)
    vecs = np.asarray(embed(texts), dtype=np.float32)
    dim = int(vecs.shape[1]) if len(vecs) else embedder.dim
    _write_faiss(vecs.reshape(-1, dim), dim, tmp / "vectors.faiss")
    return dim, np.asarray(embed(sentence_texts), dtype=np.float32).reshape(-1, dim)


def _embedder_call(embedder, cache, progress):
    if cache is not None:
        return lambda t: cache.embed(t, embedder, progress=progress)
    return lambda t: embedder.embed_passages(t, progress)


FP16_FROM = 20_000  # a segment of at least this many chunks keeps float16 vectors (FAISS SQfp16)


def _write_faiss(vecs: np.ndarray, dim: int, path: Path) -> None:
    """Exact inner-product index of the vectors: IndexFlatIP, or for a large segment IndexScalarQuantizer fp16
    (half the bytes to read per unfiltered search, measured 3x faster at 120k rows; scores within 1e-4)."""
    import faiss

    index: faiss.Index = faiss.IndexFlatIP(dim)
    if len(vecs) >= FP16_FROM:
        index = faiss.IndexScalarQuantizer(dim, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
    index.add(np.ascontiguousarray(vecs, dtype=np.float32))
    faiss.write_index(index, str(path))


def _prune(index_dir: Path, keep: str) -> None:
    """Remove finished generations older than `keep` and the KEEP_PREVIOUS before it, then the segments no
    remaining generation names; never a .partial folder."""
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
    used: set[str] = set()
    for gen in index_dir.glob("gen-*"):
        try:
            manifest = json.loads((gen / "manifest.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        used.update(s["name"] for s in manifest.get("segments", []))
    for seg in index_dir.glob("seg-*"):
        if seg.is_dir() and not seg.name.endswith(PARTIAL) and seg.name not in used:
            shutil.rmtree(seg, ignore_errors=True)


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
    for p in Path(index_dir).glob("*" + PARTIAL):
        if p.is_dir() and partial_is_dead(p):
            shutil.rmtree(p, ignore_errors=True)
            removed.append(p)
    return removed
