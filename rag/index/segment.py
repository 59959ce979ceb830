"""Index segments: the immutable pieces a generation is made of, and how a generation lays their live rows out.

A segment folder (``seg-…``) holds the reports one ingest wrote (corpus.json), their chunks (chunks.npz: report,
paragraph, part and the chunk's span in its paragraph), BM25 postings, FAISS vectors and sentences. It is never
changed after it is written; a generation names the segments it uses and, for each, the reports still live in it
(a report removed or replaced later is masked, not rewritten). Loaded segments are shared within a process, so
loading a new generation reads only the segments it does not have yet.
"""

from __future__ import annotations

import bisect
import json
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.chunking import chunk_header
from ingest.model import Chunk, Corpus, Report
from ingest.store import load_corpus
from rag.index.bm25 import Postings
from rag.index.sentences import SegmentSentences, load_sentences
from rag.index.vectors import FaissVectors

SEGMENT_FORMAT = 1


@dataclass(eq=False)
class Segment:
    """One loaded segment (immutable; shared by the generations of a process that use it)."""

    path: Path
    manifest: dict
    reports: list[Report]
    report: np.ndarray  # int32 per chunk row: the report's position in `reports`
    paragraph: np.ndarray  # int32 paragraph number
    part: np.ndarray  # int16 part within the paragraph
    start: np.ndarray  # int32 span of the chunk text in its paragraph text
    end: np.ndarray
    postings: Postings
    terms: dict[str, int]
    vectors: FaissVectors | None
    sentences: SegmentSentences
    slot_base: np.ndarray  # int64 per report: its first paragraph slot (see SegmentSentences)

    @property
    def name(self) -> str:
        return self.path.name

    def report_rows(self) -> dict[str, tuple[int, int]]:
        """report id -> (first, end) chunk rows (a report's chunks are contiguous)."""
        bounds = np.searchsorted(self.report, np.arange(len(self.reports) + 1))
        return {r.id: (int(bounds[i]), int(bounds[i + 1])) for i, r in enumerate(self.reports)}


_loaded: weakref.WeakValueDictionary[str, Segment] = weakref.WeakValueDictionary()
_loading = threading.Lock()


def load_segment(path: Path) -> Segment:
    """The segment at `path`, read once per process while any loaded generation still uses it."""
    key = str(Path(path).resolve())
    with _loading:
        seg = _loaded.get(key)
        if seg is None:
            seg = _read_segment(Path(path))
            _loaded[key] = seg
        return seg


def _read_segment(path: Path) -> Segment:
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    if manifest.get("format") != SEGMENT_FORMAT:
        raise ValueError(f"segment format {manifest.get('format')} is not {SEGMENT_FORMAT}")
    reports = _shared_strings(load_corpus(path / "corpus.json").reports)
    with np.load(path / "chunks.npz") as z:
        arrays = {k: z[k] for k in ("report", "paragraph", "part", "start", "end")}
    vectors = None
    if manifest.get("dim"):
        import faiss  # read directly: importing llama-index costs seconds

        # memory-mapped: pages are read (and shared, and reclaimable) as searches touch them
        vectors = FaissVectors(faiss.read_index(str(path / "vectors.faiss"), faiss.IO_FLAG_MMAP_IFC))
    postings = Postings.load(path)
    slot_base = np.cumsum([0] + [len(r.paragraphs) for r in reports])[:-1].astype(np.int64)
    seg = Segment(
        path, manifest, reports, **arrays, postings=postings, terms=postings.term_index(), vectors=vectors,
        sentences=load_sentences(path), slot_base=slot_base,
    )  # fmt: skip
    if len(seg.report) != manifest["chunks"] or (vectors is not None and vectors.ntotal != len(seg.report)):
        raise ValueError(f"segment {path.name} is inconsistent")
    return seg


def _shared_strings(reports: list[Report]) -> list[Report]:
    """The reports with one string object per distinct report id, section and kind of their paragraphs (a
    million paragraphs otherwise hold a million copies of each: ~200 MB at 10,000 reports)."""
    memo: dict[str, str] = {}
    for r in reports:
        for p in r.paragraphs:
            for name in ("report_id", "section", "kind"):
                value = getattr(p, name)
                object.__setattr__(p, name, memo.setdefault(value, value))  # frozen dataclass: same value
    return reports


