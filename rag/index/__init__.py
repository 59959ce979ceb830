"""Index stage: reports → a searchable index generation on disk.

Owns the index generation (FAISS vectors — or a Milvus collection synced report by report, milvus_store /
milvus_search — BM25 keyword index, sentence table, corpus), its atomic swap and
load, the jieba tokenizer and the incremental build/update of a data dir from report files.
May import: ingest, rag.embedding, rag.settings/rag.types — never rag.retrieval or rag.answering.
"""
