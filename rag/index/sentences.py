"""Sentences of the indexed paragraphs: the unit an answer quotes, with one vector each.

Like llama-index's SentenceWindowNodeParser, every paragraph is also split into sentences, and each
sentence is embedded when the index is built (through the same embedding cache, by content hash),
so that an answer can weigh each sentence of the retrieved paragraphs against the question.
"""

from __future__ import annotations

import json
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
class SentenceTable:
    """Sentence spans per paragraph id ("保定-2023-p5") and, when a model is used, their vectors (row order)."""

    spans: dict[str, list[tuple[int, int, int]]]  # paragraph id -> [(row, start, end), ...]
    vectors: np.ndarray | None  # float16 (rows, dim), or None in BM25-only mode

    def of(self, paragraph_id: str) -> list[tuple[int, int, int]]:
        return self.spans.get(paragraph_id, [])

    def cosine(self, qvec: np.ndarray | None, row: int) -> float | None:
        if qvec is None or self.vectors is None:
            return None
        return float(np.dot(self.vectors[row].astype(np.float32), qvec))


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


def save_sentences(folder: Path, spans: dict, vectors: np.ndarray | None) -> None:
    (folder / "sentences.json").write_text(json.dumps(spans, ensure_ascii=False), encoding="utf-8")
    if vectors is not None:
        np.save(folder / "sentences.npy", np.asarray(vectors, dtype=np.float16))


def load_sentences(folder: Path) -> SentenceTable | None:
    """The generation's sentence table (None for an index built before sentences were indexed)."""
    path = folder / "sentences.json"
    if not path.exists():
        return None
    raw = json.loads(path.read_text(encoding="utf-8"))
    spans = {pid: [tuple(r) for r in rows] for pid, rows in raw.items()}
    npy = folder / "sentences.npy"
    vectors = np.load(npy, mmap_mode="r") if npy.exists() else None
    return SentenceTable(spans, vectors)
