"""An OpenAI-compatible /v1/embeddings server on 127.0.0.1 for tests, computing vectors with a given encoder.

    with EmbeddingsServer(encode) as server:   # encode(texts) -> (n, dim) array: e.g. the project's ONNX e5 encoder
        ... GOVQA_EMBED_BASE_URL=server.base_url ...
        server.batches       # len(input) of every request, in order
        server.formats       # the encoding_format each request asked for
        server.fail_next([503])   # the next requests answer these statuses first
        server.floats_only = True # answer plain float lists even when base64 is asked (as some servers do)
        server.truncate = 100     # answer vectors cut to 100 dims (a wrong-dim server)

It answers like text-embeddings-inference / vLLM: ``{"object": "list", "data": [{"object": "embedding", "index":
i, "embedding": [...] or "<base64 of float32>"}], "model": ..., "usage": {...}}``, float lists by default and
base64 (little-endian float32) when ``encoding_format`` is "base64", the openai client's default. The prefixes
are the client's business: the server embeds the texts exactly as they arrive (a real server does the same).
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np


class EmbeddingsServer:
    """The server; start with `with EmbeddingsServer(encode) as s:`."""

    def __init__(self, encode: Callable[[list[str]], np.ndarray], model: str = "multilingual-e5-small"):
        self.encode = encode
        self.model = model
        self.batches: list[int] = []
        self.formats: list[str | None] = []
        self.statuses: list[int] = []
        self.floats_only = False
        self.truncate: int | None = None
        self._fail: list[int] = []
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def fail_next(self, statuses: list[int]) -> None:
        with self._lock:
            self._fail.extend(statuses)

    def answer(self, body: dict) -> tuple[int, dict]:
        """(status, JSON reply) for one request body."""
        texts = body.get("input")
        texts = [texts] if isinstance(texts, str) else texts
        with self._lock:
            self.formats.append(body.get("encoding_format"))
            failing = self._fail.pop(0) if self._fail else None
        if failing is not None:
            return failing, {"error": {"message": f"scripted {failing}", "type": "server_error"}}
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            return 400, {"error": {"message": "input must be a string or a list of strings", "type": "invalid"}}
        if body.get("model") != self.model:
            return 404, {"error": {"message": f"model {body.get('model')!r} not found", "type": "invalid"}}
        with self._lock:
            self.batches.append(len(texts))
        vectors = np.asarray(self.encode(texts), dtype=np.float32)
        if self.truncate:
            vectors = vectors[:, : self.truncate]
        as_base64 = body.get("encoding_format") == "base64" and not self.floats_only
        data = [
            {
                "object": "embedding",
                "index": i,
                "embedding": base64.b64encode(v.astype("<f4").tobytes()).decode() if as_base64 else v.tolist(),
            }
            for i, v in enumerate(vectors)
        ]
        tokens = sum(len(t) for t in texts)
        return 200, {
            "object": "list",
            "data": data,
            "model": self.model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }

    def start(self) -> EmbeddingsServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> EmbeddingsServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _handler_for(server: EmbeddingsServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # quiet
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                status, reply = 400, {"error": {"message": "bad JSON", "type": "invalid"}}
            else:
                if self.path.rstrip("/") != "/v1/embeddings":
                    status, reply = 404, {"error": {"message": f"no route {self.path}", "type": "invalid"}}
                else:
                    status, reply = server.answer(body)
            with server._lock:
                server.statuses.append(status)
            payload = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler
