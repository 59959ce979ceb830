"""govreport-qa's public API: load an index, retrieve paragraphs, ask questions, get cited answers."""
from .assistant import Assistant
from .settings import Settings
from .types import Answer, AnswerStream, Citation, Hit, citation_mark

__all__ = ["Assistant", "Answer", "AnswerStream", "Citation", "Hit", "Settings", "citation_mark"]
