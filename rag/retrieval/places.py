"""Place names a question may mention: provinces, prefecture-level cities and county-level cities of China."""

from __future__ import annotations

from functools import lru_cache

from ingest.gazetteer import gazetteer


@lru_cache(maxsize=1)
def place_names() -> tuple[str, ...]:
    """Full names from the gazetteer, so that a region the corpus lacks can be named in the answer."""
    return tuple(p.full for p in gazetteer().names_at("province", "prefecture", "county-city"))
