"""Property-based API testing: no 5xx and no schema violations on any generated request."""

from __future__ import annotations

import os

import httpx
import pytest
from hypothesis import HealthCheck, settings

schemathesis = pytest.importorskip("schemathesis")

from guardkit.serve import create_app  # noqa: E402

from .conftest import make_settings  # noqa: E402


def _upstream(request: httpx.Request) -> httpx.Response:
    """A canned LLM so the proxy route is exercised too (mock transport, no network)."""
    import json

    body = json.loads(request.content)
    if body.get("stream"):
        chunk = {
            "id": "c",
            "object": "chat.completion.chunk",
            "created": 0,
            "model": "m",
            "choices": [{"index": 0, "delta": {"content": "Fine."}, "finish_reason": "stop"}],
        }
        return httpx.Response(
            200,
            text=f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n",
            headers={"content-type": "text/event-stream"},
        )
    return httpx.Response(
        200,
        json={
            "id": "c",
            "object": "chat.completion",
            "created": 0,
            "model": "m",
            "choices": [
                {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Fine."}}
            ],
        },
    )


app = create_app(
    make_settings(upstream="http://llm.invalid/v1", api_keys=("sk-test",)),
    upstream_client=httpx.AsyncClient(transport=httpx.MockTransport(_upstream)),
)
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


#: more examples for a deeper hunt: GUARDKIT_SCHEMATHESIS_EXAMPLES=500 pytest tests/serve/test_schemathesis.py
EXAMPLES = int(os.environ.get("GUARDKIT_SCHEMATHESIS_EXAMPLES", "25"))


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms(case):
    case.call_and_validate(headers={"Authorization": "Bearer sk-test"})
