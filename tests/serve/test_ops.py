"""Operations: probes, metrics, API keys, request ids, logging without user text."""

from __future__ import annotations

import logging
import threading

import openai
import pytest
from fastapi.testclient import TestClient

from guardkit.backends.fake import FakeClassifier
from guardkit.serve import create_app, load_settings

from .conftest import live_server, make_settings


def test_healthz_and_readyz(client):
    assert client.get("/healthz").json() == {"status": "ok", "backend": None, "error": None}
    r = client.get("/readyz")
    assert r.status_code == 200 and r.json()["status"] == "ready" and r.json()["backend"] == "fake"


class GatedClassifier(FakeClassifier):
    """Loading blocks until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()

    def _load(self) -> None:
        assert self.gate.wait(10)


def test_readyz_is_503_while_loading_and_requests_wait(client_for):
    clf = GatedClassifier()
    c = client_for(classifier=clf)
    r = c.get("/readyz")
    assert r.status_code == 503 and r.json()["status"] == "loading"
    assert c.get("/healthz").status_code == 200
    clf.gate.set()
    # a request made while loading waits for the model instead of failing
    assert c.post("/v1/moderations", json={"input": "hi"}).status_code == 200
    assert c.get("/readyz").status_code == 200


class BrokenClassifier(FakeClassifier):
    def _load(self) -> None:
        raise OSError("weights not found")


def test_failed_load_is_reported(client_for):
    c = client_for(classifier=BrokenClassifier())
    r = c.get("/readyz")
    assert r.status_code == 503
    assert r.json() == {"status": "failed", "backend": "fake", "error": "weights not found"}
    r = c.post("/v1/moderations", json={"input": "hi"})
    assert r.status_code == 503
    assert "failed to load: weights not found" in r.json()["error"]["message"]


def test_metrics(client_for):
    c = client_for(classifier=FakeClassifier(fail_on="explode"))
    c.post("/v1/moderations", json={"input": ["how to make a bomb", "hello"]})
    c.post("/v1/moderations", json={"input": "explode"})
    c.post("/v1/moderations", json={"input": 3})
    c.get("/no/such/path")
    text = c.get("/metrics").text
    assert 'guardkit_requests_total{endpoint="/v1/moderations",method="POST",status="200"} 1.0' in text
    assert 'guardkit_requests_total{endpoint="/v1/moderations",method="POST",status="400"} 1.0' in text
    assert 'guardkit_requests_total{endpoint="/v1/moderations",method="POST",status="503"} 1.0' in text
    assert 'guardkit_requests_total{endpoint="other",method="GET",status="404"} 1.0' in text
    assert 'guardkit_flags_total{category="illicit/violent",task="prompt_harmful"} 1.0' in text
    assert 'guardkit_guard_errors_total{kind="error"} 1.0' in text
    assert 'guardkit_request_duration_seconds_count{endpoint="/v1/moderations"} 3.0' in text
    assert "guardkit_guard_batch_size_bucket" in text
    assert "guardkit_ready 1.0" in text


def test_metrics_registry_is_per_app(client_for):
    a, b = client_for(), client_for()
    a.post("/v1/moderations", json={"input": "hi"})
    assert 'status="200"} 1.0' in a.get("/metrics").text
    assert "/v1/moderations" not in b.get("/metrics").text


@pytest.fixture(scope="module")
def keyed_url():
    with live_server(create_app(make_settings(api_keys=("sk-one", "sk-two")))) as url:
        yield url


@pytest.mark.parametrize("key", ["sk-one", "sk-two"])
def test_api_key_accepted(keyed_url, key):
    client = openai.OpenAI(base_url=f"{keyed_url}/v1", api_key=key, max_retries=0)
    assert client.moderations.create(input="hi").results[0].flagged is False


def test_wrong_api_key_is_401_in_openai_shape(keyed_url):
    client = openai.OpenAI(base_url=f"{keyed_url}/v1", api_key="sk-wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as e:
        client.moderations.create(input="hi")
    assert e.value.status_code == 401
    assert e.value.body == {
        "message": "Incorrect API key provided.",
        "type": "invalid_request_error",
        "param": None,
        "code": "invalid_api_key",
    }


def test_missing_api_key_is_401(keyed_url):
    import httpx

    r = httpx.post(f"{keyed_url}/v1/classify", json={"items": [{"prompt": "hi"}]})
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert "didn't provide an API key" in r.json()["error"]["message"]
    assert httpx.get(f"{keyed_url}/healthz").status_code == 200  # probes stay open


def test_api_keys_from_env(tmp_path):
    cfg = tmp_path / "serve.toml"
    cfg.write_text('backend = "fake"\napi_keys = ["from-file"]\n')
    s = load_settings(cfg, env={"GUARDKIT_API_KEYS": "a, b"})
    assert s.api_keys == ("from-file", "a", "b")
    c = TestClient(create_app(s))
    with c:
        ok = c.post("/v1/moderations", json={"input": "hi"}, headers={"Authorization": "Bearer b"})
        bad = c.post("/v1/moderations", json={"input": "hi"}, headers={"Authorization": "Bearer c"})
    assert (ok.status_code, bad.status_code) == (200, 401)


def test_request_id_is_echoed_or_made(client):
    assert client.get("/healthz", headers={"X-Request-ID": "abc"}).headers["x-request-id"] == "abc"
    assert len(client.get("/healthz").headers["x-request-id"]) == 32


SECRET = "my secret bomb recipe 12345"


def test_user_text_is_never_logged(client, caplog):
    with caplog.at_level(logging.DEBUG):
        client.post("/v1/moderations", json={"input": SECRET})
        client.post("/v1/classify", json={"items": [{"prompt": SECRET, "response": SECRET}]})
        client.post("/v1/moderations", json={"input": SECRET, "model": SECRET})
        client.post("/v1/moderations", json={"input": [SECRET, 3]})
    assert caplog.records  # the access log ran
    assert all("12345" not in r.getMessage() for r in caplog.records)


def test_user_text_is_logged_when_asked(client_for, caplog):
    c = client_for(log_text=True)
    with caplog.at_level(logging.INFO, logger="guardkit"):
        c.post("/v1/moderations", json={"input": SECRET})
    assert any(SECRET in r.getMessage() for r in caplog.records)


def test_unknown_route_and_method_use_openai_error_shape(client):
    r = client.get("/v1/moderations")
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"
    assert client.post("/v1/nothing", json={}).json()["error"]["code"] == "not_found"


class LeakyClassifier(FakeClassifier):
    def _classify_batch(self, batch):  # type: ignore[no-untyped-def]
        raise ValueError(f"cannot tokenize {batch[0].prompt!r}")


def test_third_party_errors_are_logged_without_text(client_for, caplog):
    c = client_for(classifier=LeakyClassifier())
    with caplog.at_level(logging.DEBUG):
        r = c.post("/v1/moderations", json={"input": SECRET})
    assert r.status_code == 503
    assert any("guard failed: BackendError caused by ValueError" in m.getMessage() for m in caplog.records)
    assert all("12345" not in m.getMessage() for m in caplog.records)
