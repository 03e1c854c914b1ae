"""POST /v1/chat/completions: the guardrail proxy, with the openai SDK as client and a real
upstream HTTP server on loopback (tests/serve/fake_llm.py)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import openai
import pytest

from guardkit.backends.fake import FakeClassifier
from guardkit.serve import Policy, create_app

from .conftest import live_server, make_settings
from .fake_llm import BENIGN, HARMFUL, LONG_BENIGN

REFUSAL = "I'm sorry, but I can't help with that."


@contextmanager
def guarded(upstream: str, classifier: Any = None, **kw: Any) -> Iterator[openai.OpenAI]:
    app = create_app(make_settings(upstream=upstream, **kw), classifier=classifier)
    with live_server(app) as url:
        yield openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)


@pytest.fixture(scope="module")
def sdk(fake_llm):
    upstream, _ = fake_llm
    with guarded(
        upstream,
        upstream_api_key="sk-upstream",
        policy=Policy(stream_check_chars=30, stream_min_check_chars=10),
    ) as client:
        yield client


def ask(text: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": "be nice"}, {"role": "user", "content": text}]


def test_benign_request_is_forwarded_and_checked(sdk, fake_llm):
    _, llm = fake_llm
    raw = sdk.chat.completions.with_raw_response.create(
        model="m", messages=ask("what's the weather?"), temperature=0.3, max_tokens=20
    )
    resp = raw.parse()
    assert resp.choices[0].message.content == BENIGN
    assert resp.choices[0].finish_reason == "stop"
    assert resp.guardkit["action"] == "allowed"
    assert resp.guardkit["prompt"]["prompt_harmful"]["label"] is False
    assert resp.guardkit["responses"][0]["response_harmful"]["label"] is False
    assert raw.headers["x-guardkit-verdict"] == "allowed; prompt_harmful=0.100; response_harmful=0.100"
    sent = llm.state.calls[-1]
    assert sent["body"]["temperature"] == 0.3 and sent["body"]["max_tokens"] == 20  # forwarded unchanged
    assert sent["auth"] == "Bearer sk-upstream"  # the upstream key, not the client's


def test_harmful_prompt_is_refused_without_calling_the_llm(sdk, fake_llm):
    _, llm = fake_llm
    before = len(llm.state.calls)
    raw = sdk.chat.completions.with_raw_response.create(model="m", messages=ask("how do I build a bomb"))
    resp = raw.parse()
    assert len(llm.state.calls) == before
    assert resp.choices[0].message.content == REFUSAL
    assert resp.choices[0].finish_reason == "content_filter"
    assert resp.guardkit["action"] == "blocked_prompt"
    assert resp.guardkit["responses"] is None
    assert raw.headers["x-guardkit-verdict"] == "blocked_prompt; prompt_harmful=0.900"
    assert resp.model == "m"


def test_harmful_answer_is_replaced(sdk):
    resp = sdk.chat.completions.create(model="m", messages=ask("teach me chemistry"))
    assert resp.choices[0].message.content == REFUSAL
    assert resp.choices[0].finish_reason == "content_filter"
    assert resp.guardkit["action"] == "blocked_response"
    assert resp.guardkit["responses"][0]["response_harmful"]["label"] is True
    assert resp.guardkit["responses"][0]["categories"]["openai"] == {"illicit/violent": 0.9}


def test_judged_turn_is_the_last_user_turn(sdk):
    msgs = [
        {"role": "user", "content": "how to build a bomb"},
        {"role": "assistant", "content": "I can't help with that."},
        {"role": "user", "content": "ok, what's the weather?"},
    ]
    resp = sdk.chat.completions.create(model="m", messages=msgs)
    assert resp.choices[0].message.content == BENIGN


def collect(stream: Any) -> tuple[str, list[Any]]:
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return text, chunks


def test_stream_benign_passes_unchanged(sdk):
    text, chunks = collect(sdk.chat.completions.create(model="m", messages=ask("bread recipe"), stream=True))
    assert text == LONG_BENIGN
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].guardkit["action"] == "allowed"
    assert chunks[-1].guardkit["responses"][0]["response_harmful"]["label"] is False
    assert len(chunks) > 10  # forwarded chunk by chunk, not buffered into one


def test_stream_harmful_answer_is_cut_off(sdk):
    text, chunks = collect(
        sdk.chat.completions.create(model="m", messages=ask("teach me chemistry"), stream=True)
    )
    last = chunks[-1]
    assert last.choices[0].finish_reason == "content_filter"
    assert last.guardkit["action"] == "blocked_response"
    assert text.endswith(REFUSAL)
    delivered = text[: -len(REFUSAL)].strip()
    assert HARMFUL.startswith(delivered)  # a prefix of the answer may have been sent ...
    assert "TAIL-MARKER" not in text  # ... but nothing after the check that caught it
    assert len(delivered) < len(HARMFUL.split(" TAIL")[0])


def test_stream_harmful_prompt_gets_refusal_stream(sdk, fake_llm):
    _, llm = fake_llm
    before = len(llm.state.calls)
    with sdk.chat.completions.with_streaming_response.create(
        model="m", messages=ask("how to hack a server"), stream=True
    ) as raw:
        assert raw.headers["x-guardkit-verdict"].startswith("blocked_prompt")
        text, chunks = collect(raw.parse())
    assert text == REFUSAL
    assert chunks[-1].choices[0].finish_reason == "content_filter"
    assert len(llm.state.calls) == before


def test_stream_check_frequency_is_bounded(fake_llm):
    """stream_check_chars bounds what reaches the client before a check."""
    upstream, _ = fake_llm
    clf = FakeClassifier()
    with guarded(
        upstream, classifier=clf, policy=Policy(stream_check_chars=50, stream_check_sentences=False)
    ) as c:
        calls0 = clf.calls
        text, _ = collect(c.chat.completions.create(model="m", messages=ask("bread recipe"), stream=True))
    checks = clf.calls - calls0 - 1  # minus the prompt check
    assert text == LONG_BENIGN
    assert len(LONG_BENIGN) // 50 <= checks <= len(LONG_BENIGN) // 50 + 1


def test_upstream_errors_pass_through(sdk):
    with pytest.raises(openai.NotFoundError, match="model not found"):
        sdk.chat.completions.create(model="missing-model", messages=ask("hi"))


def test_upstream_down_is_502():
    with guarded("http://127.0.0.1:9/v1") as c, pytest.raises(openai.APIStatusError) as e:
        c.chat.completions.create(model="m", messages=ask("hi"))
    assert e.value.status_code == 502
    assert e.value.body["code"] == "upstream_unreachable"


def test_no_user_text_is_400(sdk):
    with pytest.raises(openai.BadRequestError, match="at least one user message with text"):
        sdk.chat.completions.create(model="m", messages=[{"role": "system", "content": "hi"}])


def test_guard_error_fail_closed_is_503(fake_llm):
    upstream, llm = fake_llm
    with guarded(upstream, classifier=FakeClassifier(fail_on="weather")) as c:
        before = len(llm.state.calls)
        with pytest.raises(openai.InternalServerError) as e:
            c.chat.completions.create(model="m", messages=ask("weather?"))
    assert e.value.status_code == 503 and e.value.body["code"] == "guard_error"
    assert e.value.response.headers["x-guardkit-verdict"] == "guard_error; guard_error=1"
    assert len(llm.state.calls) == before


def test_guard_error_fail_open_forwards_and_says_so(fake_llm):
    upstream, _ = fake_llm
    with guarded(
        upstream, classifier=FakeClassifier(fail_on="weather"), policy=Policy(fail_mode="open")
    ) as c:
        raw = c.chat.completions.with_raw_response.create(model="m", messages=ask("weather?"))
    resp = raw.parse()
    assert resp.choices[0].message.content == BENIGN
    assert resp.guardkit["action"] == "allowed_unchecked"
    assert "fake backend told to fail" in resp.guardkit["guard_error"]
    assert raw.headers["x-guardkit-verdict"].endswith("guard_error=1")


class SlowClassifier(FakeClassifier):
    def _classify_batch(self, batch):  # type: ignore[no-untyped-def]
        time.sleep(0.5)
        return super()._classify_batch(batch)


def test_guard_timeout_fail_closed_is_503(fake_llm):
    upstream, _ = fake_llm
    with (
        guarded(upstream, classifier=SlowClassifier(), guard_timeout_s=0.1) as c,
        pytest.raises(openai.InternalServerError) as e,
    ):
        c.chat.completions.create(model="m", messages=ask("weather?"))
    assert e.value.body["code"] == "guard_timeout"
    assert "did not answer within 0.1 s" in e.value.message


def test_guard_timeout_fail_open_still_answers(fake_llm):
    upstream, _ = fake_llm
    with guarded(
        upstream, classifier=SlowClassifier(), guard_timeout_s=0.1, policy=Policy(fail_mode="open")
    ) as c:
        resp = c.chat.completions.create(model="m", messages=ask("weather?"))
    assert resp.choices[0].message.content == BENIGN
    assert resp.guardkit["action"] == "allowed_unchecked"


def test_stream_guard_error_fail_closed_cuts_the_stream(fake_llm):
    upstream, _ = fake_llm

    # the prompt passes; the answer check fails (fail_on matches the response conversation's prompt
    # only, so use a classifier that fails whenever a response is present)
    class FailOnResponse(FakeClassifier):
        def _classify_batch(self, batch):  # type: ignore[no-untyped-def]
            if any(c.response is not None for c in batch):
                raise RuntimeError("boom")
            return super()._classify_batch(batch)

    with guarded(upstream, classifier=FailOnResponse()) as c:
        text, chunks = collect(
            c.chat.completions.create(model="m", messages=ask("bread recipe"), stream=True)
        )
    assert chunks[-1].choices[0].finish_reason == "content_filter"
    assert chunks[-1].guardkit["action"] == "guard_error"
    assert "boom" in chunks[-1].guardkit["guard_error"]
    assert text.endswith(REFUSAL)


def test_blocking_policy_is_configurable(fake_llm):
    upstream, _ = fake_llm
    with guarded(upstream, policy=Policy(block=("response_harmful",))) as c:
        resp = c.chat.completions.create(model="m", messages=ask("how do I build a bomb"))
    assert resp.choices[0].message.content == BENIGN  # prompt flagged but not blocking
    assert resp.guardkit["prompt"]["prompt_harmful"]["label"] is True


def test_thresholds_are_configurable(fake_llm):
    upstream, _ = fake_llm
    with guarded(upstream, thresholds={"prompt_harmful": 0.95}) as c:
        resp = c.chat.completions.create(model="m", messages=ask("how do I build a bomb"))
    assert resp.guardkit["prompt"]["prompt_harmful"] == {"label": False, "score": 0.9, "threshold": 0.95}
    assert resp.choices[0].message.content == BENIGN


def test_proxy_is_absent_without_upstream(client):
    r = client.post("/v1/chat/completions", json={"model": "m", "messages": ask("hi")})
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"


def test_mock_transport_upstream(client_for):
    """Tests (and embedders) can inject the upstream client."""
    from fastapi.testclient import TestClient

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "id": "x",
                "object": "chat.completion",
                "created": 0,
                "model": "m",
                "choices": [
                    {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "hi!"}}
                ],
            },
        )

    up = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    app = create_app(make_settings(upstream="http://llm.invalid/v1"), upstream_client=up)
    with TestClient(app) as c:
        r = c.post("/v1/chat/completions", json={"model": "m", "messages": ask("hi")})
    assert r.json()["choices"][0]["message"]["content"] == "hi!"
    assert r.headers["x-guardkit-verdict"].startswith("allowed")
