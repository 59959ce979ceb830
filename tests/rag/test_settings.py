"""Settings: every field described, read from GOVQA_* when constructed, and listed in the README table."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from ingest.errors import ConfigError
from rag.settings import PROJECT_ROOT, Settings, load_settings

README = PROJECT_ROOT / "README.md"


def _readme_rows() -> dict[str, tuple[str, str]]:
    """variable -> (default, meaning) from the README's settings table."""
    rows = {}
    for line in README.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\| `(GOVQA_[A-Z0-9_]+)`[^|]* \| `([^`]*)` \| (.+) \|$", line)
        if match:
            rows[match.group(1)] = (match.group(2), match.group(3))
    return rows


def _shown(default) -> str:
    if isinstance(default, Path):
        try:
            return str(default.relative_to(PROJECT_ROOT))
        except ValueError:
            return str(default).replace(str(Path.home()), "~")
    return str(default)


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
def test_every_field_is_described_and_in_the_readme(name):
    field = Settings.model_fields[name]
    assert field.description and len(field.description) > 15
    default, meaning = _readme_rows()[f"GOVQA_{name.upper()}"]
    assert default == _shown(field.get_default(call_default_factory=True))
    assert meaning == field.description


def test_environment_is_read_when_constructed_not_at_import(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.delenv("GOVQA_QUERY_ENCODER", raising=False)
    before = Settings()
    monkeypatch.setenv("GOVQA_QUERY_ENCODER", "torch")
    monkeypatch.setenv("GOVQA_RRF_K", "7")
    after = Settings()
    assert (before.query_encoder, after.query_encoder, after.rrf_k) == ("onnx", "torch", 7)


@pytest.mark.parametrize(
    "variable, value", [("GOVQA_QUERY_ENCODER", "gpu"), ("GOVQA_QUERY_THREADS", "0"), ("GOVQA_RRF_K", "many")]
)
def test_bad_values_are_a_config_error_naming_the_variable(monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError):
        Settings()
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert f"({variable})={value!r}" in err.value.message and "README" in err.value.fix
