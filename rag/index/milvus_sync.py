"""Syncing the Milvus collection with an index generation's chunks, report by report (GOVQA_VECTOR_STORE=milvus).

Each report's rows are written only when its state (its content hash, the row schema and the embedding model's
identity) differs from the one `<collection>_reports` records; removed reports' rows are deleted. The
collection is never dropped or rewritten for one report. build_index calls MilvusSink.write under the writer lock,
before the new generation becomes current (the FAISS segments are written as well: a fallback, and cheap).
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
LOAD_REPORTS = 50  # reports read in full at a time while syncing


def report_state(content_hash: str, identity: str) -> str:
    """What a report's rows hold: its content hash (store.report_hash: metadata and paragraphs, hence its chunks),
    the row schema and the embedding model's identity."""
    return hashlib.sha256(f"{SCHEMA_VERSION}\x00{identity}\x00{content_hash}".encode()).hexdigest()


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
    hashes: dict[str, str],
    load: Callable[[list[str]], list[Report]],
    embed: Callable[[list[str]], np.ndarray],
    dim: int,
    identity: str,
    client=None,
) -> SyncResult:
    """Bring the collection in line with the generation's reports (`hashes`: report id -> content hash), changing
    only what differs.

    `load(ids)` reads reports in full (only those to write are asked for); `embed(texts)` gives the vectors (through
    the embedding cache). A changed report's new rows are upserted before its stale rows are deleted, so a reader
    never finds it empty; a report's state is written after its rows, so an interrupted sync redoes that report.
    """
    from rag.index.store import corpus_chunks

    client = client if client is not None else connect(target)
    ensure_collections(client, target, dim)
    want = {rid: report_state(h, identity) for rid, h in hashes.items()}
    have = stored_states(client, target)
    removed = sorted(set(have) - set(want))
    for i in range(0, len(removed), 200):
        part = removed[i : i + 200]
        client.delete(target.collection, filter=f"{REPORT_FIELD} in {_quoted(part)}")
        client.delete(target.states, ids=part)
    changed = [rid for rid in want if have.get(rid) != want[rid]]
    written = 0
    for i in range(0, len(changed), LOAD_REPORTS):
        reports = load(changed[i : i + LOAD_REPORTS])
        by_report: dict[str, list[Chunk]] = {r.id: [] for r in reports}
        for c in corpus_chunks(Corpus(reports=reports)):
            by_report[c.report_id].append(c)
        for report in reports:
            written += _write_report(client, target, report, by_report[report.id], embed, dim, report.id in have)
            client.upsert(
                target.states,
                [
                    {
                        REPORT_FIELD: report.id,
                        "state": want[report.id],
                        "rows": len(by_report[report.id]),
                        "v": [0.0, 0.0],
                    }
                ],
            )
    if removed or changed:
        client.flush(target.collection)
        client.flush(target.states)
    return SyncResult(changed, removed, written)


def _write_report(client, target: MilvusTarget, report: Report, cs: list[Chunk], embed, dim: int, known: bool) -> int:
    """Upsert one report's rows; a replaced report's chunk ids the new version lacks are deleted after."""
    rid = report.id
    if not known:  # never completely written: clear whatever a broken earlier sync left
        client.delete(target.collection, filter=f"{REPORT_FIELD} == {_quoted([rid])[1:-1]}")
    vecs = np.asarray(embed([c.embed_text for c in cs]), dtype=np.float32).reshape(len(cs), dim)
    rows = _rows(report, cs, vecs)
    for j in range(0, len(rows), BATCH_ROWS):
        client.upsert(target.collection, rows[j : j + BATCH_ROWS])
    if known:  # replaced: drop the chunk ids the new version no longer has
        new_ids = {c.id for c in cs}
        old = client.query(
            target.collection, filter=f"{REPORT_FIELD} == {_quoted([rid])[1:-1]}", output_fields=[ID_FIELD], limit=16384
        )
        stale = [r[ID_FIELD] for r in old if r[ID_FIELD] not in new_ids]
        if stale:
            client.delete(target.collection, ids=stale)
    return len(rows)


class MilvusSink:
    """What build_index writes the chunk vectors through instead of vectors.faiss (GOVQA_VECTOR_STORE=milvus)."""

    def __init__(self, target: MilvusTarget, identity: str, data_dir: Path | None = None):
        self.target, self.identity, self.data_dir = target, identity, data_dir
        self.result: SyncResult | None = None

    def write(
        self,
        hashes: dict[str, str],
        load: Callable[[list[str]], list[Report]],
        embed: Callable[[list[str]], np.ndarray],
        dim: int,
    ) -> None:
        self.result = sync(self.target, hashes, load, embed, dim, self.identity)

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
