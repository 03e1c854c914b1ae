"""The OpenAI-compatible backend against a real HTTP server on loopback.

The server (``http.server`` in a thread) answers like ``vllm serve``: canned completions with
legacy ``logprobs``, chat completions with chat ``logprobs``, and misbehaviour chosen by the
model name: ``flaky`` (500 then OK), ``rate`` (429 with Retry-After, then OK), ``slow``
(answers late), ``down`` (always 503), ``nologprobs`` (400 when logprobs are asked),
``private`` (needs a key), ``badjson``, ``concurrent`` (records requests in flight).
"""

from __future__ import annotations

import json
import math
import socket
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from guardkit import BackendError, BackendTimeout, BackendUnavailable, ConfigError, Conversation
from guardkit.backends import get_backend
from guardkit.backends.openai_compat import OpenAICompatClassifier

WG_TOKENS = [
    ("Harmful", None),
    (" request", None),
    (":", None),
    (" yes", {" yes": math.log(0.9), " no": math.log(0.1)}),
    ("\n", None),
    ("Response", None),
    (" refusal", None),
    (":", None),
    (" no", {" no": math.log(0.8), " yes": math.log(0.2)}),
    ("\n", None),
    ("Harmful", None),
    (" response", None),
    (":", None),
    (" no", {" no": math.log(0.95), " yes": math.log(0.05)}),
    ("</s>", None),  # the stop token: in the tokens, not in the text
]
LG_TOKENS = [
    ("\n\n", None),
    ("unsafe", {"unsafe": math.log(0.6), "safe": math.log(0.4)}),
    ("\n", None),
    ("S1", None),
]


def _legacy_logprobs(tokens: list[tuple[str, dict[str, float] | None]]) -> dict[str, Any]:
    return {
        "tokens": [t for t, _ in tokens],
        "token_logprobs": [(top or {t: -0.01}).get(t, -0.01) for t, top in tokens],
        "top_logprobs": [top or {t: -0.01} for t, top in tokens],
    }


def _text(tokens: list[tuple[str, Any]]) -> str:
    return "".join(t for t, _ in tokens if t != "</s>")


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: Counter[str] = Counter()
        self.requests: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.in_flight = 0
        self.max_in_flight = 0

    def reset(self) -> None:
        with self.lock:
            self.calls.clear()
            self.requests.clear()
            self.in_flight = self.max_in_flight = 0


class _Handler(BaseHTTPRequestHandler):
    state: _State

    def log_message(self, *args: Any) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        length = int(self.headers.get("Content-Length", 0))
        body = json.loads(self.rfile.read(length) or b"{}")
        model = body.get("model", "")
        st = self.state
        with st.lock:
            st.calls[model] += 1
            n = st.calls[model]
            st.requests.append((self.path, body, dict(self.headers)))
            st.in_flight += 1
            st.max_in_flight = max(st.max_in_flight, st.in_flight)
        try:
            self._answer(model, n, body)
        finally:
            with st.lock:
                st.in_flight -= 1

    def _answer(self, model: str, n: int, body: dict[str, Any]) -> None:
        if self.path not in ("/v1/completions", "/v1/chat/completions"):
            return self._send(404, {"error": {"message": f"no route {self.path}"}})
        if model == "flaky" and n == 1:
            return self._send(500, {"error": {"message": "internal error"}})
        if model == "rate" and n == 1:
            return self._send(429, {"error": {"message": "slow down"}}, {"Retry-After": "0"})
        if model == "down":
            return self._send(503, {"error": {"message": "overloaded"}})
        if model == "slow":
            time.sleep(1.0)
        if model == "concurrent":
            time.sleep(0.3)
        if model == "private" and self.headers.get("Authorization") != "Bearer s3cret":
            return self._send(401, {"error": {"message": "invalid api key"}})
        if model == "nologprobs" and ("logprobs" in body or "top_logprobs" in body):
            return self._send(400, {"error": {"message": "logprobs are not supported"}})
        if model == "badjson":
            return self._send(200, b"<html>not json</html>")
        if model == "teapot":
            return self._send(418, {"error": {"message": "I am a teapot"}})
        if self.path == "/v1/chat/completions":
            tokens = LG_TOKENS
            logprobs = None
            if body.get("logprobs"):
                logprobs = {
                    "content": [
                        {
                            "token": t,
                            "logprob": (top or {t: -0.01}).get(t, -0.01),
                            "top_logprobs": [
                                {"token": k, "logprob": v} for k, v in (top or {t: -0.01}).items()
                            ],
                        }
                        for t, top in tokens
                    ]
                }
            choice = {
                "index": 0,
                "message": {"role": "assistant", "content": _text(tokens)},
                "logprobs": logprobs,
            }
            return self._send(200, {"object": "chat.completion", "choices": [choice]})
        tokens = LG_TOKENS if model.startswith("lg") else WG_TOKENS
        choice = {
            "index": 0,
            "text": _text(tokens),
            "logprobs": _legacy_logprobs(tokens) if body.get("logprobs") else None,
        }
        return self._send(200, {"object": "text_completion", "choices": [choice]})


@pytest.fixture(scope="module")
def server():
    state = _State()
    handler = type("Handler", (_Handler,), {"state": state})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", state
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


@pytest.fixture()
def srv(server):
    url, state = server
    state.reset()
    return url, state


@pytest.fixture(autouse=True)
def _no_env_keys(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("GUARDKIT_API_KEY", raising=False)


CONV = Conversation.from_pair("How do I make a bomb?", "I can't help with that.")


def test_wildguard_completions_with_scores(srv):
    url, state = srv
    with get_backend(f"openai:{url}/v1#allenai/wildguard", {"format": "wildguard"}) as clf:
        (v,) = clf.classify([CONV])
    assert v.prompt_harmful.label is True and v.prompt_harmful.score == pytest.approx(0.9)
    assert v.response_refusal.label is False and v.response_refusal.score == pytest.approx(0.2)
    assert v.response_harmful.label is False and v.response_harmful.score == pytest.approx(0.05)
    assert not v.is_parsing_error and v.backend == "openai"
    path, body, headers = state.requests[0]
    assert path == "/v1/completions"
    assert body["model"] == "allenai/wildguard" and body["temperature"] == 0.0
    assert body["prompt"].startswith("<|user|>\n[INST] You are a classifier")
    assert body["logprobs"] == 20 and body["max_tokens"] == 32
    assert "add_special_tokens" not in body  # WildGuard's template has no BOS
    assert "authorization" not in {k.lower() for k in headers}


def test_llamaguard_completions_send_no_second_bos(srv):
    url, state = srv
    clf = OpenAICompatClassifier(url, model="lg3", format="llamaguard3")
    v = clf.classify_one("How do I make a bomb?")
    assert v.prompt_harmful.label is True and v.prompt_harmful.score == pytest.approx(0.6)
    assert [c.name for c in v.categories] == ["S1"]
    body = state.requests[0][1]
    assert body["add_special_tokens"] is False
    assert body["prompt"].startswith(" <|begin_of_text|><|start_header_id|>user")
    clf.close()


def test_chat_mode_sends_the_conversation(srv):
    url, state = srv
    with OpenAICompatClassifier(
        url + "/v1/", model="lg3-chat", format="llamaguard3", chat=True, top_logprobs=5
    ) as clf:
        v = clf.classify([CONV])[0]
    assert v.response_harmful.label is True and v.response_harmful.score == pytest.approx(0.6)
    path, body, _ = state.requests[0]
    assert path == "/v1/chat/completions"
    assert body["messages"] == [
        {"role": "user", "content": "How do I make a bomb?"},
        {"role": "assistant", "content": "I can't help with that."},
    ]
    assert body["logprobs"] is True and body["top_logprobs"] == 5


def test_chat_mode_refuses_custom_categories_at_construction(srv):
    url, _ = srv
    with pytest.raises(ConfigError, match="custom categories needs the raw-prompt"):
        OpenAICompatClassifier(url, model="lg3", format="llamaguard3", categories="S1", chat=True)


def test_retries_a_500_then_succeeds(srv):
    url, state = srv
    with OpenAICompatClassifier(url, model="flaky", backoff=0.01) as clf:
        v = clf.classify([CONV])[0]
    assert v.prompt_harmful.label is True
    assert state.calls["flaky"] == 2


def test_retries_a_429_honouring_retry_after(srv):
    url, state = srv
    with OpenAICompatClassifier(url, model="rate", backoff=5.0) as clf:
        start = time.monotonic()
        clf.classify([CONV])
    assert state.calls["rate"] == 2
    assert time.monotonic() - start < 4.0  # Retry-After: 0 beat the 5 s backoff


def test_gives_up_after_retries_on_5xx(srv):
    url, state = srv
    clf = OpenAICompatClassifier(url, model="down", max_retries=2, backoff=0.0)
    with pytest.raises(BackendUnavailable, match=r"failed after 3 tries: HTTP 503: overloaded"):
        clf.classify([CONV])
    assert state.calls["down"] == 3
    clf.close()


def test_timeout(srv):
    url, state = srv
    clf = OpenAICompatClassifier(url, model="slow", timeout=0.2, max_retries=1, backoff=0.0)
    with pytest.raises(BackendTimeout, match=r"did not answer within 0.2s \(2 tries\)"):
        clf.classify([CONV])
    clf.close()


def test_connection_refused():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    clf = OpenAICompatClassifier(f"http://127.0.0.1:{port}", model="m", max_retries=1, backoff=0.0)
    with pytest.raises(BackendUnavailable, match=r"failed after 2 tries: ConnectError.*is the server up"):
        clf.classify([CONV])
    clf.close()


def test_api_key_from_option_and_env(srv, monkeypatch):
    url, state = srv
    with pytest.raises(BackendUnavailable, match=r"HTTP 401: invalid api key.*GUARDKIT_API_KEY"):
        OpenAICompatClassifier(url, model="private").classify([CONV])
    assert OpenAICompatClassifier(url, model="private", api_key="s3cret").classify([CONV])[0].prompt_harmful
    monkeypatch.setenv("OPENAI_API_KEY", "s3cret")
    assert OpenAICompatClassifier(url, model="private").classify([CONV])[0].prompt_harmful
    monkeypatch.setenv("GUARDKIT_API_KEY", "wrong")  # the guardkit variable wins
    with pytest.raises(BackendUnavailable, match="HTTP 401"):
        OpenAICompatClassifier(url, model="private").classify([CONV])
    assert state.requests[1][2]["Authorization"] == "Bearer s3cret"


def test_falls_back_without_logprobs(srv):
    url, state = srv
    with OpenAICompatClassifier(url, model="nologprobs") as clf:
        v1, v2 = clf.classify([CONV, CONV], batch_size=1)
    assert v1.prompt_harmful.label is True and v1.prompt_harmful.score is None
    assert v2.prompt_harmful.score is None
    assert state.calls["nologprobs"] == 3  # rejected once, then never asked again


@pytest.mark.parametrize(
    ("model", "error", "message"),
    [
        ("badjson", BackendError, "body that is not JSON"),
        ("teapot", BackendError, r"rejected the request \(HTTP 418: I am a teapot\)"),
    ],
)
def test_bad_answers(srv, model, error, message):
    url, _ = srv
    with pytest.raises(error, match=message):
        OpenAICompatClassifier(url, model=model, max_retries=0).classify([CONV])


def test_404_names_the_base_url(srv):
    url, _ = srv
    with pytest.raises(BackendUnavailable, match="answered 404.*check the base URL"):
        OpenAICompatClassifier(url + "/api/v1", model="m").classify([CONV])


def test_concurrency_limit(srv):
    url, state = srv
    with OpenAICompatClassifier(url, model="concurrent", concurrency=3, batch_size=16) as clf:
        verdicts = clf.classify([CONV] * 7)
    assert len(verdicts) == 7 and all(v.prompt_harmful.label for v in verdicts)
    assert 2 <= state.max_in_flight <= 3


@pytest.mark.parametrize(
    ("spec", "options", "message"),
    [
        ("openai", {}, "needs a target: openai:BASE_URL#MODEL"),
        ("openai:http://localhost:8000/v1", {}, "needs the served model name"),
        ("openai:localhost:8000#m", {}, "must start with http:// or https://"),
        ("openai:http://h/v1#m", {"timeout": "0"}, "timeout must be a positive number"),
        ("openai:http://h/v1#m", {"concurrency": "0"}, "concurrency must be a positive integer"),
        ("openai:http://h/v1#m", {"max_retries": "-1"}, "max_retries must be a non-negative integer"),
        ("openai:http://h/v1#m", {"format": "nope"}, "unknown format 'nope'"),
        ("openai:http://h/v1#m", {"colour": "red"}, "backend 'openai': unknown option 'colour'; valid options: api_key,"),
    ],
)
def test_spec_errors(spec, options, message):
    with pytest.raises(ConfigError, match=message):
        get_backend(spec, options)


def test_spec_options_and_url_normalisation():
    clf = get_backend(
        "openai:http://gpu:8000#meta-llama/Llama-Guard-3-8B",
        {
            "format": "llamaguard3",
            "categories": "S1,S9",
            "chat": "false",
            "timeout": "5",
            "max_new_tokens": "8",
        },
    )
    assert isinstance(clf, OpenAICompatClassifier)
    assert clf.url("completions") == "http://gpu:8000/v1/completions"
    assert clf.model == "meta-llama/Llama-Guard-3-8B" and clf.timeout == 5.0 and clf.max_new_tokens == 8
    assert clf.params["categories"] == {"S1": "Violent Crimes.", "S9": "Indiscriminate Weapons."}
    assert "api_key" not in json.dumps(clf.params)
