"""Every third-party module the code imports (at the top or inside a function) comes from a distribution that
pyproject.toml declares: a fresh `pip install .` must not depend on what another package happened to pull in.

Checked on the source with `ast` and the installed distributions' own file lists
(`importlib.metadata.packages_distributions()`), so nothing is imported here.
"""

from __future__ import annotations

import ast
import functools
import sys
import tomllib
from importlib.metadata import distribution, packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
OWN = {"ingest", "rag", "eval", "ui", "cli"}
SOURCES = sorted(
    [
        *(ROOT / "ingest").rglob("*.py"),
        *(ROOT / "rag").rglob("*.py"),
        *(ROOT / "eval").rglob("*.py"),
        ROOT / "cli.py",
        ROOT / "ui.py",
    ]
)


# Modules that may import an optional extra's distributions (imported only when a setting asks for them).
OPTIONAL = {"rag/index/milvus_store.py": "milvus", "rag/index/milvus_search.py": "milvus"}


@functools.cache
def declared(extra: str | None = None) -> set[str]:
    """The distributions pyproject.toml declares: [project].dependencies, plus the named optional extra."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    reqs = project["dependencies"] + (project["optional-dependencies"][extra] if extra else [])
    return {canonicalize_name(Requirement(r).name) for r in reqs}


def imported_modules(path: Path) -> set[str]:
    """Absolute module names imported anywhere in the file (`import a.b`, `from a.b import c`)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


@functools.cache
def _distributions() -> dict[str, list[str]]:
    return packages_distributions()


@functools.cache
def _files(dist: str) -> tuple[str, ...]:
    return tuple(str(f) for f in distribution(dist).files or [])


def third_party(module: str) -> bool:
    top = module.split(".")[0]
    return top not in OWN and top not in sys.stdlib_module_names and top != "__future__"


@functools.cache
def providers(module: str) -> set[str]:
    """The distributions that install `module`. For a namespace shared by several distributions (llama_index.*),
    only those whose files hold the module's own folder or file."""
    parts = module.split(".")
    dists = set(_distributions().get(parts[0], []))
    if len(dists) <= 1:
        return {canonicalize_name(d) for d in dists}
    best: set[str] = set()
    for depth in range(len(parts), 1, -1):
        prefix = "/".join(parts[:depth])
        best = {d for d in dists if any(f == prefix + ".py" or f.startswith(prefix + "/") for f in _files(d))}
        if best:
            break
    return {canonicalize_name(d) for d in best or dists}


CASES = sorted({(str(p.relative_to(ROOT)), m) for p in SOURCES for m in imported_modules(p) if third_party(m)})


def test_the_audit_sees_the_code():
    modules = {m for _, m in CASES}
    assert {"jieba", "faiss", "typer", "gradio", "pydantic_settings", "lxml_html_clean"} & {
        m.split(".")[0] for m in modules
    }
    assert any(m.startswith("llama_index.") for m in modules)


@pytest.mark.parametrize("source,module", CASES, ids=[f"{s}:{m}" for s, m in CASES])
def test_import_is_declared(source, module):
    found = providers(module)
    assert found, f"{source} imports {module}, which no installed distribution provides"
    extra = OPTIONAL.get(source)
    assert found & declared(extra), (
        f"{source} imports {module} from {sorted(found)}, not declared in pyproject.toml's [project].dependencies"
        + (f" or its [{extra}] extra" if extra else "")
    )


def test_optional_extras_are_in_dev_so_tests_run():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    dev = {canonicalize_name(Requirement(r).name) for r in project["optional-dependencies"]["dev"]}
    for extra in set(OPTIONAL.values()):
        assert declared(extra) - declared() <= dev, f"the [{extra}] extra is not all in [dev]"


def test_an_optional_import_is_allowed_only_where_listed():
    """pymilvus is declared only in the [milvus] extra: any module outside OPTIONAL importing it fails the audit."""
    assert "pymilvus" not in declared() and "pymilvus" in declared("milvus")
    assert all(
        extra == "milvus"
        for source, module in CASES
        if module.startswith("pymilvus")
        for extra in [OPTIONAL.get(source)]
    )


def test_a_missing_declaration_is_caught():
    """The check itself can fail: a module of an installed but undeclared distribution (pytest) is not declared."""
    assert providers("_pytest.python") and not providers("_pytest.python") & declared()
