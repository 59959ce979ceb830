"""Milvus as the vector backend (GOVQA_VECTOR_STORE=milvus): connect, keep the collection, sync it report by report.

A file URI ending in .db runs milvus-lite inside the process (pymilvus starts its gRPC server on 127.0.0.1; one
process may hold a lite file at a time); http://host:19530 is a Milvus server or cluster. The collection holds one
row per chunk (chunk id = primary key; report_id = partition key from 2.5 on; region/province/level/year/paragraph for filters;
the chunk text with Milvus's jieba analyzer and a BM25 function into a sparse field where the server has BM25, 2.5+).
`<collection>_reports` records, per report, a hash of what its rows hold (chunk ids, texts, metadata and the
embedding model's identity): a build upserts only the reports whose hash changed and deletes removed reports'
rows, so adding one report never rewrites the collection (rag.index.milvus_sync). pymilvus is imported only here and
in milvus_search.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.errors import ConfigError, IndexError_

SCHEMA_VERSION = 1
MAX_TEXT_BYTES = 65535  # Milvus VARCHAR max_length (bytes)
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


_CLIENTS: dict[tuple[str, str], Any] = {}  # one client per URI and token in a process (readers and the writer)


def connect(target: MilvusTarget):
    """A MilvusClient for the target (shared within the process); a clear error when the URI is malformed or the
    server/file cannot be opened."""
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
    key = (target.uri, target.token)
    cached = _CLIENTS.get(key)
    if cached is not None:
        try:
            cached.get_server_version()  # still connected (a lite file's server lives as long as the process)
            return cached
        except Exception:
            _CLIENTS.pop(key, None)
    try:
        _CLIENTS[key] = MilvusClient(uri=target.uri, token=target.token, timeout=60)
        return _CLIENTS[key]
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
