"""How far a group's best evidence stands out of its report: e5 cosines taken relative to the question's own level.

An absolute cosine is higher for questions worded like the reports than for colloquial ones; the best retrieved
sentence's cosine measured in standard deviations above all the sentences of its report is not (a group feature of
rag.answering.evidence).
"""

from __future__ import annotations

import numpy as np

from rag.index.sentences import SentenceTable
from rag.retrieval.plan import Group
from rag.types import Hit


class ReportSentences:
    """The sentence-vector rows of each report, to judge how far a group's best evidence stands out of its report."""

    def __init__(self, table: SentenceTable | None):
        self.table = table if table is not None and table.vectors is not None else None
        self._rows: dict[str, np.ndarray] = {}

    def _report_rows(self, report_id: str) -> np.ndarray:
        """The sentence rows of a report (read from the table's per-report ranges once, then kept)."""
        if report_id not in self._rows:
            if self.table is None:  # only called once standout() checked the table
                raise RuntimeError("no sentence table")
            self._rows[report_id] = self.table.report_rows(report_id)
        return self._rows[report_id]

    def standouts(self, qvec: np.ndarray | None, groups: list[tuple[Group, list[Hit]]]) -> list[float]:
        """`standout` of every retrieval group."""
        return [self.standout(qvec, hits) for _, hits in groups]

    def standout(self, qvec: np.ndarray | None, hits: list[Hit]) -> float:
        """(best cosine among the hits' sentences - mean over their reports' sentences) / standard deviation."""
        if self.table is None or self.table.vectors is None or qvec is None or not hits:
            return 0.0  # (__init__ keeps a table only if it has vectors)
        vectors = self.table.vectors
        rows = np.concatenate([self._report_rows(r) for r in sorted({h.report_id for h in hits})])
        mine = [r for h in hits for r, _, _ in self.table.of(h.id)]
        if len(rows) < 2 or not mine:
            return 0.0
        all_cos = vectors[rows].astype(np.float32) @ qvec
        best = float(np.max(vectors[np.array(mine)].astype(np.float32) @ qvec))
        return (best - float(all_cos.mean())) / (float(all_cos.std()) or 1.0)
