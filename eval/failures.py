"""The failed questions of a run, grouped by cause, as Markdown for whoever fixes retrieval or the answerer."""

from __future__ import annotations

from pathlib import Path

from ingest.model import Corpus

from .metrics import normalize
from .run import load_run

CAUSES = {
    "key_absent": "Key absent from the gold paragraph text (the eval item itself may be wrong)",
    "missing_refusal": "Missing refusal (should refuse, answered)",
    "false_refusal": "False refusal (answerable, refused)",
    "wrong_paragraph": "Wrong paragraph retrieved (no gold paragraph in the top 5, answer lacks the keys)",
    "wrong_sentence": "Right paragraph retrieved, but the answer lacks the keys (wrong sentence picked)",
    "imprecise_citations": "Keys right, but some citations do not support the item (citation precision < 1)",
}


def paragraph_text(corpus: Corpus, paragraph_id: str) -> str:
    """The text of paragraph "<report id>-p<number>", "" when the corpus lacks it."""
    report_id, _, number = paragraph_id.rpartition("-p")
    try:
        return corpus.report(report_id).paragraph(int(number)).text
    except (KeyError, ValueError, LookupError):
        return ""


def missing_keys(question: dict, corpus: Corpus) -> list[str]:
    """The question's keys that occur in none of its gold paragraphs (normalised like key accuracy)."""
    texts = [normalize(paragraph_text(corpus, pid)) for pid in question.get("gold", [])]
    return [k for k in question.get("keys", []) if not any(normalize(k) in t for t in texts)]


def cause(question: dict, corpus: Corpus) -> str | None:
    """The first cause that explains the question's failure, or None when it passed."""
    m = question["metrics"]
    if m["refuse"]:
        return None if m["refused"] else "missing_refusal"
    if missing_keys(question, corpus):
        return "key_absent"
    if m["refused"]:
        return "false_refusal"
    if not m["key_correct"]:
        return "wrong_paragraph" if not m["hit_at_5"] else "wrong_sentence"
    if m["citation_precision"] is not None and m["citation_precision"] < 1:
        return "imprecise_citations"
    return None


def group_failures(run: dict, corpus: Corpus) -> dict[str, list[dict]]:
    """cause -> the run's questions failing for that cause (see CAUSES), in run order."""
    groups: dict[str, list[dict]] = {c: [] for c in CAUSES}
    for q in run["questions"]:
        c = cause(q, corpus)
        if c:
            groups[c].append(q)
    return groups


def _cell(text: str, n: int = 120) -> str:
    text = " ".join(str(text).split()).replace("|", "\\|")
    return text if len(text) <= n else text[: n - 1] + "…"


def failures_markdown(run: dict, corpus: Corpus) -> str:
    """One section per cause: id, type, question, keys, gold vs retrieved paragraphs, the answer given."""
    groups = group_failures(run, corpus)
    total = sum(len(v) for v in groups.values())
    lines = [
        f"# Eval failures of run `{run.get('run')}`",
        "",
        f"{total} of {len(run['questions'])} questions fail; each is listed once, under its first cause in this "
        "order: " + " > ".join(groups) + ".",
        "",
        "| cause | questions |",
        "|---|---|",
    ]
    lines += [f"| {CAUSES[c]} | {len(qs)} |" for c, qs in groups.items()]
    for c, qs in groups.items():
        if not qs:
            continue
        lines += [
            "",
            f"## {CAUSES[c]}: {len(qs)}",
            "",
            "| id | type | question | keys | gold | top-5 retrieved | cited | answer |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for q in qs:
            keys = ", ".join(q.get("keys", []))
            if c == "key_absent":
                keys += " (absent: " + ", ".join(missing_keys(q, corpus)) + ")"
            lines.append(
                f"| {q['id']} | {q['type']} | {_cell(q['question'], 60)} | {_cell(keys, 60)} | "
                f"{', '.join(q.get('gold', []))} | {', '.join(q.get('retrieved', [])[:5])} | "
                f"{' '.join(q.get('citations', []))} | {_cell(q['answer'])} |"
            )
    return "\n".join(lines) + "\n"


def failures_report(run_path: str | Path) -> str:
    """failures_markdown for a run file, over the corpus snapshot of the index generation the run searched."""
    run = load_run(run_path)
    data_dir = Path(run["corpus"]["data_dir"])
    generation = data_dir / "index" / str(run["corpus"].get("index_generation"))
    return failures_markdown(run, run_corpus(data_dir, generation))


def run_corpus(data_dir: Path, generation: Path | None = None) -> Corpus:
    """The corpus a run searched: its index generation's reports, or (pruned since) the corpus of record."""
    from rag.index.build import current_corpus
    from rag.index.store import generation_corpus
    from rag.settings import load_settings

    if generation is not None and (generation / "manifest.json").exists():
        return generation_corpus(generation)
    return current_corpus(load_settings(data_dir=data_dir))
