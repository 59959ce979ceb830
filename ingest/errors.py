"""The project's error types; turned into friendly messages only at the CLI/UI edge."""


class GovQAError(Exception):
    """Base class: every error the project raises on purpose. `fix` says what the user should do."""

    def __init__(self, message: str, *, fix: str | None = None, path: str | None = None):
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.path = path

    def __str__(self) -> str:
        text = f"{self.path}: {self.message}" if self.path else self.message
        return f"{text}\n  fix: {self.fix}" if self.fix else text


class IngestError(GovQAError):
    """A file could not be turned into reports (unreadable, empty, binary, no year or region)."""


class ManifestError(GovQAError):
    """The manifest file is malformed or names something that does not exist."""


class IndexError_(GovQAError):
    """The index is missing, corrupt, or was built with another embedding model."""


class ConfigError(GovQAError):
    """A setting has a value that cannot work (unknown model, bad URL, missing prompt)."""


class LLMError(GovQAError):
    """The configured LLM endpoint failed (after retries) or answered nonsense."""


class LimitError(GovQAError):
    """An input (file, upload, question) is larger than a configured limit; the message names the setting."""


class QuestionError(GovQAError):
    """A question that cannot be asked: it has no text, or no Chinese to search the reports with."""


class BusyError(GovQAError):
    """Another process is writing to the data dir and the caller asked not to wait for it."""
