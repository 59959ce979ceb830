"""Embeddings from an OpenAI-compatible ``/v1/embeddings`` server, through the ``openai`` client.

text-embeddings-inference, vLLM, Infinity and Ollama all serve this endpoint; it is how millions of paragraphs
are embedded on a GPU box. GOVQA_EMBED_BASE_URL names the server and GOVQA_EMBED_MODEL the model asked for.
Texts go in requests of GOVQA_EMBED_SERVER_BATCH_SIZE; the client retries 408/429/5xx, timeouts and refused
connections GOVQA_EMBED_SERVER_MAX_RETRIES times with exponential backoff. The client asks for base64 vectors
(its default) and also reads plain float lists from servers that ignore that. e5 models need their
'query: ' / 'passage: ' prefixes, which servers do not add: they are put on here (GOVQA_EMBED_E5_PREFIXES).
Vectors are L2-normalised here whatever the server does.

The identity is ``server:<base URL>:<model>:<dim>`` (plus the passage prefix): vectors cached or indexed from
one server and model are never mixed with another's or with the local model's; switching means re-embedding
(once per identity: the cache keeps every identity's vectors).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ingest.errors import ConfigError
from rag.embedding.embed import Embedder

if TYPE_CHECKING:
    from rag.settings import Settings

E5_PREFIXES = ("query: ", "passage: ")
_URL = "GOVQA_EMBED_BASE_URL"


class ServerEmbedder(Embedder):
    """Passages and questions embedded by an OpenAI-compatible server (see the module docstring)."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        batch_size: int = 32,
        query_prefix: str = "",
        passage_prefix: str = "",
        dim: int | None = None,
        timeout: float = 60.0,
        max_retries: int = 3,
    ):
        import openai

        self.base_url = base_url.rstrip("/")
        self.name = model
        self.batch_size = max(1, batch_size)
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.client = openai.OpenAI(
            base_url=self.base_url, api_key=api_key or "unused", timeout=timeout, max_retries=max_retries
        )
        self.dim = 0  # learned from the first answer
        probe = self._request(["维度"])  # reachability, and the dim the identity is made of
        self.dim = int(probe.shape[1])
        if dim is not None and dim != self.dim:
            raise ConfigError(
                f"the embeddings server at {self.base_url} returns {self.dim}-dim vectors for model {model!r}, "
                f"but GOVQA_EMBED_SERVER_DIM is {dim}",
                fix="set GOVQA_EMBED_SERVER_DIM to the model's size (or unset it), or GOVQA_EMBED_MODEL to the "
                "model you meant",
            )
        self.identity = f"server:{self.base_url}:{model}:{self.dim}"
        if passage_prefix:
            self.identity += f"|passage_prefix={passage_prefix!r}"

    def _request(self, texts: list[str]) -> np.ndarray:
        """One /v1/embeddings request: (len(texts), dim) float32 rows in the order of texts, L2-normalised."""
        import openai

        try:
            response = self.client.embeddings.create(model=self.name, input=texts)
        except openai.APIConnectionError as exc:  # refused, reset, DNS, timeout: after the retries
            raise ConfigError(
                f"the embeddings server {_URL}={self.base_url} is unreachable ({exc.__class__.__name__}: {exc})",
                fix=f"start the server or correct {_URL} (unset it to embed locally with GOVQA_EMBED_BACKEND)",
            ) from exc
        except openai.APIStatusError as exc:
            raise ConfigError(
                f"the embeddings server {_URL}={self.base_url} answered HTTP {exc.status_code} for model "
                f"{self.name!r}: {str(exc)[:300]}",
                fix="check GOVQA_EMBED_MODEL (the model name the server serves) and GOVQA_EMBED_API_KEY",
            ) from exc
        except (openai.OpenAIError, ValueError) as exc:
            raise ConfigError(
                f"the embeddings server {_URL}={self.base_url} did not answer like /v1/embeddings ({exc})",
                fix=f"point {_URL} at an OpenAI-compatible base URL (usually ending in /v1)",
            ) from exc
        rows = sorted(response.data, key=lambda d: d.index)
        try:
            vectors = np.asarray([d.embedding for d in rows], dtype=np.float32)
        except ValueError as exc:  # ragged rows
            raise self._bad_shape(f"rows of different sizes ({exc})") from exc
        if vectors.ndim != 2 or len(vectors) != len(texts) or vectors.shape[1] == 0:
            raise self._bad_shape(f"{len(rows)} vectors of shape {vectors.shape[1:]} for {len(texts)} texts")
        if self.dim and vectors.shape[1] != self.dim:
            raise self._bad_shape(f"{vectors.shape[1]}-dim vectors where it gave {self.dim} before")
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)

    def _bad_shape(self, what: str) -> ConfigError:
        return ConfigError(
            f"the embeddings server {_URL}={self.base_url} (model {self.name!r}) returned {what}",
            fix="check that the server serves GOVQA_EMBED_MODEL as an embedding model; an index built with "
            "another dim must be rebuilt (govqa index)",
        )

    def embed_passages(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """Vectors (len(texts), dim), requested GOVQA_EMBED_SERVER_BATCH_SIZE texts at a time."""
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        from tqdm.auto import tqdm

        texts = [self.passage_prefix + t for t in texts]
        starts = range(0, len(texts), self.batch_size)
        parts = [
            self._request(texts[i : i + self.batch_size])
            for i in tqdm(starts, desc="embedding", unit="request", disable=not progress)
        ]
        return np.concatenate(parts)

    def embed_query(self, text: str) -> np.ndarray:
        return self._request([self.query_prefix + text])[0]


def load_server_embedder(settings: Settings, prefixes: Callable[..., tuple[str, str]]) -> ServerEmbedder:
    """The server embedder the settings describe; `prefixes(settings, query, passage)` applies
    GOVQA_QUERY_PREFIX / GOVQA_PASSAGE_PREFIX over the e5 default."""
    url = (settings.embed_base_url or "").strip()
    if not url.startswith(("http://", "https://")):
        raise ConfigError(
            f"{_URL}={url!r} is not an http(s) URL", fix=f"set {_URL} like http://127.0.0.1:8080/v1, or unset it"
        )
    model = settings.embed_model.strip()
    e5 = settings.embed_e5_prefixes if settings.embed_e5_prefixes is not None else "e5" in model.lower()
    query_prefix, passage_prefix = prefixes(settings, *(E5_PREFIXES if e5 else ("", "")))
    key = settings.embed_api_key.get_secret_value() if settings.embed_api_key else None
    return ServerEmbedder(
        url,
        model,
        key,
        settings.embed_server_batch_size,
        query_prefix,
        passage_prefix,
        settings.embed_server_dim,
        settings.embed_server_timeout,
        settings.embed_server_max_retries,
    )
