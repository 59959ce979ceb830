"""The summary metrics by kind: which are quality rates (0..1), which are better lower, which are latencies."""

from __future__ import annotations

QUALITY = (
    "hit@1",
    "hit@5",
    "mrr",
    "key_accuracy",
    "refusal_accuracy",
    "refusal_recall",
    "false_refusal_rate",
    "hedged_recall",
    "answerable_framed",
    "citation_precision",
    "citation_recall",
    "number_grounding",
)
# the refusal signal's diagnostics (eval.metrics.answerability_auc, refusal_ceiling): shown, gated only when asked
DIAGNOSTIC = ("answerability_auc", "refusal_ceiling")
LATENCY = ("latency_p50", "latency_p95")
LOWER_IS_BETTER = frozenset({"false_refusal_rate", "answerable_framed", *LATENCY})
DEFAULT_THRESHOLD = 0.02  # absolute drop allowed for each quality metric; latency is not gated by default

# Per-question metrics whose changes are listed as fixed/broken questions (QuestionResult field -> label).
KEY_QUESTION_METRICS = {
    "key_correct": "key accuracy",
    "hit_at_5": "hit@5",
    "refusal_correct": "refusal correctness",
    "citation_precision": "citation precision",
}


def default_thresholds() -> dict[str, float]:
    """The gate with no configuration: every quality metric may drop by DEFAULT_THRESHOLD."""
    return {m: DEFAULT_THRESHOLD for m in QUALITY}


def known_metrics() -> tuple[str, ...]:
    return QUALITY + DIAGNOSTIC + LATENCY
