"""The public entry point: an Assistant that loads an index, retrieves, and answers with citations."""

from __future__ import annotations

import re
import time
from functools import cached_property
from pathlib import Path
from typing import Literal, overload

from ingest.errors import LimitError, QuestionError
from ingest.model import Corpus, Paragraph, Report
from rag.answering.answer import extractive_answer, llm_answer_checked
from rag.answering.extractive import ExtractiveAnswerer
from rag.answering.scorer import load_scorer
from rag.index.store import LoadedIndex, load_index
from rag.retrieval.retrieve import Retrieval, Retriever
from rag.settings import Settings, load_settings
from rag.types import Answer, AnswerStream, Hit

_CJK = re.compile(r"[\u3400-\u9fff]")


class Assistant:
    """Question answering over one index. Build with `Assistant.load()`; ask with `ask()`."""

    def __init__(self, index: LoadedIndex, settings: Settings, embedder=None, llm=None):
        from rag.retrieval.places import place_names

        self.settings = settings
        self.index = index
        self.embedder = embedder
        self.llm = llm
        configure = getattr(index.vectors, "configure", None)  # Milvus: the keyword ranking these settings ask for
        if configure is not None:
            configure(settings.milvus_keyword)
        self.retriever = Retriever(
            index,
            embedder,
            settings.fusion,
            settings.rrf_k,
            settings.dense_weight,
            settings.bm25_weight,
            places=place_names(),
            threads=settings.faiss_threads,
        )

    @classmethod
    def load(cls, path: str | Path | None = None, settings: Settings | None = None) -> Assistant:
        """Open the index under `path` (a data dir or an index dir; default: settings.data_dir)."""
        from rag.answering.llm import ChatLLM
        from rag.index.build import check_model, open_embedder

        settings = settings or load_settings()
        index_dir = settings.index_dir
        if path is not None:
            path = Path(path)
            index_dir = path if (path / "CURRENT").exists() else path / "index"
        index = load_index(index_dir)
        check_model(index, settings)
        embedder = open_embedder(settings)
        check_model(index, settings, embedder)
        llm = ChatLLM(settings) if settings.llm_configured else None
        return cls(index, settings, embedder, llm)

    @cached_property
    def extractive(self) -> ExtractiveAnswerer:
        """The default answerer with the fitted model that cross-validated best among those this index can feed
        (the "dense" one needs sentence vectors; the "lexical" one works on any index)."""
        sentences = self.index.sentences
        dense = self.embedder is not None and sentences is not None and sentences.vectors is not None
        return ExtractiveAnswerer(self.index, load_scorer(None if dense else "lexical"))

    # --- the corpus -------------------------------------------------------------------------------
    @property
    def corpus(self) -> Corpus:
        return self.index.corpus

    def catalogue(self) -> list[dict]:
        from ingest.catalogue import catalogue_rows

        return catalogue_rows(self.corpus)

    def report(self, report_id: str) -> Report:
        return self.corpus.report(report_id)

    def paragraph(self, report_id: str, number: int) -> Paragraph:
        return self.corpus.report(report_id).paragraph(number)

    # --- retrieval and answers --------------------------------------------------------------------
    def check_question(self, question: str) -> None:
        """Refuse an empty question or one without Chinese (QuestionError) and one longer than
        GOVQA_MAX_QUESTION_CHARS (LimitError naming the setting) before any work."""
        if not question.strip():
            raise QuestionError(
                "the question is empty", fix='ask a question in Chinese, e.g. "济南2024年GDP增长目标是多少?"'
            )
        if not _CJK.search(question):
            raise QuestionError(
                "the question has no Chinese characters: the reports are Chinese and are searched by their words, "
                "so an English question only finds unrelated paragraphs",
                fix='ask in Chinese, e.g. "北京2026年GDP增长目标是多少?"',
            )
        limit = self.settings.max_question_chars
        if len(question) > limit:
            raise LimitError(
                f"the question has {len(question)} characters, more than the limit of {limit} "
                "(GOVQA_MAX_QUESTION_CHARS)",
                fix="ask a shorter question (one thing at a time), or raise GOVQA_MAX_QUESTION_CHARS",
            )

    def search(
        self, question: str, k: int | None = None, region: str | None = None, year: int | None = None
    ) -> Retrieval:
        """Retrieval with its plan (regions, years, groups, what the corpus lacks); a too long question is refused."""
        self.check_question(question)
        return self.retriever.retrieve(question, k or self.settings.top_k, region=region, year=year)

    @property
    def answer_k(self) -> int:
        """Paragraphs per group the extractive answerer reads (Settings.answer_top_k, at least top_k)."""
        return max(self.settings.top_k, self.settings.answer_top_k)

    def retrieve(self, question: str, k: int = 5, region: str | None = None, year: int | None = None) -> list[Hit]:
        """The top paragraphs for a question: each Hit has region, year, paragraph, section, text, score."""
        return self.search(question, k, region, year).hits

    # --- llama-index interop (llama-index is imported only here) ---------------------------------------
    def as_retriever(
        self,
        k: int | None = None,
        region: str | None = None,
        year: int | None = None,
        similarity_top_k: int | None = None,
        **kwargs,
    ):
        """A llama-index `BaseRetriever` over this Assistant: `.retrieve(question)` gives `NodeWithScore`s of the
        paragraphs `retrieve` finds (same planning, fusion and filters); metadata region, short, year, paragraph,
        section, mark. `k` (or llama-index's `similarity_top_k`) is per region/year group (default settings.top_k)."""
        from rag.llamaindex import AssistantRetriever

        return AssistantRetriever(self, k=k or similarity_top_k, region=region, year=year, **kwargs)

    def as_query_engine(self, region: str | None = None, year: int | None = None, answerer: str | None = None):
        """A llama-index query engine: `.query(question)` returns a `Response` with the checked answer text and
        its cited paragraphs as `source_nodes` (the whole Answer in `response.metadata["answer"]`)."""
        from rag.llamaindex import AssistantQueryEngine

        return AssistantQueryEngine(assistant=self, region=region, year=year, answerer=answerer)

    @overload
    def ask(
        self,
        question: str,
        region: str | None = None,
        year: int | None = None,
        stream: Literal[False] = False,
        answerer: str | None = None,
    ) -> Answer: ...

    @overload
    def ask(
        self,
        question: str,
        region: str | None = None,
        year: int | None = None,
        *,
        stream: Literal[True],
        answerer: str | None = None,
    ) -> AnswerStream: ...

    @overload
    def ask(
        self,
        question: str,
        region: str | None = None,
        year: int | None = None,
        stream: bool = False,
        answerer: str | None = None,
    ) -> Answer | AnswerStream: ...

    def ask(
        self,
        question: str,
        region: str | None = None,
        year: int | None = None,
        stream: bool = False,
        answerer: str | None = None,
    ) -> Answer | AnswerStream:
        """A Chinese answer with verified citations; with stream=True, an AnswerStream of text pieces."""
        t0 = time.perf_counter()
        answerer = answerer or self.settings.answerer
        llm = answerer == "llm" and self.llm is not None
        retrieval = self.search(question, None if llm else self.answer_k, region=region, year=year)
        if llm:
            from rag.answering.prompts import load_prompt

            prompt = load_prompt(self.settings.llm_prompt, self.settings.prompts_dir)
            return llm_answer_checked(question, retrieval, self.llm, prompt, self.extractive, stream=stream)
        notes = ["未配置 LLM，已使用抽取式回答。"] if answerer == "llm" else []
        answer = extractive_answer(question, retrieval, self.extractive, notes, t0)
        if stream:
            return AnswerStream(iter([answer.text]), lambda _text: answer)
        return answer