class Layout:
    """Where a generation's chunks are: the live rows of its segments, numbered 0.. in segment order.

    Position p is row local[s][p - base[s]] of segment s; a report's chunks take consecutive positions.
    """

    def __init__(self, segments: list[Segment], live_reports: list[list[str]]):
        self.segments = segments
        self.base: list[int] = []
        self.live: list[np.ndarray] = []  # per segment: its live local rows, ascending
        self.to_pos: list[np.ndarray] = []  # per segment: local row -> position, -1 when masked
        self.report_span: dict[str, tuple[int, int]] = {}  # live report id -> (first, end) positions
        self.report_at: dict[str, tuple[int, int]] = {}  # live report id -> (segment, report index in it)
        total = 0
        for s, (seg, ids) in enumerate(zip(segments, live_reports)):
            rows = seg.report_rows()
            index = {r.id: i for i, r in enumerate(seg.reports)}
            spans = sorted((rows[rid], rid) for rid in ids)
            live = np.concatenate([np.arange(a, b) for (a, b), _ in spans]) if spans else np.zeros(0, np.int64)
            to_pos = np.full(len(seg.report), -1, dtype=np.int64)
            to_pos[live] = np.arange(total, total + len(live))
            first = total
            for (a, b), rid in spans:
                self.report_span[rid] = (first, first + b - a)
                self.report_at[rid] = (s, index[rid])
                first += b - a
            self.base.append(total)
            self.live.append(live.astype(np.int64))
            self.to_pos.append(to_pos)
            total += len(live)
        self.size = total

    def rows_of(self, report_ids) -> np.ndarray:
        """The positions of the given reports' chunks, ascending (unknown ids have none)."""
        wanted = set(report_ids)
        if len(wanted) == len(self.report_span) and wanted.issuperset(self.report_span):  # every report
            return np.arange(self.size, dtype=np.int64)
        spans = sorted(self.report_span[r] for r in wanted if r in self.report_span)
        if not spans:
            return np.zeros(0, np.int64)
        return np.concatenate([np.arange(a, b, dtype=np.int64) for a, b in spans])

    def locate(self, pos: int) -> tuple[Segment, int]:
        s = bisect.bisect_right(self.base, pos) - 1
        if pos < 0 or pos >= self.size:
            raise IndexError(pos)
        return self.segments[s], int(self.live[s][pos - self.base[s]])


class ChunkList(Sequence[Chunk]):
    """The generation's chunks by position, made on demand from the segments' arrays (no per-chunk objects kept)."""

    def __init__(self, layout: Layout):
        self.layout = layout

    def __len__(self) -> int:
        return self.layout.size

    def __getitem__(self, pos):  # positions; a slice gives a list
        if isinstance(pos, slice):
            return [self[i] for i in range(*pos.indices(len(self)))]
        seg, row = self.layout.locate(int(pos))
        report = seg.reports[int(seg.report[row])]
        para = report.paragraph(int(seg.paragraph[row]))
        text = para.text[int(seg.start[row]) : int(seg.end[row])]
        return Chunk(report.id, para.number, int(seg.part[row]), text, chunk_header(report, para.section))

    def report_id(self, pos: int) -> str:
        seg, row = self.layout.locate(int(pos))
        return seg.reports[int(seg.report[row])].id

    def paragraph_key(self, pos: int) -> tuple[str, int]:
        """(report id, paragraph number) of the chunk at `pos`."""
        seg, row = self.layout.locate(int(pos))
        return seg.reports[int(seg.report[row])].id, int(seg.paragraph[row])


def chunk_arrays(reports: list[Report], chunks: list[Chunk]) -> dict[str, np.ndarray]:
    """The chunks.npz arrays of a segment's chunks (each chunk's text must be a span of its paragraph's)."""
    index = {r.id: i for i, r in enumerate(reports)}
    out: dict[str, list[int]] = {k: [] for k in ("report", "paragraph", "part", "start", "end")}
    prev: tuple[str, int] | None = None
    at = 0
    for c in chunks:
        text = reports[index[c.report_id]].paragraph(c.paragraph).text
        if (c.report_id, c.paragraph) != prev:
            prev, at = (c.report_id, c.paragraph), 0
        start = text.find(c.text, at)
        if start < 0:
            raise ValueError(f"chunk {c.id} is not a span of its paragraph")
        at = start + len(c.text)
        for key, value in zip(out, (index[c.report_id], c.paragraph, c.part, start, at)):
            out[key].append(value)
    dtypes = {"part": np.int16}
    return {k: np.array(v, dtype=dtypes.get(k, np.int32)) for k, v in out.items()}


def segment_corpus(reports: list[Report]) -> Corpus:
    return Corpus(reports=list(reports))


def report_chunks(folder: Path) -> dict[str, int]:
    """A segment's chunk count of each report it holds (from its manifest)."""
    return json.loads((Path(folder) / "manifest.json").read_text(encoding="utf-8"))["report_chunks"]


COMPACT_BELOW = 20_000  # live chunks under which a compaction merges a segment (FP16_FROM: one merged stays flat)


def to_compact(index_dir: Path, segments: list[dict], rewritten: set[str]) -> set[str]:
    """The segments a compaction merges into the new segment: those with fewer than COMPACT_BELOW live chunks, or
    with more masked rows than live ones (reports removed or replaced since). `segments` are a generation's
    (name, live reports); reports in `rewritten` go into the new segment anyway. Empty when fewer than two
    pieces would merge (the new segment counts as one)."""
    chosen = set()
    for seg in segments:
        counts = report_chunks(Path(index_dir) / seg["name"])
        live = sum(counts[r] for r in seg["reports"] if r not in rewritten)
        if live < COMPACT_BELOW or sum(counts.values()) > 2 * live:
            chosen.add(seg["name"])
    return chosen if len(chosen) + bool(rewritten) >= 2 else set()
