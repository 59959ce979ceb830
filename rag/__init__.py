"""govreport-qa's public API: load an index, retrieve paragraphs, ask questions, get cited answers."""

from rag.assistant import Assistant
from rag.settings import Settings
from rag.types import Answer, AnswerStream, Citation, Hit, citation_mark

__all__ = ["Assistant", "Answer", "AnswerStream", "Citation", "Hit", "Settings", "citation_mark"]
