from __future__ import annotations

import pytest

from guardkit import BackendError, BackendTimeout, BackendUnavailable, ConfigError
from guardkit.redteam.targets import HFTarget, OpenAITarget, SmolLM2Target, Target, get_target


def test_openai_target_against_a_loopback_server(chat_server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    t = get_target(f"openai:{chat_server.url}#tiny-model", {"max_new_tokens": "32", "concurrency": "2"})
    assert isinstance(t, Target)
    try:
        out = t.generate(["hello", "how are you?", "third"])
    finally:
        t.close()
    assert out == ["echo: hello", "echo: how are you?", "echo: third"]
    body = chat_server.requests[0]
    assert body["model"] == "tiny-model" and body["max_tokens"] == 32 and body["temperature"] == 0
    assert chat_server.headers[0]["Authorization"] == "Bearer sk-test"


def test_openai_target_retries_5xx_and_429(chat_server):
    chat_server.script = [500, 429]
    t = OpenAITarget(chat_server.url, "m", max_retries=2, backoff=0.01, concurrency=1)
    assert t.generate(["x"]) == ["echo: x"]
    assert len(chat_server.requests) == 3


def test_openai_target_gives_up_after_retries(chat_server):
    chat_server.script = [503, 503, 503]
    t = OpenAITarget(chat_server.url, "m", max_retries=1, backoff=0.01, concurrency=1)
    with pytest.raises(BackendError, match=r"failed after 2 tries: HTTP 503"):
        t.generate(["x"])


def test_openai_target_client_error_is_not_retried(chat_server):
    t = OpenAITarget(chat_server.url.replace("/v1", "/nope"), "m", max_retries=3, backoff=0.01)
    with pytest.raises(BackendError, match="answered HTTP 404"):
        t.generate(["x"])
    assert len(chat_server.requests) == 1


def test_openai_target_timeout(chat_server):
    chat_server.delay = 0.5
    t = OpenAITarget(chat_server.url, "m", timeout=0.05, max_retries=0)
    with pytest.raises(BackendTimeout, match=r"did not answer within 0.05s"):
        t.generate(["x"])


def test_openai_target_unreachable():
    t = OpenAITarget("http://127.0.0.1:9/v1", "m", max_retries=0)
    with pytest.raises(BackendUnavailable, match=r"http://127.0.0.1:9/v1/chat/completions failed after 1 tries: ConnectError.*is the server up\?"):
        t.generate(["x"])


@pytest.mark.parametrize(
    ("spec", "cls"),
    [("smollm2", SmolLM2Target), ("hf:/models/x", HFTarget), ("openai:http://h:1/v1#m", OpenAITarget)],
)
def test_get_target_kinds(spec, cls):
    assert type(get_target(spec)) is cls


@pytest.mark.parametrize(
    ("spec", "options", "message"),
    [
        ("gpt5", {}, r"unknown target 'gpt5'; expected one of smollm2, hf:PATH_OR_ID, openai:BASE_URL#MODEL"),
        ("hf:", {}, "unknown target 'hf:'"),
        ("openai:http://h/v1", {}, r"openai target must look like openai:BASE_URL#MODEL"),
        ("openai:ftp://h#m", {}, "needs an http"),
        ("smollm2", {"max_new_tokens": "0"}, "max_new_tokens must be a positive integer"),
        ("smollm2", {"colour": "red"}, "target 'smollm2'.*colour"),
    ],
)
def test_get_target_errors(spec, options, message):
    with pytest.raises(ConfigError, match=message):
        get_target(spec, options)


def test_threads_option_is_validated_and_defaults():
    assert SmolLM2Target().threads == 1
    assert HFTarget("/m").threads is None
    assert get_target("smollm2", {"threads": "2"}).threads == 2
    with pytest.raises(ConfigError, match="threads must be a positive integer, got 0"):
        get_target("hf:/m", {"threads": "0"})


def test_sampling_options_are_validated_and_reported():
    assert SmolLM2Target().params["decoding"] == "greedy" and SmolLM2Target()._decoding() == {"do_sample": False}
    t = get_target("smollm2", {"temperature": "0.7", "top_p": "0.9", "repetition_penalty": "1.15"})
    assert t._decoding() == {"do_sample": True, "temperature": 0.7, "top_p": 0.9}
    assert t.params["decoding"] == "sampled (temperature 0.7, top-p 0.9)" and t.params["repetition_penalty"] == 1.15
    for options, message in (({"temperature": "0"}, "temperature must be a number"),
                             ({"top_p": "1.5"}, "top_p must be a number"),
                             ({"repetition_penalty": "hot"}, "repetition_penalty must be a number")):
        with pytest.raises(ConfigError, match=message):
            get_target("hf:/m", options)


def test_system_prompt_is_sent_validated_and_reported(chat_server):
    t = get_target(f"openai:{chat_server.url}#m", {"system": "yes", "concurrency": "1"})  # text stays text
    try:
        assert t.generate(["hi"]) == ["echo: hi"]
    finally:
        t.close()
    assert chat_server.requests[0]["messages"] == [{"role": "system", "content": "yes"}, {"role": "user", "content": "hi"}]
    assert t.params["system"] == "yes" and "system" not in OpenAITarget("http://x/v1", "m").params
    assert SmolLM2Target(system="Be brief.").params["system"] == "Be brief."
    for spec in ("smollm2", "hf:/m", "openai:http://x/v1#m"):
        with pytest.raises(ConfigError, match="system must be a non-empty string"):
            get_target(spec, {"system": "  "})
