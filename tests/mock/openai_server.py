"""A minimal OpenAI-compatible chat-completions server on loopback, backed by a local transformers
model under the request's JSON schema (grammar-constrained decoding, synth_dagster.textgen).

It stands in for llama.cpp's server: llama-cpp-python builds from source here, and that build did
not finish within ten minutes on this machine's two shared cores, so no real server could be
installed. What travels over HTTP is the same: LiteLLM's OpenAI client posts /v1/chat/completions
with `response_format` and reads `choices[0].message.content`.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from synth_dagster.textgen import generate_constrained, load_causal_lm

ANY_JSON = {"type": "object"}


class OpenAIServer:
    """`with OpenAIServer(model_path) as server:` serves `server.api_base`; `fail_first` requests
    are answered 429 (rate limited) before the model answers."""

    def __init__(self, model_path: str, fail_first: int = 0) -> None:
        self.lm = load_causal_lm(model_path)
        self.fail_first = fail_first
        self.requests: list[dict[str, Any]] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def __enter__(self) -> OpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def answer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.requests.append(body)
        if len(self.requests) <= self.fail_first:
            return 429, {"error": {"message": "rate limited, retry later", "type": "rate_limit_error"}}
        fmt = body.get("response_format") or {}
        schema = (
            fmt.get("json_schema", {}).get("schema", ANY_JSON)
            if fmt.get("type") == "json_schema"
            else ANY_JSON
        )
        text = generate_constrained(
            self.lm,
            body["messages"],
            schema,
            max_new_tokens=1536,
            temperature=float(body.get("temperature", 1.0)),
            top_p=float(body.get("top_p", 1.0)),
            seed=body.get("seed"),
        )
        return 200, {
            "id": f"chatcmpl-{len(self.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "local"),
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
            ],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                if not self.path.endswith("/chat/completions"):
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                self._send(*server.answer(body))

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler
