from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("fastapi")

import uvicorn  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from guardkit.backends.fake import FakeClassifier  # noqa: E402
from guardkit.serve import ServeSettings, create_app  # noqa: E402

from .fake_llm import create_fake_llm  # noqa: E402


@contextlib.contextmanager
def live_server(app: Any, startup_timeout: float = 60) -> Iterator[str]:
    """Run ``app`` with a real uvicorn on a free loopback port; yields the base URL.

    Startup includes the app's lifespan (a model load), hence ``startup_timeout``.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"uvicorn did not start within {startup_timeout:g} s")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def make_settings(**kw: Any) -> ServeSettings:
    kw.setdefault("backend", "fake")
    return ServeSettings(**kw)


@pytest.fixture()
def client_for():
    """``client_for(**settings)`` -> a started TestClient (lifespan run); closed at teardown."""
    clients: list[TestClient] = []

    def make(classifier: Any = None, **kw: Any) -> TestClient:
        c = TestClient(create_app(make_settings(**kw), classifier=classifier), raise_server_exceptions=False)
        c.__enter__()
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.__exit__(None, None, None)


@pytest.fixture()
def client(client_for) -> TestClient:
    return client_for()


@pytest.fixture(scope="module")
def fake_llm() -> Iterator[tuple[str, Any]]:
    """A canned upstream LLM on loopback: (base URL ending in /v1, its app)."""
    app = create_fake_llm()
    with live_server(app) as url:
        yield f"{url}/v1", app


@pytest.fixture()
def fake_classifier() -> FakeClassifier:
    return FakeClassifier()
