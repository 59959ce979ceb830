"""The LLM answerer: numbered context paragraphs + question -> the model's raw cited answer."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Literal, overload

from rag.answering.llm import ChatLLM
from rag.answering.prompts import Prompt
from rag.types import Hit

NO_NOTES = "（无）"
NO_CONTEXTS = "（没有检索到相关段落）"


def render_contexts(hits: list[Hit]) -> str:
    """Numbered blocks, each headed by its citation mark, region, report year and section, then the text.

    A paragraph retrieved twice (through two of its chunks) is shown once.
    """
    blocks: list[str] = []
    seen: set[str] = set()
    for hit in hits:
        if hit.id in seen:
            continue
        seen.add(hit.id)
        header = f"[{len(blocks) + 1}] {hit.mark} {hit.region} · {hit.year}年政府工作报告"
        if hit.section:
            header += f" · {hit.section}"
        blocks.append(f"{header}\n{hit.text.strip()}")
    return "\n\n".join(blocks) if blocks else NO_CONTEXTS


def render_notes(notes: Iterable[str]) -> str:
    """Catalogue facts as a bulleted list, or （无）."""
    lines = [f"- {n.strip()}" for n in notes if n.strip()]
    return "\n".join(lines) if lines else NO_NOTES


def build_messages(question: str, hits: list[Hit], notes: Iterable[str], prompt: Prompt) -> list[dict]:
    """The chat messages for one question."""
    return prompt.render(question=question.strip(), contexts=render_contexts(hits), notes=render_notes(notes))


@overload
def llm_answer(
    question: str,
    hits: list[Hit],
    llm: ChatLLM,
    prompt: Prompt,
    notes: Iterable[str] = (),
    stream: Literal[False] = False,
) -> str: ...


@overload
def llm_answer(
    question: str, hits: list[Hit], llm: ChatLLM, prompt: Prompt, notes: Iterable[str] = (), *, stream: Literal[True]
) -> Iterator[str]: ...


def llm_answer(
    question: str,
    hits: list[Hit],
    llm: ChatLLM,
    prompt: Prompt,
    notes: Iterable[str] = (),
    stream: bool = False,
) -> str | Iterator[str]:
    """The model's raw answer text (or its pieces when stream=True); LLMError if the endpoint fails."""
    messages = build_messages(question, hits, notes, prompt)
    return llm.stream(messages) if stream else llm.complete(messages)
