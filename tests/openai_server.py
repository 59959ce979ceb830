"""A scripted OpenAI-protocol chat server on 127.0.0.1 for tests (plain and SSE-streamed replies).

    with OpenAIServer() as server:
        server.script(["你好【济南·2024·第1段】", Status(500), Delay(5.0), Chunks(["<thi", "nk>x</think>答"])])
        ... point openai.OpenAI(base_url=server.base_url) at it ...
        server.requests  # every request received, in order (method, path, JSON body)

Each POST /v1/chat/completions takes the next scripted response: a str (the reply text; streamed
requests get it in pieces of `chunk_size` characters), Chunks (exact streamed pieces, optionally
stalling before the end), Status (an HTTP error), Raw (exactly this body: malformed JSON, missing
fields, another content type, a bad event stream) or Delay (wait, then answer with its `then`
response). An empty script answers 500.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Status:
    """Answer with this HTTP error status (e.g. 429, 500, 503)."""

    code: int
    message: str = "scripted error"
    retry_after: float | None = None


@dataclass(frozen=True)
class Chunks:
    """A reply streamed in exactly these pieces (joined when the request is not streamed).

    `stall` seconds pass after the pieces before the stream ends (longer than the client timeout:
    a stream that dies midway).
    """

    pieces: list[str]
    stall: float = 0.0


@dataclass(frozen=True)
class Raw:
    """Answer with exactly this body, whatever the request asked (streamed or not): a non-conforming reply.

    E.g. Raw('{"choices": [{"message": '), Raw('{"object": "chat.completion"}'), Raw("<html>…</html>",
    "text/html"), Raw("data: {oops\n\n", "text/event-stream").
    """

    body: str
    content_type: str = "application/json"
    status: int = 200


@dataclass(frozen=True)
class Delay:
    """Wait this many seconds before answering with `then` (longer than the client timeout: a timeout)."""

    seconds: float
    then: str | Chunks | Status | Raw = "（迟到的回答）"


Scripted = str | Chunks | Status | Raw | Delay


@dataclass
class Request:
    """One request the server received."""

    method: str
    path: str
    body: dict = field(default_factory=dict)

    @property
    def messages(self) -> list[dict]:
        return self.body.get("messages", [])

    @property
    def prompt_text(self) -> str:
        """All message contents joined, to search for the question, marks, rules."""
        return "\n".join(m.get("content") or "" for m in self.messages)


class OpenAIServer:
    """The server; start with `with OpenAIServer() as s:` (or start()/stop())."""

    def __init__(self, model: str = "test-model", chunk_size: int = 3):
        self.model = model
        self.chunk_size = chunk_size
        self.requests: list[Request] = []
        self._script: deque[Scripted] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    @property
    def chat_requests(self) -> list[Request]:
        return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def script(self, responses: list[Scripted]) -> OpenAIServer:
        """Queue responses for the next chat requests, in order."""
        with self._lock:
            self._script.extend(responses)
        return self

    def start(self) -> OpenAIServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping in a Delay
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> OpenAIServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _next(self, request: Request) -> Scripted:
        with self._lock:
            self.requests.append(request)
            return self._script.popleft() if self._script else Status(500, "openai_server: the script is empty")


def _handler_for(server: OpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:  # keep test output quiet
            pass

        def do_GET(self) -> None:
            server.requests.append(Request("GET", self.path))
            if self.path.rstrip("/") == "/v1/models":
                self._json(200, {"object": "list", "data": [_model(server.model)]})
            else:
                self._json(404, _error(f"no route {self.path}"))

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except json.JSONDecodeError:
                body = {}
            if self.path.rstrip("/") != "/v1/chat/completions":
                server.requests.append(Request("POST", self.path, body))
                self._json(404, _error(f"no route {self.path}"))
                return
            response = server._next(Request("POST", self.path, body))
            if isinstance(response, Delay):
                if server._stopping.wait(response.seconds):
                    return
                response = response.then
            try:
                self._answer(response, body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout) before the answer came

        def _answer(self, response: str | Chunks | Status | Raw, body: dict) -> None:
            if isinstance(response, Raw):
                data = response.body.encode()
                self.send_response(response.status)
                self.send_header("content-type", response.content_type)
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
                return
            if isinstance(response, Status):
                headers = {"retry-after": str(response.retry_after)} if response.retry_after is not None else {}
                self._json(response.code, _error(response.message), headers)
                return
            pieces = response.pieces if isinstance(response, Chunks) else _split(response, server.chunk_size)
            model = body.get("model", server.model)
            if not body.get("stream"):
                self._json(200, _completion(model, "".join(pieces)))
                return
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("cache-control", "no-cache")
            self.send_header("connection", "close")
            self.end_headers()
            events = [_chunk(model, {"role": "assistant", "content": ""})]
            events += [_chunk(model, {"content": p}) for p in pieces]
            events.append(_chunk(model, {}, finish="stop"))
            for i, event in enumerate(events):
                if i == len(events) - 1 and isinstance(response, Chunks) and response.stall:
                    if server._stopping.wait(response.stall):
                        return
                self.wfile.write(f"data: {json.dumps(event, ensure_ascii=False)}\n\n".encode())
                self.wfile.flush()
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()

        def _json(self, status: int, payload: dict, headers: dict | None = None) -> None:
            data = json.dumps(payload, ensure_ascii=False).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler


def _split(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _model(name: str) -> dict:
    return {"id": name, "object": "model", "created": 0, "owned_by": "openai_server"}


def _error(message: str) -> dict:
    return {"error": {"message": message, "type": "server_error", "param": None, "code": None}}


def _completion(model: str, text: str) -> dict:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop", "logprobs": None}
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": len(text), "total_tokens": len(text)},
    }


def _chunk(model: str, delta: dict, finish: str | None = None) -> dict:
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
    }
