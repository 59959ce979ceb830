"""Answering stage: retrieved paragraphs → a checked Chinese answer with citations.

Owns the extractive answerer (evidence features, the fitted answerability model in models/, sentence choice
and refusals), the LLM path (prompt templates, the OpenAI-compatible client) and the checks every answer
passes (citation marks resolved to retrieved paragraphs, figures bound to the cited text).
May import: every earlier stage (ingest, rag.embedding, rag.index, rag.retrieval) and rag.settings/rag.types.
"""
