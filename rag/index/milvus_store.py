"""Milvus as the vector backend (GOVQA_VECTOR_STORE=milvus): connect, keep the collection, sync it report by report.

A file URI ending in .db runs milvus-lite inside the process (pymilvus starts its gRPC server on 127.0.0.1; one
process may hold a lite file at a time); http://host:19530 is a Milvus server or cluster. The collection holds one
row per chunk (chunk id = primary key; report_id = partition key; region/province/level/year/paragraph for filters;
the chunk text with Milvus's jieba analyzer and a BM25 function into a sparse field where the server has BM25, 2.5+).
`<collection>_reports` records, per report, a hash of what its rows hold (chunk ids, texts, metadata and the
embedding model's identity): a build upserts only the reports whose hash changed and deletes removed reports'
rows, so adding one report never rewrites the collection. pymilvus is imported only here and in milvus_search.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.errors import ConfigError, IndexError_
from ingest.model import Chunk, Corpus, Report

SCHEMA_VERSION = 1
MAX_TEXT_BYTES = 65535  # Milvus VARCHAR max_length (bytes)
BATCH_ROWS = 1000  # rows per upsert call
ID_FIELD, REPORT_FIELD, DENSE, SPARSE, TEXT = "chunk_id", "report_id", "dense", "sparse", "text"
LITE_FIX = (
    "milvus-lite lets one process open a .db file at a time: stop the other govqa process using it (the UI, an "
    "ingest), or point GOVQA_MILVUS_URI at a Milvus server (http://host:19530) for several processes"
)


def is_lite(uri: str) -> bool:
    """A milvus-lite file (pymilvus runs milvus-lite in the process for a URI ending in .db)."""
    return uri.endswith(".db") and not re.match(r"^[a-z]+://", uri)


@dataclass(frozen=True)
class MilvusTarget:
    """Where a generation's vectors live: URI, collection, token (from settings, never written to disk)."""

    uri: str
    collection: str
    token: str = ""
    index_type: str = "FLAT"
    keyword: str = "milvus"

    @classmethod
    def from_settings(cls, settings) -> MilvusTarget:
        token = settings.milvus_token.get_secret_value() if settings.milvus_token else ""
        uri = settings.milvus_location
        return cls(
            str(Path(uri).resolve()) if is_lite(uri) else uri,
            settings.milvus_collection,
            token,
            settings.milvus_index.upper(),
            settings.milvus_keyword,
        )

    @property
    def states(self) -> str:
        return self.collection + "_reports"

    def manifest(self) -> dict:
        """What the generation manifest records (no token)."""
        return {"backend": "milvus", "uri": self.uri, "collection": self.collection, "index": self.index_type}


def connect(target: MilvusTarget):
    """A MilvusClient for the target; a clear error when the URI is malformed or the server/file cannot be opened."""
    if not (is_lite(target.uri) or re.match(r"^(https?|tcp)://|^unix:", target.uri)):
        raise ConfigError(
            f"GOVQA_MILVUS_URI={target.uri!r} is neither a milvus-lite file (ending in .db) nor a server URI",
            fix="use a path like var/milvus.db, or http://host:19530 for a Milvus server",
        )
    try:
        from pymilvus import MilvusClient
    except ImportError as e:
        raise ConfigError(
            "GOVQA_VECTOR_STORE=milvus needs pymilvus and milvus-lite",
            fix="pip install 'govreport-qa[milvus]' (or set GOVQA_VECTOR_STORE=faiss)",
        ) from e
    if is_lite(target.uri):
        Path(target.uri).parent.mkdir(parents=True, exist_ok=True)
    try:
        return MilvusClient(uri=target.uri, token=target.token, timeout=60)
    except Exception as e:  # pymilvus raises MilvusException/ConnectionConfigException (and grpc errors) here
        raise IndexError_(
            f"cannot open Milvus at {target.uri} ({e})",
            fix=LITE_FIX if is_lite(target.uri) else "check the server is up and GOVQA_MILVUS_TOKEN",
        ) from e


def has_bm25(client) -> bool:
    """Whether the server computes BM25 (a BM25 function into a sparse field): milvus-lite 3.x and Milvus 2.5+."""
    version = str(client.get_server_version())  # "milvus_lite-3.2.2", "v2.5.4", "v2.3.5-lite" (PyPI's milvus 2.3)
    if version.startswith("milvus_lite"):
        return True
    m = re.search(r"(\d+)\.(\d+)", version)
    return m is not None and (int(m.group(1)), int(m.group(2))) >= (2, 5)


def has_keyword_field(client, collection: str) -> bool:
    """Whether the collection was created with the BM25 sparse field."""
    return any(f["name"] == SPARSE for f in client.describe_collection(collection)["fields"])


def ensure_collections(client, target: MilvusTarget, dim: int) -> None:
    """Create the chunk collection and its report-state table when missing (never drop one); load both."""
    from pymilvus import DataType, Function, FunctionType

    name = target.collection
    if client.has_collection(name):
        check_dim(client, name, dim)
    else:
        if client.has_collection(target.states):  # bookkeeping of a collection that is gone: start afresh
            client.drop_collection(target.states)
        bm25 = has_bm25(client)
        schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field(ID_FIELD, DataType.VARCHAR, is_primary=True, max_length=256)
        # report_id as partition key: a filter on it prunes partitions. Not before 2.5: Milvus 2.3's partition-key
        # filter on Chinese report ids matched nothing (measured with PyPI's milvus 2.3.5 server).
        schema.add_field(REPORT_FIELD, DataType.VARCHAR, max_length=256, is_partition_key=bm25)
        for field in ("region", "province", "level"):
            schema.add_field(field, DataType.VARCHAR, max_length=256)
        schema.add_field("year", DataType.INT64)
        schema.add_field("paragraph", DataType.INT64)
        text_args = {"enable_analyzer": True, "analyzer_params": {"tokenizer": "jieba"}} if bm25 else {}
        schema.add_field(TEXT, DataType.VARCHAR, max_length=MAX_TEXT_BYTES, **text_args)
        schema.add_field(DENSE, DataType.FLOAT_VECTOR, dim=dim)
        index = client.prepare_index_params()
        index.add_index(DENSE, index_type=target.index_type, metric_type="IP")
        if bm25:
            schema.add_field(SPARSE, DataType.SPARSE_FLOAT_VECTOR)
            schema.add_function(
                Function(
                    name="text_bm25",
                    function_type=FunctionType.BM25,
                    input_field_names=[TEXT],
                    output_field_names=[SPARSE],
                )
            )
            index.add_index(SPARSE, index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
        # Strong: a reader that loads the generation just swapped in sees every row its sync wrote
        client.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")
    if not client.has_collection(target.states):
        schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field(REPORT_FIELD, DataType.VARCHAR, is_primary=True, max_length=256)
        schema.add_field("state", DataType.VARCHAR, max_length=128)
        schema.add_field("rows", DataType.INT64)
        schema.add_field("v", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector field in every collection
        index = client.prepare_index_params()
        index.add_index("v", index_type="FLAT", metric_type="L2")
        client.create_collection(target.states, schema=schema, index_params=index, consistency_level="Strong")
    client.load_collection(name)  # after every (re)open: a collection must be loaded to be searched
    client.load_collection(target.states)


def check_dim(client, name: str, dim: int) -> None:
    """The collection's dense field has the embedding model's dimension, or a clear error."""
    dense = [f for f in client.describe_collection(name)["fields"] if f["name"] == DENSE]
    have = int(dense[0]["params"]["dim"]) if dense else None
    if have != dim:
        raise IndexError_(
            f"Milvus collection {name} holds {have}-dim vectors, the embedding model gives {dim}",
            fix="set GOVQA_MILVUS_COLLECTION to another name for this model (or drop the old collection)",
        )


def open_collection(client, target: MilvusTarget, dim: int) -> None:
    """For reading: the collection exists with this dimension; load it (needed after every (re)open)."""
    if not client.has_collection(target.collection):
        raise IndexError_(
            f"Milvus at {target.uri} has no collection {target.collection}, which this index generation names",
            fix="rebuild the index so its vectors are written there: govqa index",
        )
    check_dim(client, target.collection, dim)
    client.load_collection(target.collection)


def report_state(report: Report, chunks: Sequence[Chunk], identity: str) -> str:
    """Hash of what a report's rows hold: its metadata, chunk ids and texts, and the embedding model's identity."""
    h = hashlib.sha256(f"{SCHEMA_VERSION}\x00{identity}\x00".encode())
    for part in (report.id, report.region, report.province, report.level, str(report.year)):
        h.update(part.encode() + b"\x00")
    for c in chunks:
        h.update(f"{c.id}\x00{c.embed_text}\x01".encode())
    return h.hexdigest()


def stored_states(client, target: MilvusTarget) -> dict[str, str]:
    """report_id → state hash of the reports the collection holds completely."""
    out: dict[str, str] = {}
    # milvus-lite lacks AllocTimestamp: pymilvus warns and the in-process gRPC server logs an error; both harmless
    quiet = [logging.getLogger(n) for n in ("pymilvus.client.iterator.query_iterator", "grpc._server")]
    levels = [q.level for q in quiet]
    for q in quiet:
        q.setLevel(logging.CRITICAL)
    try:
        it = client.query_iterator(
            target.states, batch_size=2000, filter=f'{REPORT_FIELD} != ""', output_fields=["state"]
        )
        while batch := it.next():
            out.update({r[REPORT_FIELD]: r["state"] for r in batch})
        it.close()
    finally:
        for q, level in zip(quiet, levels):
            q.setLevel(level)
    return out


def _quoted(values: Sequence[str]) -> str:
    return "[" + ", ".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "]"


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

    def __init__(self, target: MilvusTarget, identity: str):
        self.target, self.identity = target, identity
        self.result: SyncResult | None = None

    def write(self, corpus: Corpus, chunks: Sequence[Chunk], embed: Callable[[list[str]], np.ndarray], dim: int):
        self.result = sync(self.target, corpus, chunks, embed, dim, self.identity)

    def manifest(self) -> dict:
        """The generation manifest's "vectors" entry: backend, URI, collection, and what this build synced."""
        done = self.result or SyncResult([], [], 0)
        return {**self.target.manifest(), "synced": {"upserted": len(done.upserted), "removed": len(done.removed)}}


def milvus_sink(settings, embedder) -> MilvusSink | None:
    """The sink the settings ask for (GOVQA_VECTOR_STORE=milvus with a dense model), else None (FAISS)."""
    if settings.vector_store != "milvus" or embedder is None:
        return None
    return MilvusSink(MilvusTarget.from_settings(settings), embedder.identity)
