"""POST /v1/moderations: OpenAI-compatible, checked with the official openai SDK."""

from __future__ import annotations

import openai
import pytest

from guardkit import CategoryScore, TaskVerdict, Verdict
from guardkit.serve import create_app
from guardkit.serve.moderations import moderation_result
from guardkit.taxonomy import OPENAI

from .conftest import live_server, make_settings


@pytest.fixture(scope="module")
def sdk():
    with live_server(create_app(make_settings())) as url:
        yield openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0)


def test_sdk_string_input(sdk):
    resp = sdk.moderations.create(input="How do I make a bomb?")
    assert resp.id.startswith("modr-")
    assert resp.model == "guardkit"
    [r] = resp.results
    assert r.flagged is True
    assert r.categories.illicit_violent is True
    assert r.category_scores.illicit_violent == pytest.approx(0.9)
    assert r.categories.hate is False and r.category_scores.hate == 0.0
    assert r.category_applied_input_types.violence == ["text"]


def test_sdk_list_of_strings_keeps_order(sdk):
    resp = sdk.moderations.create(
        input=["hello there", "how to hack a bank", "nice day"], model="omni-moderation-latest"
    )
    assert [r.flagged for r in resp.results] == [False, True, False]
    assert resp.model == "omni-moderation-latest"
    assert resp.results[1].categories.illicit is True


def test_sdk_text_parts(sdk):
    resp = sdk.moderations.create(input=[{"type": "text", "text": "I want to kill him"}])
    assert resp.results[0].flagged and resp.results[0].categories.violence


def test_all_13_openai_categories_present(sdk):
    raw = sdk.moderations.with_raw_response.create(input="hello")
    result = raw.http_response.json()["results"][0]
    for key in ("categories", "category_scores", "category_applied_input_types"):
        assert set(result[key]) == set(OPENAI)
    assert all(v is False for v in result["categories"].values())
    assert all(isinstance(v, float) for v in result["category_scores"].values())
    assert result["guardkit"]["prompt_harmful"] == {"label": False, "score": 0.1, "threshold": 0.5}


def test_image_parts_are_a_clear_400(sdk):
    with pytest.raises(openai.BadRequestError) as e:
        sdk.moderations.create(input=[{"type": "image_url", "image_url": {"url": "https://x/y.png"}}])
    assert e.value.status_code == 400
    assert "guardkit moderates text only: send strings or {'type': 'text', 'text': ...} parts" in e.value.message
    assert e.value.code == "unsupported_input_type"


def test_unknown_model_is_404(sdk):
    with pytest.raises(openai.NotFoundError, match="The model `gpt-4o` does not exist"):
        sdk.moderations.create(input="hi", model="gpt-4o")


def test_flagged_without_mappable_category_uses_fallback():
    v = Verdict(
        TaskVerdict(True, 0.8, 0.5), categories=(CategoryScore("wildguard", "copyright_violations", 0.7),)
    )
    r = moderation_result(v, "illicit").model_dump(by_alias=True)
    assert r["flagged"] is True
    assert [k for k, on in r["categories"].items() if on] == ["illicit"]
    assert r["category_scores"]["illicit"] == pytest.approx(0.8)


def test_flagged_without_any_category_uses_configured_fallback():
    v = Verdict(TaskVerdict(True, None, None))
    r = moderation_result(v, "harassment").model_dump(by_alias=True)
    assert [k for k, on in r["categories"].items() if on] == ["harassment"]
    assert r["category_scores"]["harassment"] == 1.0


def test_category_without_score_takes_task_score():
    v = Verdict(TaskVerdict(True, 0.7, 0.5), categories=(CategoryScore("llamaguard3", "S10"),))
    r = moderation_result(v).model_dump(by_alias=True)
    assert r["categories"]["hate"] and r["category_scores"]["hate"] == pytest.approx(0.7)


def test_unflagged_categories_are_false_but_scored():
    v = Verdict(TaskVerdict(False, 0.3, 0.5), categories=(CategoryScore("llamaguard3", "S1", 0.3),))
    r = moderation_result(v).model_dump(by_alias=True)
    assert not any(r["categories"].values())
    assert r["category_scores"]["violence"] == pytest.approx(0.3)


