"""Comparing two eval runs: metric deltas A -> B, questions fixed/broken, a Markdown + PNG report, and the gate."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ingest.errors import ConfigError

from .chart import plot_runs
from .metric_info import KEY_QUESTION_METRICS, LOWER_IS_BETTER, default_thresholds, known_metrics
from .run import load_run


@dataclass
class Delta:
    """One summary metric in both runs; `regressed` when it got worse by more than its threshold."""

    metric: str
    a: float | None
    b: float | None
    threshold: float | None  # None: not gated

    @property
    def delta(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a

    @property
    def worse_by(self) -> float | None:
        """How much worse B is than A (positive = worse), whatever the metric's direction."""
        if self.delta is None:
            return None
        return self.delta if self.metric in LOWER_IS_BETTER else -self.delta

    @property
    def regressed(self) -> bool:
        return self.threshold is not None and self.worse_by is not None and self.worse_by > self.threshold + 1e-12


@dataclass
class Change:
    """A question whose per-question metric flipped between the runs."""

    id: str
    type: str
    question: str
    a: object
    b: object
    answer_a: str
    answer_b: str


@dataclass
class Comparison:
    """The result of `compare`: deltas, fixed/broken questions per key metric, warnings, and the gate."""

    run_a: dict
    run_b: dict
    deltas: list[Delta]
    fixed: dict[str, list[Change]]  # label of a key metric -> questions that became right in B
    broken: dict[str, list[Change]]  # ... that became wrong in B
    thresholds: dict[str, float]
    warnings: list[str] = field(default_factory=list)
    path_b: Path | None = None

    @property
    def regressions(self) -> list[Delta]:
        return [d for d in self.deltas if d.regressed]

    @property
    def passed(self) -> bool:
        return not self.regressions


def parse_threshold_args(args: list[str] | None) -> dict[str, float]:
    """["key_accuracy=0.05", "latency_p50=0.5"] -> {metric: allowed drop}; ConfigError on a malformed one."""
    out = {}
    for arg in args or []:
        metric, sep, value = arg.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = -1.0
        if not sep or not metric.strip() or number < 0:
            raise ConfigError(
                f"bad threshold {arg!r}", fix="write --threshold METRIC=NUMBER, e.g. --threshold key_accuracy=0.05"
            )
        out[metric.strip()] = number
    return out


def _thresholds(overrides: dict[str, float] | None) -> dict[str, float]:
    merged = {**default_thresholds(), **(overrides or {})}
    unknown = sorted(set(merged) - set(known_metrics()))
    if unknown:
        raise ConfigError(
            f"no metric named {', '.join(unknown)} to gate on", fix=f"use one of {', '.join(known_metrics())}"
        )
    return merged


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _flip(a, b) -> str | None:
    """'fixed', 'broken' or None for one per-question metric (bool or score; None on either side: no verdict)."""
    if a is None or b is None or a == b:
        return None
    return "fixed" if float(b) > float(a) else "broken"


def _warnings(a: dict, b: dict) -> list[str]:
    out = []
    if a.get("items", {}).get("sha256") != b.get("items", {}).get("sha256") or len(a["questions"]) != len(
        b["questions"]
    ):
        out.append(
            f"the runs used different question sets ({len(a['questions'])} vs {len(b['questions'])} questions, "
            "or another questions file): deltas mix question changes with model changes"
        )
    if a.get("corpus", {}).get("corpus_sha256") != b.get("corpus", {}).get("corpus_sha256"):
        out.append("the runs searched different corpora (corpus_sha256 differs)")
    if a.get("config_sha256") and a.get("config_sha256") == b.get("config_sha256"):
        out.append("both runs have the same configuration hash: differences come from code or data, not settings")
    if a.get("code", {}).get("sources_sha256") != b.get("code", {}).get("sources_sha256"):
        out.append("the runs ran on different code (rag/, ingest/ or prompts/ changed in between)")
    return out


def compare(
    run_a: str | Path | dict, run_b: str | Path | dict, thresholds: dict[str, float] | None = None
) -> Comparison:
    """Compare run A (before) with run B (after). `thresholds` (metric -> allowed absolute worsening) override the
    defaults: 0.02 for every quality metric, latency not gated unless given."""
    path_b = Path(run_b) if not isinstance(run_b, dict) else None
    a = run_a if isinstance(run_a, dict) else load_run(run_a)
    b = run_b if isinstance(run_b, dict) else load_run(run_b)
    gates = _thresholds(thresholds)
    deltas = [
        Delta(m, _number(a["summary"].get(m)), _number(b["summary"].get(m)), gates.get(m)) for m in known_metrics()
    ]

    by_id_a = {q["id"]: q for q in a["questions"]}
    fixed: dict[str, list[Change]] = {label: [] for label in KEY_QUESTION_METRICS.values()}
    broken: dict[str, list[Change]] = {label: [] for label in KEY_QUESTION_METRICS.values()}
    for qb in b["questions"]:
        qa = by_id_a.get(qb["id"])
        if qa is None:
            continue
        for metric, label in KEY_QUESTION_METRICS.items():
            va, vb = qa["metrics"].get(metric), qb["metrics"].get(metric)
            verdict = _flip(va, vb)
            if verdict:
                change = Change(qb["id"], qb["type"], qb["question"], va, vb, qa["answer"], qb["answer"])
                (fixed if verdict == "fixed" else broken)[label].append(change)
    return Comparison(a, b, deltas, fixed, broken, gates, _warnings(a, b), path_b)


