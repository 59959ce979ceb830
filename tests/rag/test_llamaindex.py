"""llama-index interop: Assistant.as_retriever / as_query_engine driven through llama-index's own APIs on the sample
index (retriever.retrieve, engine.query, a stock RetrieverQueryEngine), and llama-index imported only when asked."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from rag import citation_mark

ROOT = Path(__file__).resolve().parents[2]
GDP = "济南2024年GDP增长目标是多少?"
META = {"report_id", "region", "short", "year", "paragraph", "section", "mark"}


@pytest.fixture(scope="module")
def assistant(e5_assistant):
    """These tests check answers of the real model (e5), so they run on its index (slow tier)."""
    return e5_assistant


def test_importing_rag_does_not_import_llama_index():
    code = "import sys, rag; from rag.assistant import Assistant; print('llama_index' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    ).stdout
    assert out.strip() == "False"


@pytest.mark.slow
def test_retriever_is_a_llama_index_retriever_with_citable_metadata(assistant):
    from llama_index.core.base.base_retriever import BaseRetriever
    from llama_index.core.schema import MetadataMode, NodeWithScore

    retriever = assistant.as_retriever()
    assert isinstance(retriever, BaseRetriever)
    nodes = retriever.retrieve(GDP)
    hits = assistant.retrieve(GDP, k=assistant.settings.top_k)
    assert nodes and all(isinstance(n, NodeWithScore) for n in nodes)
    assert [n.node.node_id for n in nodes] == [h.id for h in hits]  # same planning and fusion as retrieve
    assert [n.score for n in nodes] == [h.score for h in hits]
    for n in nodes:
        meta = n.node.metadata
        assert META <= set(meta)
        assert meta["region"] == "济南市" and meta["short"] == "济南" and meta["year"] == 2024
        assert meta["mark"] == citation_mark("济南", 2024, meta["paragraph"])
        para = assistant.paragraph(meta["report_id"], meta["paragraph"])
        assert n.node.get_content() == para.text and meta["section"] == para.section
        llm_view = n.node.get_content(metadata_mode=MetadataMode.LLM)
        assert meta["mark"] in llm_view and "dense_score" not in llm_view
    assert any("5.5%" in n.node.get_content() for n in nodes)  # the target paragraph is among them


@pytest.mark.slow
def test_retriever_filters_and_top_k(assistant):
    from llama_index.core.schema import QueryBundle

    question = "地区生产总值增长目标"
    nodes = assistant.as_retriever(region="保定", year=2023, similarity_top_k=2).retrieve(QueryBundle(question))
    assert [n.node.node_id for n in nodes] == [
        h.id for h in assistant.retrieve(question, k=2, region="保定", year=2023)
    ]
    assert 1 <= len(nodes) <= 2
    assert {(n.node.metadata["region"], n.node.metadata["year"]) for n in nodes} == {("保定市", 2023)}
    # a comparison is planned into one group per region, as retrieve does: both cities come back
    both = assistant.as_retriever(k=3).retrieve("比较保定和廊坊2023年的GDP增长目标")
    assert {n.node.metadata["short"] for n in both} == {"保定", "廊坊"}
    # async through llama-index's own aretrieve
    again = asyncio.run(assistant.as_retriever(k=3).aretrieve("比较保定和廊坊2023年的GDP增长目标"))
    assert [n.node.node_id for n in again] == [n.node.node_id for n in both]


@pytest.mark.slow
def test_retriever_plugs_into_a_stock_llama_index_query_engine(assistant):
    """Handed to llama-index's own RetrieverQueryEngine (with its MockLLM, which echoes the prompt it is given):
    the nodes reach the synthesizer with their citation marks, and come back as source_nodes."""
    from llama_index.core.llms import MockLLM
    from llama_index.core.query_engine import RetrieverQueryEngine

    retriever = assistant.as_retriever(k=3)
    engine = RetrieverQueryEngine.from_args(retriever, llm=MockLLM())
    response = engine.query(GDP)
    expected = retriever.retrieve(GDP)
    assert [n.node.node_id for n in response.source_nodes] == [n.node.node_id for n in expected]
    prompt_seen = str(response)
    assert any(n.node.metadata["mark"] in prompt_seen for n in expected)


@pytest.mark.slow
def test_query_engine_returns_the_checked_answer_and_cited_nodes(assistant):
    from llama_index.core.base.base_query_engine import BaseQueryEngine
    from llama_index.core.base.response.schema import Response

    engine = assistant.as_query_engine()
    assert isinstance(engine, BaseQueryEngine)
    response = engine.query(GDP)
    answer = assistant.ask(GDP)
    assert isinstance(response, Response)
    assert response.response == answer.text and "5.5%" in response.response
    assert [n.node.node_id for n in response.source_nodes] == [c.id for c in answer.citations]
    assert response.source_nodes
    context_ids = {h.id for h in answer.contexts}
    for n in response.source_nodes:
        assert n.node.metadata["mark"] in response.response
        assert n.node.node_id in context_ids and n.score is not None
        quote = n.node.metadata["quote"]
        assert quote and quote in n.node.get_content()
    assert response.metadata["refused"] is False
    assert response.metadata["answer"].text == answer.text


@pytest.mark.slow
def test_query_engine_refusal_and_filters(assistant):
    response = assistant.as_query_engine().query("杭州2024年GDP目标")
    assert response.response.startswith("根据现有报告无法回答该问题。")
    assert response.metadata["refused"] is True and response.source_nodes == []
    assert "杭州" in "".join(response.metadata["notes"]) + response.response

    scoped = assistant.as_query_engine(region="保定", year=2023).query("地区生产总值增长目标是多少")
    assert scoped.source_nodes
    assert {n.node.metadata["report_id"] for n in scoped.source_nodes} == {"保定-2023"}
    again = asyncio.run(assistant.as_query_engine(region="保定", year=2023).aquery("地区生产总值增长目标是多少"))
    assert again.response == scoped.response