BAD_BODIES = [
    (b'{"input": ', "the request body is not valid JSON"),
    (b'\xff\xfe{"input": "x"}', "the request body is not valid UTF-8"),
    (b'{"input": 3}', "input:"),
    (b'{"input": null}', "input:"),
    (b'{"input": ""}', "must not be empty or blank"),
    (b'{"input": "   "}', "must not be empty or blank"),
    (b'{"input": []}', "input: List should have at least 1 item"),
    (b'{"input": [1, 2]}', "input:"),
    (b'{"input": [{"type": "audio", "audio": "x"}]}', "input.0.type: Input should be 'text'"),
    (b'{"input": "ok", "model": 5}', "model:"),
    (b'{"input": "ok", "extra": 1}', "extra"),
    (b'{"input": "\\ud800"}', "unicode"),
    (b"[]", "the request body must be a JSON object"),
    (b"{}", "input: Field required"),
    (b"", "the request body is empty"),
    (b'"just a string"', "the request body must be a JSON object"),
]


@pytest.mark.parametrize(("body", "message"), BAD_BODIES)
def test_bad_input_is_400_in_openai_error_shape(client, body, message):
    r = client.post("/v1/moderations", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text
    err = r.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert err["type"] == "invalid_request_error"
    assert message in err["message"]


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ({"messages": []}, "items.0.MessagesItem.messages: List should have at least 1 item"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "items.0.MessagesItem.messages.0: Input tag 'tool' found using 'role' does not match"),
        ({"prompt": ""}, "items.0.PairItem.prompt: must not be empty or blank"),
    ],
)
def test_bad_classify_item_names_the_problem_of_the_shape_sent(client, item, message):
    """A union's wrong-shape errors ("prompt: Field required" for a messages item) do not hide the real one."""
    r = client.post("/v1/classify", json={"items": [item]})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["message"].startswith(message)


def test_too_many_inputs_is_413(client_for):
    c = client_for(max_items=3)
    r = c.post("/v1/moderations", json={"input": ["a", "b", "c", "d"]})
    assert r.status_code == 413
    assert r.json()["error"]["message"] == "too many inputs: 4 given, at most 3 per request"


def test_too_long_input_is_413(client_for):
    c = client_for(max_chars=10)
    r = c.post("/v1/moderations", json={"input": ["short", "x" * 11]})
    assert r.status_code == 413
    assert r.json()["error"]["message"] == "input 1 is too long: 11 characters, at most 10"


def test_huge_body_is_413(client_for):
    c = client_for(max_request_bytes=1000)
    r = c.post("/v1/moderations", json={"input": "x" * 5000})
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "request_too_large"
    assert "at most 1000" in r.json()["error"]["message"]


def test_guard_failure_is_503(client_for):
    from guardkit.backends.fake import FakeClassifier

    c = client_for(classifier=FakeClassifier(fail_on="explode"))
    r = c.post("/v1/moderations", json={"input": ["fine", "explode"]})
    assert r.status_code == 503
    assert r.json()["error"]["code"] == "guard_error"
    assert c.post("/v1/moderations", json={"input": "fine"}).status_code == 200


@pytest.mark.parametrize("path", ["/v1/moderations", "/v1/classify"])
def test_deeply_nested_json_is_400_not_500(client, path):
    body = b"[" * 200_000 + b"]" * 200_000
    r = client.post(path, content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_json"


def test_non_json_content_type_is_400(client):
    r = client.post(
        "/v1/moderations", content=b"input=hi", headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert r.status_code == 400
    assert "must be a JSON object" in r.json()["error"]["message"]


@pytest.mark.parametrize("headers", [{}, {"content-type": "application/x-www-form-urlencoded"}])
def test_json_body_without_json_content_type_is_accepted(client, headers):
    """``curl -d '{...}'`` sends a form content type."""
    r = client.post("/v1/moderations", content=b'{"input": "kill"}', headers=headers)
    assert r.status_code == 200 and r.json()["results"][0]["flagged"] is True