# --- the report ---------------------------------------------------------------------------------------------


def _fmt(value, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _signed(value: float | None) -> str:
    return "–" if value is None else f"{value:+.3f}"


def _run_line(label: str, run: dict) -> str:
    models = run.get("models", {})
    embed = models.get("embedder", {})
    llm = models.get("llm") or {}
    answerer = models.get("answerer", "?") + (f" ({llm.get('model')} @ {llm.get('base_url')})" if llm else "")
    return (
        f"| {label} | `{run.get('run')}` | {run.get('name')} | {embed.get('embed_model')} `{embed.get('identity')}` | "
        f"{answerer} | {len(run['questions'])} | `{str(run.get('config_sha256'))[:12]}` |"
    )


def _short(text: str, n: int = 80) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= n else text[: n - 1] + "…"


def report_markdown(c: Comparison, chart_name: str | None = None) -> str:
    """The comparison as Markdown: runs, metric table with gate status, fixed/broken questions, warnings."""
    lines = [f"# Eval comparison: {c.run_a.get('run')} → {c.run_b.get('run')}", ""]
    lines.append(
        f"**Gate: {'PASS' if c.passed else 'FAIL'}**"
        + (
            ""
            if c.passed
            else " — " + ", ".join(f"{d.metric} {_signed(d.delta)} (allowed {d.threshold:g})" for d in c.regressions)
        )
    )
    lines += [
        "",
        "| | run | config | embedder | answerer | questions | config hash |",
        "|---|---|---|---|---|---|---|",
        _run_line("A", c.run_a),
        _run_line("B", c.run_b),
        "",
    ]
    for w in c.warnings:
        lines.append(f"> warning: {w}")
    if c.warnings:
        lines.append("")
    lines += ["| metric | A | B | Δ (B−A) | allowed worsening | status |", "|---|---|---|---|---|---|"]
    for d in c.deltas:
        status = "REGRESSION" if d.regressed else ("not gated" if d.threshold is None else "ok")
        lines.append(
            f"| {d.metric} | {_fmt(d.a)} | {_fmt(d.b)} | {_signed(d.delta)} | "
            f"{'–' if d.threshold is None else f'{d.threshold:g}'} | {status} |"
        )
    if chart_name:
        lines += ["", f"![metrics A vs B]({chart_name})"]
    for title, groups in (("Broken (right in A, wrong in B)", c.broken), ("Fixed (wrong in A, right in B)", c.fixed)):
        lines += ["", f"## {title}", ""]
        if not any(groups.values()):
            lines.append("none")
        for label, changes in groups.items():
            if not changes:
                continue
            lines += [
                f"### {label}: {len(changes)}",
                "",
                "| id | type | question | A | B | answer in B |",
                "|---|---|---|---|---|---|",
            ]
            lines += [
                f"| {ch.id} | {ch.type} | {_short(ch.question, 40)} | {_fmt(ch.a, 2)} | {_fmt(ch.b, 2)} | {_short(ch.answer_b)} |"
                for ch in changes
            ]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def write_report(c: Comparison, out_dir: str | Path | None = None) -> tuple[Path, Path]:
    """Write compare-<A>-vs-<B>.md and .png into out_dir (default: beside run B). Returns (markdown, png)."""
    if out_dir is None:
        if c.path_b is None:
            raise ConfigError(
                "run B was given as data, so there is no folder to write the report beside",
                fix="pass out_dir (--out DIR)",
            )
        out_dir = c.path_b.parent
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"compare-{c.run_a.get('run')}-vs-{c.run_b.get('run')}"
    png = plot_runs(
        [(f"A {c.run_a.get('run')}", c.run_a["summary"]), (f"B {c.run_b.get('run')}", c.run_b["summary"])],
        out_dir / f"{stem}.png",
        title=f"A {c.run_a.get('run')}  vs  B {c.run_b.get('run')}",
    )
    md = out_dir / f"{stem}.md"
    md.write_text(report_markdown(c, png.name), encoding="utf-8")
    return md, png
