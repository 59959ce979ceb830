"""Syncing the Milvus collection with an index generation's chunks, report by report (GOVQA_VECTOR_STORE=milvus).

Each report's rows are written only when its state (a hash of its chunk ids and texts, metadata and the embedding
model's identity) differs from the one `<collection>_reports` records; removed reports' rows are deleted. The
collection is never dropped or rewritten for one report. build_index calls MilvusSink.write under the writer lock,
before the new generation becomes current.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.model import Chunk, Corpus, Report
from rag.index.milvus_store import (
    DENSE,
    ID_FIELD,
    MAX_TEXT_BYTES,
    REPORT_FIELD,
    SCHEMA_VERSION,
    TEXT,
    MilvusTarget,
    _quoted,
    connect,
    ensure_collections,
    is_lite,
    stored_states,
)

BATCH_ROWS = 1000  # rows per upsert call


def report_state(report: Report, chunks: Sequence[Chunk], identity: str) -> str:
    """Hash of what a report's rows hold: its metadata, chunk ids and texts, and the embedding model's identity."""
    h = hashlib.sha256(f"{SCHEMA_VERSION}\x00{identity}\x00".encode())
    for part in (report.id, report.region, report.province, report.level, str(report.year)):
        h.update(part.encode() + b"\x00")
    for c in chunks:
        h.update(f"{c.id}\x00{c.embed_text}\x01".encode())
    return h.hexdigest()


def _clip(text: str) -> str:
    data = text.encode("utf-8")
    return text if len(data) < MAX_TEXT_BYTES else data[: MAX_TEXT_BYTES - 4].decode("utf-8", "ignore")


def _rows(report: Report, chunks: Sequence[Chunk], vecs: np.ndarray) -> list[dict]:
    return [
        {
            ID_FIELD: c.id,
            REPORT_FIELD: report.id,
            "region": report.region,
            "province": report.province,
            "level": report.level,
            "year": int(report.year),
            "paragraph": int(c.paragraph),
            TEXT: _clip(c.embed_text),
            DENSE: v.tolist(),
        }
        for c, v in zip(chunks, vecs)
    ]


@dataclass
class SyncResult:
    upserted: list[str]  # reports whose rows were (re)written
    removed: list[str]  # reports whose rows were deleted
    rows: int  # chunk rows written


def sync(
    target: MilvusTarget,
    corpus: Corpus,
    chunks: Sequence[Chunk],
    embed: Callable[[list[str]], np.ndarray],
    dim: int,
    identity: str,
    client=None,
) -> SyncResult:
    """Bring the collection in line with `chunks` (the generation's chunks of `corpus`), changing only what differs.

    `embed(texts)` gives the vectors (through the embedding cache: only changed reports' chunks are asked for).
    A changed report's new rows are upserted before its stale rows are deleted, so a reader never finds it empty;
    a report's state is written after its rows, so an interrupted sync redoes that report next time.
    """
    client = client if client is not None else connect(target)
    ensure_collections(client, target, dim)
    by_report: dict[str, list[Chunk]] = {}
    for c in chunks:
        by_report.setdefault(c.report_id, []).append(c)
    reports = {r.id: r for r in corpus.reports if r.id in by_report}
    want = {rid: report_state(reports[rid], cs, identity) for rid, cs in by_report.items()}
    have = stored_states(client, target)
    removed = sorted(set(have) - set(want))
    for i in range(0, len(removed), 200):
        part = removed[i : i + 200]
        client.delete(target.collection, filter=f"{REPORT_FIELD} in {_quoted(part)}")
        client.delete(target.states, ids=part)
    changed = [rid for rid in want if have.get(rid) != want[rid]]
    written = 0
    for rid in changed:
        report, cs = reports[rid], by_report[rid]
        if rid not in have:  # never completely written: clear whatever a broken earlier sync left
            client.delete(target.collection, filter=f"{REPORT_FIELD} == {_quoted([rid])[1:-1]}")
        vecs = np.asarray(embed([c.embed_text for c in cs]), dtype=np.float32).reshape(len(cs), dim)
        rows = _rows(report, cs, vecs)
        for j in range(0, len(rows), BATCH_ROWS):
            client.upsert(target.collection, rows[j : j + BATCH_ROWS])
        written += len(rows)
        if rid in have:  # replaced: drop the chunk ids the new version no longer has
            new_ids = {c.id for c in cs}
            old = client.query(
                target.collection,
                filter=f"{REPORT_FIELD} == {_quoted([rid])[1:-1]}",
                output_fields=[ID_FIELD],
                limit=16384,
            )
            stale = [r[ID_FIELD] for r in old if r[ID_FIELD] not in new_ids]
            if stale:
                client.delete(target.collection, ids=stale)
        client.upsert(target.states, [{REPORT_FIELD: rid, "state": want[rid], "rows": len(rows), "v": [0.0, 0.0]}])
    if removed or changed:
        client.flush(target.collection)
        client.flush(target.states)
    return SyncResult(changed, removed, written)


class MilvusSink:
    """What build_index writes the chunk vectors through instead of vectors.faiss (GOVQA_VECTOR_STORE=milvus)."""

    def __init__(self, target: MilvusTarget, identity: str, data_dir: Path | None = None):
        self.target, self.identity, self.data_dir = target, identity, data_dir
        self.result: SyncResult | None = None

    def write(self, corpus: Corpus, chunks: Sequence[Chunk], embed: Callable[[list[str]], np.ndarray], dim: int):
        self.result = sync(self.target, corpus, chunks, embed, dim, self.identity)

    def manifest(self) -> dict:
        """The generation manifest's "vectors" entry: backend, URI, collection, and what this build synced."""
        done = self.result or SyncResult([], [], 0)
        entry = {**self.target.manifest(), "synced": {"upserted": len(done.upserted), "removed": len(done.removed)}}
        if self.data_dir is not None and is_lite(self.target.uri):  # a lite file in the data dir: relative to it,
            path = Path(self.target.uri)  # so that a copied or moved data dir keeps finding its own file
            if path.is_relative_to(Path(self.data_dir).resolve()):
                entry["uri"] = str(path.relative_to(Path(self.data_dir).resolve()))
        return entry


def milvus_sink(settings, embedder) -> MilvusSink | None:
    """The sink the settings ask for (GOVQA_VECTOR_STORE=milvus with a dense model), else None (FAISS)."""
    if settings.vector_store != "milvus" or embedder is None:
        return None
    return MilvusSink(MilvusTarget.from_settings(settings), embedder.identity, settings.data_dir)
