"""Running the eval: ask every question, score it, write a run file (JSON) and its chart (PNG) under data_dir/eval/runs."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ingest.errors import ConfigError, GovQAError
from rag.settings import Settings

from .chart import plot_runs
from .config import default_name, safe_name
from .dataset import check_evidence, gold_paragraphs, load_items
from .identity import code_identity, config_hash, model_identities, public_settings
from .indexes import ensure_index
from .metrics import evaluate, normalize, ranked_paragraphs, summarize, summarize_by_type

ITEMS = Path(__file__).resolve().parent / "questions.jsonl"
RUN_FORMAT = 1
ANSWERERS = ("extractive", "llm")


class RunFileError(GovQAError):
    """A run file cannot be read (missing, not JSON, not an eval run)."""


@dataclass
class RunResult:
    """A finished run: where its JSON and chart were written, and the data written."""

    path: Path
    chart: Path
    data: dict

    @property
    def summary(self) -> dict:
        return self.data["summary"]

    @property
    def by_type(self) -> dict:
        return self.data["by_type"]


def runs_dir(settings: Settings) -> Path:
    """Where runs are written by default (the UI shows the newest one)."""
    return settings.data_dir / "eval" / "runs"


def check_answerer(settings: Settings) -> None:
    """ConfigError when the answerer is unknown, or is the LLM with no endpoint configured."""
    if settings.answerer not in ANSWERERS:
        raise ConfigError(
            f"unknown answerer {settings.answerer!r}", fix=f"set answerer to one of {', '.join(ANSWERERS)}"
        )
    if settings.answerer == "llm" and not settings.llm_configured:
        raise ConfigError(
            'this eval config uses the LLM answerer (answerer = "llm") but no LLM endpoint is configured',
            fix="set GOVQA_LLM_BASE_URL (e.g. http://127.0.0.1:8000/v1) and GOVQA_LLM_MODEL, plus GOVQA_LLM_API_KEY "
            "if the server needs a key; or run an extractive config such as eval/configs/e5.toml",
        )


def _new_run_path(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{time.strftime('%Y%m%d-%H%M%S')}-{safe_name(name)}"
    path, n = folder / f"{stem}.json", 1
    while path.exists():
        n += 1
        path = folder / f"{stem}-{n}.json"
    return path


def _question_record(item, answer, gold: list[str], result, seconds: float) -> dict:
    metrics = result.to_dict()
    for field_name in ("id", "type", "seconds"):
        metrics.pop(field_name)
    return {
        "id": item.id,
        "type": item.type,
        "question": item.question,
        "answer": answer.text,
        "refused": answer.refused,
        "citations": [c.mark for c in answer.citations],
        "citation_ids": [c.id for c in answer.citations],
        "gold": gold,
        "retrieved": ranked_paragraphs(answer)[:10],
        "keys": item.keys,
        "answerer": answer.answerer,
        "notes": list(answer.notes),
        "metrics": metrics,
        "seconds": round(seconds, 4),
    }


def _limit_items(items: list, limit: int | None) -> list:
    """The first `limit` items (all when limit is None); ConfigError when limit is below 1."""
    if limit is not None:
        if limit < 1:
            raise ConfigError(f"limit must be at least 1, got {limit}", fix="pass --limit N with N >= 1")
        items = items[:limit]
    return items


def _ready_assistant(settings: Settings, assistant, progress: bool) -> tuple[Any, bool, float, float]:
    """The assistant to ask (the given one, or one loaded on the config's index): (assistant, built, build s, load s)."""
    from rag.assistant import Assistant

    build_seconds, built = 0.0, False
    if assistant is None:
        where = ensure_index(settings, progress=progress)
        built, build_seconds = where.built, where.build_seconds
        t0 = time.perf_counter()
        assistant = Assistant.load(where.data_dir, settings)
        load_seconds = time.perf_counter() - t0
    else:
        load_seconds = 0.0
        if settings.answerer == "llm" and assistant.llm is None:
            raise ConfigError(
                "the given assistant has no LLM but the settings ask for the LLM answerer",
                fix="load the assistant with GOVQA_LLM_BASE_URL and GOVQA_LLM_MODEL set",
            )
    return assistant, built, build_seconds, load_seconds


def _ask_items(assistant, items: list, answerer: str, name: str, progress: bool) -> tuple[list, list, list, float]:
    """Ask and score every item: (question records, results, top-1 baseline hits, seconds taken)."""
    corpus = assistant.corpus
    records, results, baseline = [], [], []
    t_questions = time.perf_counter()
    for item in tqdm(items, desc=f"eval {name}", unit="q", disable=not progress):
        gold = gold_paragraphs(item, corpus)
        t0 = time.perf_counter()
        answer = assistant.ask(item.question, answerer=answerer)
        seconds = time.perf_counter() - t0
        if item.keys:
            baseline.append(top1_keys(assistant.search(item.question), item.keys))
        result = evaluate(item, answer, gold)
        result.seconds = seconds  # wall time of ask(): retrieval + answer, the same for every answerer
        results.append(result)
        records.append(_question_record(item, answer, gold, result, seconds))
    return records, results, baseline, time.perf_counter() - t_questions


def _items_record(items_path: Path, items: list, limit: int | None) -> dict:
    """The run file's "items" entry: which question file (and its hash), how many asked, the limit given."""
    return {
        "path": str(items_path),
        "sha256": hashlib.sha256(items_path.read_bytes()).hexdigest(),
        "n": len(items),
        "limit": limit,
    }


def _corpus_record(assistant, items: list) -> dict:
    """The run file's "corpus" entry: the data dir and index generation asked, and the items' evidence problems."""
    manifest = assistant.index.manifest
    return {
        "data_dir": str(assistant.index.path.parent.parent),
        "index_generation": assistant.index.path.name,
        "index_built": manifest.get("built"),
        "corpus_sha256": manifest.get("corpus_sha256"),
        "reports": sorted(manifest.get("reports", {})),
        "evidence_problems": check_evidence(items, assistant.corpus),
    }


def _answerer_counts(records: list[dict]) -> dict[str, int]:
    """How many answers each answerer gave."""
    answerers: dict[str, int] = {}
    for r in records:
        answerers[r["answerer"]] = answerers.get(r["answerer"], 0) + 1
    return answerers


def run_eval(
    settings: Settings,
    items_path: str | Path | None = None,
    out_dir: str | Path | None = None,
    limit: int | None = None,
    progress: bool = True,
    name: str | None = None,
    assistant=None,
    config_file: str | Path | None = None,
) -> RunResult:
    """Ask every item of `items_path` (default eval/questions.jsonl; the first `limit` only if given), score the
    answers, and write <out_dir or data_dir/eval/runs>/<timestamp>-<name>.json plus <same stem>.png.

    Without `assistant`, the index is the main one when its embedding model matches settings.embed_model,
    else a data dir of the config's own (built from settings.reports_dir on first use; see eval/indexes.py).
    """
    started = time.perf_counter()
    code = code_identity()  # before any question: the code the answers come from
    check_answerer(settings)
    name = name or default_name(settings)
    items_path = Path(items_path) if items_path else ITEMS
    items = _limit_items(load_items(items_path), limit)
    assistant, built, build_seconds, load_seconds = _ready_assistant(settings, assistant, progress)
    records, results, baseline, questions_seconds = _ask_items(assistant, items, settings.answerer, name, progress)

    settings_record = public_settings(settings)
    models = model_identities(settings, assistant.index.manifest, assistant.llm)
    path = _new_run_path(Path(out_dir) if out_dir else runs_dir(settings), name)
    data: dict[str, Any] = {
        "format": RUN_FORMAT,
        "run": path.stem,
        "name": name,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "config_file": str(config_file) if config_file else None,
        "config_sha256": config_hash(settings_record, models),
        "settings": settings_record,
        "models": models,
        "code": code,
        "items": _items_record(items_path, items, limit),
        "corpus": _corpus_record(assistant, items),
        "timings": {
            "index_build_seconds": round(build_seconds, 3),
            "index_built_now": built,
            "load_seconds": round(load_seconds, 3),
            "questions_seconds": round(questions_seconds, 3),
            "mean_seconds": round(questions_seconds / len(items), 4),
            "total_seconds": round(time.perf_counter() - started, 3),
        },
        "answerers": _answerer_counts(records),
        "summary": summarize(results),
        "baseline": {"top1_paragraph_key_accuracy": sum(baseline) / len(baseline) if baseline else None},
        "by_type": summarize_by_type(results),
        "questions": records,
    }
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    chart = plot_runs(
        [(name, data["summary"])],
        path.with_suffix(".png"),
        title=f"{path.stem}  (n={len(items)}, {models['embedder']['embed_model']}, {settings.answerer})",
    )
    return RunResult(path, chart, data)


def top1_keys(retrieval, keys: list[str]) -> bool:
    """The baseline answer "quote each group's top retrieved paragraph whole": does it hold every key?"""
    text = normalize(" ".join(hits[0].text for _, hits in retrieval.groups if hits))
    return all(normalize(k) in text for k in keys)


def load_run(path: str | Path) -> dict:
    """A run file written by run_eval; RunFileError when it is missing or not a run."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunFileError(
            "no such run file",
            path=str(path),
            fix="pass a .json file from <data_dir>/eval/runs (written by govqa eval run)",
        ) from None
    except (OSError, ValueError) as e:
        raise RunFileError(
            f"not a readable JSON run file ({e})", path=str(path), fix="pass a run file written by govqa eval run"
        ) from None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("summary"), dict)
        or not isinstance(data.get("questions"), list)
    ):
        raise RunFileError(
            "not an eval run (no summary / questions)", path=str(path), fix="pass a run file written by govqa eval run"
        )
    data.setdefault("run", path.stem)
    return data
