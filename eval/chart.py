"""PNG charts of eval runs (Agg canvas, no pyplot state): one run's metrics, or two runs side by side."""

from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .metric_info import LATENCY, QUALITY


def _values(summary: dict, names) -> list[float]:
    return [v if isinstance(v := summary.get(m), (int, float)) else 0.0 for m in names]


def plot_runs(runs: list[tuple[str, dict]], path: str | Path, title: str) -> Path:
    """Grouped bars of the quality metrics (0..1) and the latencies (seconds) of each (label, summary)."""
    fig = Figure(figsize=(11, 4.8), layout="constrained")
    FigureCanvasAgg(fig)
    quality, latency = fig.subplots(1, 2, width_ratios=[5, 1])
    width = 0.8 / max(1, len(runs))
    for i, (label, summary) in enumerate(runs):
        offset = (i - (len(runs) - 1) / 2) * width
        bars = quality.bar([x + offset for x in range(len(QUALITY))], _values(summary, QUALITY), width, label=label)
        quality.bar_label(bars, fmt="%.2f", fontsize=6, padding=1)
        lat = latency.bar([x + offset for x in range(len(LATENCY))], _values(summary, LATENCY), width, label=label)
        latency.bar_label(lat, fmt="%.3f", fontsize=6, padding=1)
    quality.set_xticks(range(len(QUALITY)), QUALITY, rotation=35, ha="right", fontsize=8)
    quality.set_ylim(0, 1.1)
    quality.set_ylabel("rate")
    quality.grid(axis="y", alpha=0.3)
    latency.set_xticks(range(len(LATENCY)), ["p50", "p95"], fontsize=8)
    latency.set_ylabel("seconds per question")
    if len(runs) > 1:
        handles, labels = quality.get_legend_handles_labels()
        fig.legend(handles, labels, loc="outside lower center", ncols=len(runs), fontsize=8)
    fig.suptitle(title, fontsize=10)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    return path
