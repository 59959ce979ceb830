"""Streaming only checked text: an answerer's reply is verified sentence by sentence as the sentences complete.

`CheckedStream(hits)`: `feed(piece)` returns the checked text that can be shown now, `flush()` the rest once
the reply has ended. A sentence is shown when it is complete (its end and any citation marks right after it
have arrived; a table row when its line ends) and the shared check (verify.verify) keeps it, with canonical
marks; a sentence the check removes is never shown. Joined, the pieces are exactly `verify(reply).text`.
"""

from __future__ import annotations

import re

from rag.answering.verify import verify
from rag.types import Hit

_END = re.compile(r"[。！？!?]+(?:[ \t]*【[^【】\n]*】)*")
_MAY_CONTINUE = re.compile(r"[ \t]*(?:【[^【】\n]*)?")  # spaces or a mark still arriving: it may belong to the sentence


def complete_length(raw: str) -> int:
    """The length of the longest start of `raw` that ends with complete sentences or lines."""
    line_start = raw.rfind("\n") + 1
    best = line_start - 1 if line_start else 0
    if raw[line_start:].lstrip().startswith("|"):
        return best  # a table row is one claim: complete only when its line ends
    for m in _END.finditer(raw, line_start):
        if not _MAY_CONTINUE.fullmatch(raw, m.end()):
            best = m.end()
    return best


class CheckedStream:
    """Feed the raw reply piece by piece; get back only what the check keeps, as soon as it is complete."""

    def __init__(self, hits: list[Hit]):
        self.hits = hits
        self.raw = ""
        self.shown = ""
        self.diverged = False  # a longer reply changed what was already shown: show nothing more

    def feed(self, piece: str) -> str:
        """The checked text newly completed by `piece` ("" if none)."""
        self.raw += piece
        return self._emit(self.raw[: complete_length(self.raw)])

    def flush(self) -> str:
        """The checked rest of the reply, at its end."""
        return self._emit(self.raw.strip())

    def _emit(self, prefix: str) -> str:
        if self.diverged or not prefix.strip():
            return ""
        text = verify(prefix, self.hits).text
        if not text.startswith(self.shown):
            self.diverged = True
            return ""
        new, self.shown = text[len(self.shown) :], text
        return new
