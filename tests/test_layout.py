"""The code's stages import in one direction only: ingest → rag (embedding → index → retrieval → answering)
→ eval / ui / cli. Checked on the source's import statements, so a backwards import fails here."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ORDER = ["rag.embedding", "rag.index", "rag.retrieval", "rag.answering"]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _stage(module: str) -> int | None:
    for i, stage in enumerate(ORDER):
        if module == stage or module.startswith(stage + "."):
            return i
    return None


def _modules(folder: str):
    return sorted((ROOT / folder).rglob("*.py"))


@pytest.mark.parametrize("path", _modules("ingest"), ids=lambda p: str(p.relative_to(ROOT)))
def test_ingest_imports_no_model_code(path):
    bad = {
        m
        for m in _imports(path)
        if m.split(".")[0] in {"rag", "eval", "ui", "cli", "torch", "sentence_transformers", "faiss"}
    }
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}: ingest stays free of models and of rag"


@pytest.mark.parametrize("path", _modules("rag"), ids=lambda p: str(p.relative_to(ROOT)))
def test_rag_imports_point_backwards(path):
    rel = path.relative_to(ROOT).with_suffix("")
    own = _stage(".".join(rel.parts))
    for module in _imports(path):
        assert module.split(".")[0] not in {"eval", "ui", "cli"}, f"{rel} imports {module}"
        other = _stage(module)
        if own is not None and other is not None:
            assert other <= own, f"{rel} (stage {ORDER[own]}) imports {module} from a later stage"


@pytest.mark.parametrize("path", _modules("rag") + _modules("ingest"), ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_stay_small(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= 330, f"{path.relative_to(ROOT)} has {lines} lines: split it where the pieces have names"
