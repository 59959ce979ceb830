"""Embedding stage: text → vectors.

Owns the embedders (multilingual-e5 through sentence-transformers or its ONNX export, USE-multilingual for
comparisons), the one-time model preparation (e5convert) and the on-disk vector cache keyed by content hash.
May import: ingest.errors and rag.settings/rag.types only — never rag.index, rag.retrieval or rag.answering.
"""
