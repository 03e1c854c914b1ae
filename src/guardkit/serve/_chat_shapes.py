"""OpenAI chat-completion response shapes, shared by the guardrail proxy and the local LLM server."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["chunk_event", "completion_body"]


def completion_body(cid: str, created: int, model: str, message: dict[str, Any], finish: str,
                    usage: tuple[int, int] = (0, 0), **extra: Any) -> dict[str, Any]:
    """A non-streamed ``chat.completion`` with one choice; ``usage`` is (prompt, completion) tokens."""
    body: dict[str, Any] = {
        "id": cid,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1], "total_tokens": usage[0] + usage[1]},
    }
    body.update(extra)
    return body


def chunk_event(cid: str, created: int, model: str, choices: list[dict[str, Any]], **extra: Any) -> str:
    """One server-sent event holding a ``chat.completion.chunk``."""
    data: dict[str, Any] = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model, "choices": choices}
    data.update(extra)
    return f"data: {json.dumps(data)}\n\n"
