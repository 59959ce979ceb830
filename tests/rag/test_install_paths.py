"""Where files live: var/, data/reports/ and prompts/ of a checkout; the user data dir and the package's shipped copies
when installed; GOVQA_* wins over both. (tests/test_wheel.py checks the installed case on a real wheel.)"""

from __future__ import annotations

import tomllib

import pytest

import rag.settings as settings_module
from rag.settings import PROJECT_ROOT, Settings, in_checkout

PYPROJECT = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ("GOVQA_DATA_DIR", "GOVQA_REPORTS_DIR", "GOVQA_PROMPTS_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env


def test_checkout_defaults(clean_env):
    assert in_checkout()
    s = Settings()
    assert s.data_dir == PROJECT_ROOT / "var"
    assert s.reports_dir == PROJECT_ROOT / "data" / "reports" and (s.reports_dir / "manifest.toml").is_file()
    assert (s.prompts_dir / "answer.txt").is_file()


def test_environment_wins(clean_env, monkeypatch, tmp_path):
    monkeypatch.setenv("GOVQA_DATA_DIR", str(tmp_path / "mine"))
    assert Settings().data_dir == tmp_path / "mine"


@pytest.mark.parametrize(
    "pyproject, expected",
    [
        (None, False),
        ('[project]\nname = "other"\n', False),
        ("not toml [", False),
        ('[project]\nname = "govreport-qa"\n', True),
    ],
)
def test_in_checkout_reads_the_project_name(tmp_path, pyproject, expected):
    if pyproject is not None:
        (tmp_path / "pyproject.toml").write_text(pyproject, encoding="utf-8")
    assert in_checkout(tmp_path) is expected


def test_outside_a_checkout_the_user_data_dir_and_shipped_copies(clean_env, monkeypatch, tmp_path):
    site = tmp_path / "site-packages"  # what PROJECT_ROOT is for an installed wheel: no pyproject.toml
    site.mkdir()
    monkeypatch.setattr(settings_module, "PROJECT_ROOT", site)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    s = Settings()
    assert s.data_dir == tmp_path / "xdg" / "govqa"
    assert s.reports_dir == settings_module.SHIPPED / "reports"
    assert s.prompts_dir == settings_module.SHIPPED / "prompts"


def test_the_wheel_ships_the_folders_the_settings_name():
    """pyproject.toml maps rag.shipped.* onto the checkout's folders, with patterns that take their files."""
    tool = PYPROJECT["tool"]["setuptools"]
    mapped = {pkg: PROJECT_ROOT / folder for pkg, folder in tool["package-dir"].items()}
    assert mapped == {
        "rag.shipped.prompts": PROJECT_ROOT / "prompts",
        "rag.shipped.reports": PROJECT_ROOT / "data" / "reports",
    }
    for pkg, folder in mapped.items():
        assert pkg in tool["packages"]
        shipped = {p.name for pattern in tool["package-data"][pkg] for p in folder.glob(pattern)}
        assert shipped == {p.name for p in folder.iterdir() if p.is_file()}, f"{folder} has files the wheel leaves out"
    assert settings_module.SHIPPED == PROJECT_ROOT / "rag" / "shipped"
