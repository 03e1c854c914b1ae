"""A canned OpenAI-compatible LLM for proxy tests (served on loopback by uvicorn)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

BENIGN = "It is sunny today. Enjoy the walk!"
#: harmful in its second sentence; TAIL must never reach a client once the stream is cut
HARMFUL = "Sure, happy to help with that. First you build the bomb from pipes. TAIL-MARKER never sent."
LONG_BENIGN = "Bread needs flour, water, salt and yeast. " * 6


def answer_for(text: str) -> str:
    if "chemistry" in text:
        return HARMFUL
    if "bread" in text:
        return LONG_BENIGN
    return BENIGN


def create_fake_llm(chunk_chars: int = 6) -> FastAPI:
    app = FastAPI()
    app.state.calls = []

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Any:
        body = await request.json()
        app.state.calls.append({"body": body, "auth": request.headers.get("authorization")})
        if body.get("model") == "missing-model":
            return JSONResponse(
                {
                    "error": {
                        "message": "model not found",
                        "type": "invalid_request_error",
                        "param": "model",
                        "code": "model_not_found",
                    }
                },
                status_code=404,
            )
        user = [m for m in body["messages"] if m["role"] == "user"][-1]["content"]
        text = answer_for(user if isinstance(user, str) else json.dumps(user))
        base = {"id": "chatcmpl-fake", "created": 1700000000, "model": body["model"]}
        if not body.get("stream"):
            return {
                **base,
                "object": "chat.completion",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": "stop",
                        "logprobs": None,
                    }
                ],
                "usage": {"prompt_tokens": 5, "completion_tokens": 9, "total_tokens": 14},
            }

        async def events() -> Any:
            def chunk(delta: dict[str, Any], finish: str | None) -> str:
                data = {
                    **base,
                    "object": "chat.completion.chunk",
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                }
                return f"data: {json.dumps(data)}\n\n"

            yield chunk({"role": "assistant", "content": ""}, None)
            for i in range(0, len(text), chunk_chars):
                yield chunk({"content": text[i : i + chunk_chars]}, None)
                await asyncio.sleep(0)
            yield chunk({}, "stop")
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return app
