"""Eval configs: a TOML file of Settings overrides plus a `name` (and optional gate [thresholds])."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ingest.errors import ConfigError
from rag.settings import PROJECT_ROOT, Settings, load_settings

CONFIGS_DIR = Path(__file__).resolve().parent / "configs"
SECRET_FIELDS = ("llm_api_key",)
RESERVED = ("name", "thresholds", "items")
PATHS = ("reports_dir", "items")  # relative paths in a config are relative to the project folder


@dataclass
class EvalConfig:
    """A named set of Settings overrides; `thresholds` (metric -> allowed drop) feed the compare gate."""

    name: str
    overrides: dict = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    path: Path | None = None
    items: Path | None = None  # the question file this config is for (default eval/questions.jsonl)

    def settings(self, **extra) -> Settings:
        """Settings from the GOVQA_* environment with this config's overrides (and `extra`) on top."""
        values = {**self.overrides, **{k: v for k, v in extra.items() if v is not None}}
        try:
            return load_settings(**values)
        except ConfigError as e:
            raise ConfigError(e.message, fix=e.fix, path=str(self.path) if self.path else None) from None


def default_name(settings: Settings) -> str:
    """A config name derived from the settings when no config file names one: "<embed_model>-<answerer>"."""
    return f"{safe_name(settings.embed_model)}-{settings.answerer}"


def safe_name(text: str) -> str:
    """`text` usable as a file or folder name (model paths like "BAAI/bge-small-zh" -> "BAAI--bge-small-zh")."""
    out = "".join(c if c.isalnum() or c in "-_." else "-" for c in text.replace("/", "--"))
    return out.strip("-.") or "config"


def parse_thresholds(table, where: str) -> dict[str, float]:
    """A {metric: allowed drop} table; ConfigError on a non-number."""
    if not isinstance(table, dict):
        raise ConfigError(
            "[thresholds] must be a table of metric = number",
            path=where,
            fix="write e.g.\n[thresholds]\nkey_accuracy = 0.02",
        )
    out = {}
    for metric, value in table.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ConfigError(
                f"threshold {metric!r} must be a number >= 0, got {value!r}",
                path=where,
                fix=f"write e.g. {metric} = 0.02",
            )
        out[metric] = float(value)
    return out


def load_config(path: str | Path) -> EvalConfig:
    """Read an eval config TOML. Keys are Settings field names (embed_model, answerer, top_k, reports_dir, ...), plus
    `name`, an optional `items` (the question file) and an optional [thresholds] table; relative `reports_dir` and
    `items` are relative to the project folder. Secrets are not allowed in the file (use GOVQA_LLM_API_KEY)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        names = sorted(p.name for p in CONFIGS_DIR.glob("*.toml"))
        raise ConfigError(
            "no such eval config file",
            path=str(path),
            fix=f"pass an existing TOML file, e.g. one of eval/configs/: {', '.join(names)}",
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"not a valid TOML file ({e})", path=str(path), fix="fix the TOML syntax") from None
    secrets = [k for k in data if k in SECRET_FIELDS]
    if secrets:
        raise ConfigError(
            f"{', '.join(secrets)} must not be written in a config file",
            path=str(path),
            fix="remove it and set GOVQA_LLM_API_KEY in the environment instead",
        )
    unknown = sorted(k for k in data if k not in Settings.model_fields and k not in RESERVED)
    if unknown:
        raise ConfigError(
            f"unknown setting {', '.join(repr(k) for k in unknown)}",
            path=str(path),
            fix=f"use Settings field names: {', '.join(sorted(Settings.model_fields))}",
        )
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"name must be a non-empty string, got {name!r}", path=str(path), fix='write name = "e5"')
    for key in PATHS:
        if key in data:
            data[key] = str(PROJECT_ROOT / data[key]) if not Path(data[key]).is_absolute() else data[key]
    overrides = {k: v for k, v in data.items() if k not in RESERVED}
    thresholds = parse_thresholds(data.get("thresholds", {}), str(path))
    items = Path(data["items"]) if "items" in data else None
    return EvalConfig(safe_name(name.strip()), overrides, thresholds, path, items)
