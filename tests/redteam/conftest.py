"""Shared helpers for red-team tests: a counting target and a loopback OpenAI-style server."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


class EchoTarget:
    """Answers harmful-looking prompts with 'Sure, here is how to ...' and counts calls."""

    def __init__(self, reply: Callable[[str], str] | None = None) -> None:
        self.calls = 0
        self.prompts: list[str] = []
        self.reply = reply or (lambda p: f"Sure, here is how: {p}")

    @property
    def params(self) -> dict[str, Any]:
        return {"target": "echo"}

    def generate(self, prompts: list[str]) -> list[str]:
        self.calls += 1
        self.prompts += prompts
        return [self.reply(p) for p in prompts]


@pytest.fixture()
def echo() -> type[EchoTarget]:
    """The :class:`EchoTarget` class (build one per run to count calls)."""
    return EchoTarget


class ChatServer:
    """A real HTTP server on 127.0.0.1 speaking the /chat/completions subset targets use.

    ``script`` is a list of HTTP statuses to answer before succeeding (e.g. [500, 429]).
    """

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.script: list[int] = []
        self.delay = 0.0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                import time

                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(body)
                server.headers.append(dict(self.headers))
                if server.delay:
                    time.sleep(server.delay)
                if self.path != "/v1/chat/completions":
                    self.send_response(404)
                    self.end_headers()
                    return
                if server.script:
                    self.send_response(server.script.pop(0))
                    self.end_headers()
                    return
                prompt = body["messages"][-1]["content"]
                payload = json.dumps(
                    {"choices": [{"index": 0, "message": {"role": "assistant", "content": f"echo: {prompt}"}}]}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                import sys

                # the timeout test hangs up before the slow answer is written: expected
                if not isinstance(sys.exc_info()[1], ConnectionError):
                    super().handle_error(request, client_address)

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> ChatServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture()
def chat_server() -> Iterator[ChatServer]:
    with ChatServer() as s:
        yield s
