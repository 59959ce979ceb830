"""llama-index interop: the Assistant's retrieval as a llama-index retriever, its checked answers as a query engine.

`Assistant.as_retriever()` and `Assistant.as_query_engine()` import this module when called, so loading the
Assistant (and asking it) never imports llama-index. Both go through the Assistant itself: the same question
planning (regions, years, what the catalogue lacks), per-group dense + BM25 fusion, filters and answer checks.

Every node is one report paragraph (the unit cited), id `济南-2024-p18`, with metadata report_id, region, short,
year (the report year), paragraph, section and mark (`【济南·2024·第18段】`); a cited node also has the quote that
supports the claim. An LLM or embedder downstream sees the region, year, section and mark, not the scores.
"""

from __future__ import annotations

from typing import Any

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.response.schema import Response
from llama_index.core.bridge.pydantic import Field
from llama_index.core.query_engine import CustomQueryEngine
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode

from rag.types import Answer, Citation, Hit

HIDDEN = ["report_id", "quote", "dense_score", "bm25_score"]  # in the metadata, not in the text a model reads


def paragraph_node(item: Hit | Citation, score: float | None = None) -> NodeWithScore:
    """A llama-index node for one retrieved or cited paragraph."""
    metadata = {
        "report_id": item.report_id,
        "region": item.region,
        "short": item.short,
        "year": item.year,
        "paragraph": item.paragraph,
        "section": item.section,
        "mark": item.mark,
    }
    if isinstance(item, Hit):
        score = item.score
        metadata.update(dense_score=item.dense_score, bm25_score=item.bm25_score)
    else:
        metadata["quote"] = item.quote
    node = TextNode(
        id_=item.id,
        text=item.text,
        metadata=metadata,
        excluded_llm_metadata_keys=HIDDEN,
        excluded_embed_metadata_keys=HIDDEN,
    )
    return NodeWithScore(node=node, score=score)


def answer_response(answer: Answer) -> Response:
    """A llama-index Response: the checked answer text, its cited paragraphs as source_nodes (scored by their
    fused retrieval score), and the rest of the Answer in metadata (refused, notes, unsupported, related, answer)."""
    scores = {h.id: h.score for h in answer.contexts}
    return Response(
        response=answer.text,
        source_nodes=[paragraph_node(c, scores.get(c.id)) for c in answer.citations],
        metadata={
            "refused": answer.refused,
            "notes": list(answer.notes),
            "unsupported": list(answer.unsupported),
            "answerer": answer.answerer,
            "related": [paragraph_node(h) for h in answer.related],
            "answer": answer,
        },
    )


class AssistantRetriever(BaseRetriever):
    """A llama-index retriever over an Assistant: `retrieve(question)` returns the paragraphs `Assistant.retrieve`
    finds (k per region/year group of the question, optionally only one region and/or report year)."""

    def __init__(
        self,
        assistant,
        k: int | None = None,
        region: str | None = None,
        year: int | None = None,
        callback_manager=None,
        verbose: bool = False,
    ):
        super().__init__(callback_manager=callback_manager, verbose=verbose)
        self.assistant, self.k, self.region, self.year = assistant, k, region, year

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        retrieval = self.assistant.search(query_bundle.query_str, self.k, region=self.region, year=self.year)
        return [paragraph_node(h) for h in retrieval.hits]


class AssistantQueryEngine(CustomQueryEngine):
    """A llama-index query engine over an Assistant: `query(question)` answers with `Assistant.ask` and returns
    the checked answer (citation and number checks applied) with its cited paragraphs as source_nodes."""

    assistant: Any = Field(description="The rag.Assistant that answers.")
    region: str | None = Field(None, description="Only this region, e.g. 济南 or 河北省.")
    year: int | None = Field(None, description="Only reports of this year.")
    answerer: str | None = Field(None, description="'extractive' or 'llm' (default: the Assistant's setting).")

    def custom_query(self, query_str: str) -> Response:
        answer = self.assistant.ask(query_str, region=self.region, year=self.year, answerer=self.answerer)
        return answer_response(answer)
