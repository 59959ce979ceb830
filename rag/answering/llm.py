"""A chat client for any OpenAI-compatible endpoint: retries with backoff, streaming, <think> removal.

Every failure, a reply that is not a chat completion included, is an LLMError (the answerer falls back on it)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from typing import TypeVar, cast

import httpx
import openai
from openai.types.chat import ChatCompletionMessageParam

from ingest.errors import ConfigError, LLMError
from rag.settings import Settings

T = TypeVar("T")
OPEN, CLOSE = "<think>", "</think>"
CHECK_FIX = "check GOVQA_LLM_BASE_URL (usually ends in /v1), GOVQA_LLM_MODEL and GOVQA_LLM_API_KEY, and that the server is running"


class ThinkFilter:
    """Removes <think>...</think> reasoning from text fed piece by piece (tags may be split across pieces).

    An unterminated <think> hides everything after it; whitespace before the answer is dropped.
    """

    def __init__(self) -> None:
        self._buffer = ""
        self._inside = False
        self._started = False  # has any answer text been emitted yet

    def feed(self, piece: str) -> str:
        """The answer text that can be emitted now."""
        self._buffer += piece
        out = []
        while True:
            tag = CLOSE if self._inside else OPEN
            at = self._buffer.find(tag)
            if at >= 0:
                if not self._inside:
                    out.append(self._buffer[:at])
                self._buffer = self._buffer[at + len(tag) :]
                self._inside = not self._inside
                continue
            keep = _partial_tag_length(self._buffer, tag)
            if not self._inside:
                out.append(self._buffer[: len(self._buffer) - keep])
            self._buffer = self._buffer[len(self._buffer) - keep :]
            return self._emit("".join(out))

    def flush(self) -> str:
        """The rest of the answer at the end of the text (nothing if a <think> was left open)."""
        rest, self._buffer = ("" if self._inside else self._buffer), ""
        return self._emit(rest)

    def _emit(self, text: str) -> str:
        if not self._started:
            text = text.lstrip()
            self._started = bool(text)
        return text


def _partial_tag_length(text: str, tag: str) -> int:
    """Length of the longest end of text that could be the start of tag."""
    for n in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-n:]):
            return n
    return 0


def strip_think(text: str) -> str:
    """text without <think>...</think> blocks (or an unterminated one) and without leading whitespace."""
    f = ThinkFilter()
    return f.feed(text) + f.flush()


def _content_type(stream) -> str:
    """The content type of a streamed response (openai.Stream keeps the httpx response), "" if unknown."""
    response = getattr(stream, "response", None)
    headers = getattr(response, "headers", None)
    return (headers.get("content-type") or "").lower() if headers is not None else ""


def _retryable(error: Exception) -> bool:
    if isinstance(error, openai.APIStatusError):
        return error.status_code in (408, 409, 429) or error.status_code >= 500
    return isinstance(error, (openai.APIConnectionError, httpx.TransportError))  # includes timeouts


def _retry_after(error: Exception) -> float | None:
    response = getattr(error, "response", None)
    try:
        return float(response.headers["retry-after"]) if response is not None else None
    except (KeyError, ValueError):
        return None


class ChatLLM:
    """Chat completions from the endpoint named in settings (GOVQA_LLM_BASE_URL, GOVQA_LLM_MODEL)."""

    def __init__(self, settings: Settings, *, backoff: float = 0.5, max_backoff: float = 8.0):
        base_url, model = settings.llm_base_url, settings.llm_model
        if not settings.llm_configured or base_url is None or model is None:
            raise ConfigError(
                "the LLM answerer needs an endpoint and a model name",
                fix="set GOVQA_LLM_BASE_URL (e.g. http://127.0.0.1:8000/v1) and GOVQA_LLM_MODEL",
            )
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"GOVQA_LLM_BASE_URL {base_url!r} is not an http(s) URL",
                fix="set GOVQA_LLM_BASE_URL to e.g. http://127.0.0.1:8000/v1",
            )
        self.base_url = base_url
        self.model = model
        self.max_retries = max(0, settings.llm_max_retries)
        self.temperature = settings.llm_temperature
        self.max_tokens = settings.llm_max_tokens
        self.backoff = backoff
        self.max_backoff = max_backoff
        key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else ""
        self._client = openai.OpenAI(
            base_url=self.base_url,
            api_key=key or "not-needed",
            timeout=settings.llm_timeout,
            max_retries=0,
        )

    def describe(self) -> dict[str, str]:
        """Which model answered, for eval records."""
        return {"base_url": self.base_url, "model": self.model}

    def complete(self, messages: list[dict]) -> str:
        """The whole reply, reasoning removed; LLMError after retries, on an empty reply, or on a reply that is
        not a chat completion (bad JSON, missing fields, another content type)."""
        response = self._with_retries(lambda: self._create(messages, stream=False))
        try:
            choices = response.choices
            if not isinstance(choices, list):
                raise TypeError(f"choices is {type(choices).__name__}, not a list")
            content = choices[0].message.content if choices else None
        except (AttributeError, IndexError, KeyError, TypeError) as e:
            raise self._malformed(f"no choices[0].message.content ({type(e).__name__}: {e})") from e
        if content is not None and not isinstance(content, str):
            raise self._malformed(f"message.content is {type(content).__name__}, not text")
        text = strip_think(content or "")
        if not text.strip():
            raise self._empty_reply()
        return text

    def stream(self, messages: list[dict]) -> Iterator[str]:
        """Reply pieces as generated, reasoning removed.

        The request is sent (and retried) before this returns, so an unreachable endpoint raises
        LLMError here, before anything was shown; a failure mid-stream raises LLMError while iterating.
        """
        response = self._with_retries(lambda: self._create(messages, stream=True))
        return self._pieces(response)

    def _create(self, messages: list[dict], stream: bool):
        return self._client.chat.completions.create(
            model=self.model,
            messages=cast("list[ChatCompletionMessageParam]", messages),  # role/content dicts from Prompt.render
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            stream=stream,
        )

    def _pieces(self, response) -> Iterator[str]:
        think = ThinkFilter()
        emitted = False
        try:
            kind = _content_type(response)
            if kind and not kind.startswith("text/event-stream"):
                raise self._malformed(f"a streamed request was answered with {kind}, not an event stream")
            for chunk in response:
                try:
                    choices = chunk.choices
                    delta = choices[0].delta.content if choices else None
                except (AttributeError, IndexError, KeyError, TypeError) as e:
                    raise self._malformed(f"a streamed chunk has no choices[0].delta ({type(e).__name__}: {e})") from e
                if delta is not None and not isinstance(delta, str):
                    raise self._malformed(f"a streamed delta.content is {type(delta).__name__}, not text")
                piece = think.feed(delta) if delta else ""
                if piece:
                    emitted = True
                    yield piece
        except LLMError:
            raise
        except (openai.APIError, httpx.HTTPError) as e:
            raise self._failure(e, 1, "while streaming the reply") from e
        except Exception as e:  # whatever the client library fails with on a non-conforming stream
            raise self._malformed(f"unreadable stream ({type(e).__name__}: {e})") from e
        finally:
            response.close()
        piece = think.flush()
        if piece:
            yield piece
        elif not emitted:
            raise self._empty_reply()

    def _with_retries(self, call: Callable[[], T]) -> T:
        attempts = self.max_retries + 1
        for attempt in range(attempts):
            try:
                return call()
            except (openai.APIError, httpx.HTTPError) as e:
                if attempt + 1 == attempts or not _retryable(e):
                    raise self._failure(e, attempt + 1) from e
                time.sleep(self._delay(attempt, e))
            except Exception as e:  # the client library failed to read the reply (bad JSON, ...)
                raise self._malformed(f"{type(e).__name__}: {e}") from e
        raise AssertionError("unreachable")

    def _delay(self, attempt: int, error: Exception) -> float:
        delay = min(self.max_backoff, self.backoff * 2**attempt) * (1 + random.uniform(0, 0.25))
        retry_after = _retry_after(error)
        return max(delay, min(retry_after, self.max_backoff)) if retry_after is not None else delay

    def _failure(self, error: Exception, attempts: int, when: str = "") -> LLMError:
        if isinstance(error, openai.APIStatusError):
            reason = f"HTTP {error.status_code}: {error.message}"
        elif isinstance(error, (openai.APITimeoutError, httpx.TimeoutException)):
            reason = "timed out (GOVQA_LLM_TIMEOUT)"
        elif isinstance(error, openai.APIConnectionError):
            reason = f"cannot connect ({error.__cause__ or error})"
        else:
            reason = f"{type(error).__name__}: {error}"
        fix = CHECK_FIX
        status = getattr(error, "status_code", None)
        if status in (401, 403):
            fix = "check GOVQA_LLM_API_KEY (or OPENAI_API_KEY) for this endpoint"
        elif status == 404:
            fix = "check GOVQA_LLM_MODEL and that GOVQA_LLM_BASE_URL ends in /v1"
        elif isinstance(error, (openai.APITimeoutError, httpx.TimeoutException)):
            fix = f"raise GOVQA_LLM_TIMEOUT or use a faster model; {CHECK_FIX}"
        tries = f" after {attempts} attempt{'s' if attempts > 1 else ''}"
        return LLMError(
            f"LLM endpoint {self.base_url} (model {self.model}) failed{tries}{' ' + when if when else ''}: {reason}",
            fix=fix,
        )

    def _malformed(self, reason: str) -> LLMError:
        return LLMError(
            f"LLM endpoint {self.base_url} (model {self.model}) sent a reply that is not an OpenAI chat completion: "
            f"{reason[:300]}",
            fix=f"check that GOVQA_LLM_BASE_URL points at an OpenAI-compatible server; {CHECK_FIX}",
        )

    def _empty_reply(self) -> LLMError:
        return LLMError(
            f"LLM endpoint {self.base_url} (model {self.model}) returned an empty answer",
            fix="raise GOVQA_LLM_MAX_TOKENS (a reasoning model may have spent them thinking) or use another GOVQA_LLM_MODEL",
        )
