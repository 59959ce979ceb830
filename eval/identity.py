"""What an eval run ran with: settings without secrets, model identities, and a hash of that configuration."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from rag.settings import PROJECT_ROOT, Settings

from .config import SECRET_FIELDS

# Where things live, not what they are: recorded, but left out of the configuration hash.
LOCATION_FIELDS = ("data_dir", "reports_dir", "model_cache", "prompts_dir")


def public_url(url: str | None) -> str | None:
    """The URL without user:password@ and without a query string (either may carry a credential)."""
    if not url:
        return url
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def public_settings(settings: Settings) -> dict:
    """All settings as JSON values, secrets left out (only whether a key is set is recorded)."""
    values = settings.model_dump(mode="json", exclude=set(SECRET_FIELDS))
    values["llm_base_url"] = public_url(values.get("llm_base_url"))
    values["llm_api_key_set"] = settings.llm_api_key is not None and bool(settings.llm_api_key.get_secret_value())
    return values


def file_sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return None


def model_identities(settings: Settings, manifest: dict, llm=None) -> dict:
    """The embedder as the index manifest records it; the LLM endpoint, model and prompt hash when the LLM answers."""
    models = {
        "embedder": {
            "embed_model": manifest.get("embed_model"),
            "identity": manifest.get("embed_identity"),
            "dim": manifest.get("dim"),
        },
        "answerer": settings.answerer,
        "llm": None,
        "prompt": None,
    }
    if settings.answerer == "llm" and llm is not None:
        described = llm.describe()
        models["llm"] = {"base_url": public_url(described.get("base_url")), "model": described.get("model")}
        path = Path(settings.prompts_dir) / f"{settings.llm_prompt}.txt"
        models["prompt"] = {"name": settings.llm_prompt, "sha256": file_sha256(path)}
    return models


def code_identity(root: Path = PROJECT_ROOT) -> dict:
    """sha256 over the sources that shape answers (rag/, ingest/, prompts/): runs of one config on other code
    differ here, not in the configuration hash."""
    h = hashlib.sha256()
    for folder, pattern in (("rag", "*.py"), ("ingest", "*.py"), ("prompts", "*.txt")):
        for path in sorted((root / folder).glob(pattern)):
            h.update(f"{folder}/{path.name}".encode() + b"\x00" + path.read_bytes() + b"\x01")
    return {"sources_sha256": h.hexdigest()}


def config_hash(settings_record: dict, models: dict) -> str:
    """sha256 of the settings (locations left out) and the model identities: equal hashes, same configuration."""
    kept = {k: v for k, v in settings_record.items() if k not in LOCATION_FIELDS}
    blob = json.dumps({"settings": kept, "models": models}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
