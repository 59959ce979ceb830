"""Retrieval stage: a question → the paragraphs that may answer it.

Owns the query plan (regions, report years, relative years and plan periods read from the question, checked
against the catalogue), place-name matching, the time semantics of reports (rag.retrieval.timeline), and the
fused dense + BM25 retrieval filtered by the plan.
May import: ingest, rag.embedding, rag.index, rag.settings/rag.types — never rag.answering.
"""
