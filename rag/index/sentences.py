"""Sentences of the indexed paragraphs: the unit an answer quotes, with one vector each.

Like llama-index's SentenceWindowNodeParser, every paragraph is also split into sentences, and each
sentence is embedded when the index is built (through the same embedding cache, by content hash),
so that an answer can weigh each sentence of the retrieved paragraphs against the question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_SENT = re.compile(r"[^。！？!?]*[。！？!?]?[”’」』）)]*")
_CLAUSE = re.compile(r"[^；;]*[；;]?")
MIN_CHARS = 4  # a shorter piece ("一是" …) is not a sentence of its own
MAX_CHARS = 160  # a longer sentence is cut at its semicolons into pieces of at most about this size


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) spans of the sentences of a paragraph (ends at 。！？；, closing quotes kept)."""
    spans = []
    for m in _SENT.finditer(text):
        for start, end in _pieces(text, m.start(), m.end()):
            while start < end and text[start].isspace():
                start += 1
            if end - start >= MIN_CHARS:
                spans.append((start, end))
    return spans


def _pieces(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """A sentence, or for a long one, runs of its semicolon clauses of at most about MAX_CHARS."""
    if end - start <= MAX_CHARS:
        return [(start, end)]
    out: list[tuple[int, int]] = []
    run = start
    for m in _CLAUSE.finditer(text, start, end):
        if m.end() - run > MAX_CHARS and m.start() > run:
            out.append((run, m.start()))
            run = m.start()
    out.append((run, end))
    return out


@dataclass
class SegmentSentences:
    """One segment's sentences: those of paragraph slot s (report base + number - 1) are rows ptr[s]:ptr[s+1]."""

    ptr: np.ndarray  # int64 (slots + 1)
    start: np.ndarray  # int32 per sentence: its span in the paragraph text
    end: np.ndarray
    vectors: np.ndarray | None  # float16 (sentences, dim), memory-mapped; None in BM25-only mode


class RowStack:
    """Several row arrays read as one: `stack[i]` and `stack[array_of_rows]` like a numpy array's rows."""

    def __init__(self, parts: list[np.ndarray]):
        self.parts = parts
        self.offsets = np.cumsum([0] + [len(p) for p in parts])
        self.shape = (int(self.offsets[-1]), *parts[0].shape[1:]) if parts else (0,)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows):
        if isinstance(rows, (int, np.integer)):
            seg = int(np.searchsorted(self.offsets, rows, side="right")) - 1
            return self.parts[seg][int(rows) - int(self.offsets[seg])]
        rows = np.asarray(rows, dtype=np.int64)
        seg = np.searchsorted(self.offsets, rows, side="right") - 1
        out = np.empty((len(rows), *self.shape[1:]), dtype=self.parts[0].dtype)
        for s in np.unique(seg):
            mask = seg == s
            out[mask] = self.parts[s][rows[mask] - self.offsets[s]]
        return out


class SentenceTable:
    """Sentence spans of every indexed paragraph of a generation and, when a model is used, their vectors.

    Rows are the generation's sentence rows (the segments' rows one after the other). `where` maps a live report
    id to (segment number, the report's first paragraph slot in it, its number of paragraphs).
    """

    def __init__(self, parts: list[SegmentSentences], where: dict[str, tuple[int, int, int]]):
        self.parts = parts
        self.where = where
        self.offsets = np.cumsum([0] + [len(p.start) for p in parts])
        with_vectors = [p.vectors for p in parts if p.vectors is not None]
        self.vectors: np.ndarray | RowStack | None = None
        if parts and len(with_vectors) == len(parts):
            self.vectors = with_vectors[0] if len(parts) == 1 else RowStack(with_vectors)

    def _range(self, report_id: str, first: int, last: int) -> tuple[int, int, int]:
        """(segment, local row range) of the sentences of paragraphs first..last (numbers) of a report."""
        seg, base, _ = self.where[report_id]
        ptr = self.parts[seg].ptr
        return seg, int(ptr[base + first - 1]), int(ptr[base + last])

    def of(self, paragraph_id: str) -> list[tuple[int, int, int]]:
        """(row, start, end) of the sentences of one paragraph ("保定-2023-p5"); [] when it is not indexed."""
        report_id, number = paragraph_id.rsplit("-p", 1)
        if report_id not in self.where:
            return []
        seg, lo, hi = self._range(report_id, int(number), int(number))
        part, off = self.parts[seg], int(self.offsets[seg])
        return [(off + r, int(part.start[r]), int(part.end[r])) for r in range(lo, hi)]

    def report_rows(self, report_id: str) -> np.ndarray:
        """The rows of every sentence of a report."""
        if report_id not in self.where:
            return np.zeros(0, np.int64)
        seg, lo, hi = self._range(report_id, 1, self.where[report_id][2])
        return np.arange(lo, hi, dtype=np.int64) + int(self.offsets[seg])

    def cosine(self, qvec: np.ndarray | None, row: int) -> float | None:
        if qvec is None or self.vectors is None:
            return None
        return float(np.dot(self.vectors[row].astype(np.float32), qvec))


def segment_sentences(reports, indexed: set[tuple[int, int]]) -> tuple[list[str], SegmentSentences]:
    """The sentence texts to embed (row order) and the spans of the indexed (report position, number) paragraphs."""
    texts: list[str] = []
    ptr, start, end = [0], [], []
    for ri, report in enumerate(reports):
        for p in report.paragraphs:
            if (ri, p.number) in indexed:
                for s, e in split_sentences(p.text):
                    start.append(s)
                    end.append(e)
                    texts.append(p.text[s:e])
            ptr.append(len(texts))
    table = SegmentSentences(np.array(ptr, np.int64), np.array(start, np.int32), np.array(end, np.int32), None)
    return texts, table


def paragraph_sentences(corpus, paragraph_ids: list[str]) -> tuple[list[str], dict[str, list[tuple[int, int, int]]]]:
    """The texts to embed (in row order) and the spans table for the given paragraphs."""
    texts: list[str] = []
    spans: dict[str, list[tuple[int, int, int]]] = {}
    by_report = {r.id: r for r in corpus.reports}
    for pid in paragraph_ids:
        report_id, number = pid.rsplit("-p", 1)
        text = by_report[report_id].paragraph(int(number)).text
        rows = []
        for start, end in split_sentences(text):
            rows.append((len(texts), start, end))
            texts.append(text[start:end])
        spans[pid] = rows
    return texts, spans


def save_sentences(folder: Path, table: SegmentSentences, vectors: np.ndarray | None) -> None:
    np.savez(folder / "sentences.npz", ptr=table.ptr, start=table.start, end=table.end)
    if vectors is not None:
        np.save(folder / "sentences.npy", np.asarray(vectors, dtype=np.float16))


def load_sentences(folder: Path) -> SegmentSentences:
    """A segment's sentences, their vectors memory-mapped (read from disk as they are used)."""
    with np.load(folder / "sentences.npz") as z:
        ptr, start, end = z["ptr"], z["start"], z["end"]
    npy = folder / "sentences.npy"
    vectors = np.load(npy, mmap_mode="r") if npy.exists() else None
    return SegmentSentences(ptr, start, end, vectors)
