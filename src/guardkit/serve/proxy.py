"""``POST /v1/chat/completions``: a guardrail proxy in front of an OpenAI-compatible LLM.

1. The request's last user turn (with the turns before it as context) is judged. If
   ``prompt_harmful`` blocks, the answer is a refusal in chat-completion format with
   ``finish_reason: "content_filter"``, and the LLM is never called.
2. Otherwise the request body is forwarded unchanged to ``{upstream}/chat/completions``.
3. Non-streaming: each choice's text is judged as a response to the prompt; a harmful one
   is replaced by the refusal (``finish_reason: "content_filter"``).
4. Streaming (``stream: true``): chunks are forwarded as they arrive. The accumulated answer
   is re-checked *before* forwarding the chunk that (a) brings the unchecked text to
   ``policy.stream_check_chars`` characters, or (b) ends a sentence (``. ! ? \\n``) once at
   least ``policy.stream_min_check_chars`` unchecked characters have piled up, and (c) once
   more when the upstream finishes (the finishing chunk is held until then). A harmful answer
   is cut off: the upstream stream is closed and the client gets a refusal chunk and a chunk
   with ``finish_reason: "content_filter"``, then ``[DONE]``.

   Trade-off: text between two checks is forwarded before it is judged, so a client may
   already hold up to ``stream_check_chars - 1`` characters of an answer that is then cut.
   Lower ``stream_check_chars`` for less exposure (more guard calls), or use
   ``stream: false`` for none.

Every answer carries the verdicts: a ``guardkit`` field in the JSON body (in the final
chunk when streaming) and an ``X-Guardkit-Verdict`` header (for streams, the header can only
hold the prompt's verdict; the final chunk has the rest). See docs/serve.md.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from .._exceptions import BackendError
from .._types import Conversation, Role, Task, Turn, Verdict
from ._chat_shapes import chunk_event, completion_body
from .classify import ERROR_RESPONSES, Guard, get_guard, verdict_json
from .errors import APIError, guard_failure
from .schemas import ChatCompletionRequest

__all__ = ["router"]

logger = logging.getLogger(__name__)

VERDICT_HEADER = "X-Guardkit-Verdict"
_SENTENCE_END = re.compile(r"[.!?\u3002\uff01\uff1f\n][\"'\u201d)\]]*\s*$")

router = APIRouter()


@dataclass
class _Outcome:
    """What the guard decided for one proxied request (the ``guardkit`` field)."""

    action: str = "allowed"
    prompt: Verdict | None = None
    responses: dict[int, Verdict] = field(default_factory=dict)
    guard_error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "prompt": None if self.prompt is None else verdict_json(self.prompt),
            "responses": [verdict_json(self.responses[i]) for i in sorted(self.responses)] or None,
            "guard_error": self.guard_error,
        }

    def header(self) -> str:
        """``ACTION[; prompt_harmful=SCORE][; response_harmful=SCORE]``, scores as probabilities."""
        parts = [self.action]
        ph = self.prompt.prompt_harmful if self.prompt is not None else None
        if ph is not None:
            parts.append(f"prompt_harmful={_fmt(ph.score, ph.label)}")
        rh = [v.response_harmful for v in self.responses.values() if v.response_harmful is not None]
        if rh:
            worst = max(rh, key=lambda t: (t.label, t.score or 0.0))
            parts.append(f"response_harmful={_fmt(worst.score, worst.label)}")
        if self.guard_error is not None:
            parts.append("guard_error=1")
        return "; ".join(parts)


def _fmt(score: float | None, label: bool) -> str:
    return f"{score:.3f}" if score is not None else ("1" if label else "0")


def prompt_conversation(body: ChatCompletionRequest) -> Conversation:
    """The judged conversation: user/assistant text turns up to the last user turn.

    System, developer and tool messages are not judged; non-text content parts are ignored.
    """
    turns: list[Turn] = []
    for m in body.messages:
        if m.role not in ("user", "assistant"):
            continue
        if isinstance(m.content, str):
            text = m.content
        elif m.content is None:
            text = ""
        else:
            text = "".join(p.text for p in m.content if p.type == "text" and p.text)
        turns.append(Turn(Role(m.role), text))
    users = [i for i, t in enumerate(turns) if t.role is Role.USER and t.content.strip()]
    if not users:
        raise APIError(
            400,
            "messages: at least one user message with text is required",
            param="messages",
            code="invalid_value",
        )
    return Conversation(tuple(turns[: users[-1] + 1]))


def _with_response(prompt: Conversation, text: str) -> Conversation:
    return Conversation((*prompt.turns, Turn(Role.ASSISTANT, text)))


def _blocks(guard: Guard, v: Verdict, task: str) -> bool:
    tv = v.task(Task(task))
    return task in guard.settings.policy.block and tv is not None and tv.label


def _closed(guard: Guard, exc: BackendError) -> APIError:
    """Fail-closed: the 503 for a guard failure, with the verdict header saying so."""
    guard.metrics.proxy_actions.labels(action="guard_error").inc()
    err = guard_failure(exc)
    err.headers = {VERDICT_HEADER: "guard_error; guard_error=1"}
    return err


def _refusal(guard: Guard, model: str, outcome: _Outcome, stream: bool) -> Response:
    cid, created = f"chatcmpl-guardkit-{uuid.uuid4().hex[:24]}", int(time.time())
    text = guard.settings.policy.refusal_message
    headers = {VERDICT_HEADER: outcome.header()}
    if not stream:
        body = completion_body(cid, created, model, {"role": "assistant", "content": text, "refusal": None},
                               "content_filter", guardkit=outcome.to_json())
        return JSONResponse(body, headers=headers)

    async def events() -> AsyncIterator[str]:
        yield chunk_event(
            cid,
            created,
            model,
            [{"index": 0, "delta": {"role": "assistant", "content": text}, "finish_reason": None}],
        )
        yield chunk_event(
            cid,
            created,
            model,
            [{"index": 0, "delta": {}, "finish_reason": "content_filter"}],
            guardkit=outcome.to_json(),
        )
        yield "data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream", headers=headers)


def _upstream(request: Request) -> tuple[httpx.AsyncClient, str, dict[str, str]]:
    guard = get_guard(request)
    s = guard.settings
    headers = {"Content-Type": "application/json"}
    if s.upstream_api_key:
        headers["Authorization"] = f"Bearer {s.upstream_api_key}"
    return request.app.state.upstream_client, f"{s.upstream}/chat/completions", headers


def _upstream_failure(exc: httpx.HTTPError, url: str, timeout: float) -> APIError:
    if isinstance(exc, httpx.TimeoutException):
        return APIError(504, f"the upstream LLM did not answer within {timeout:g} s", code="upstream_timeout")
    return APIError(
        502, f"cannot reach the upstream LLM at {url}: {type(exc).__name__}", code="upstream_unreachable"
    )


def _upstream_error_response(status: int, content: bytes, outcome: _Outcome) -> Response:
    """Pass the upstream's own 4xx/5xx through (its body if JSON, else wrapped)."""
    headers = {VERDICT_HEADER: outcome.header()}
    try:
        body = json.loads(content)
        if isinstance(body, dict) and "error" in body:
            return JSONResponse(body, status_code=status, headers=headers)
    except ValueError:
        pass
    err = {
        "message": f"the upstream LLM answered HTTP {status}",
        "type": "upstream_error",
        "param": None,
        "code": "upstream_error",
    }
    return JSONResponse({"error": err}, status_code=status if status >= 400 else 502, headers=headers)


@router.post(
    "/v1/chat/completions",
    responses={
        **ERROR_RESPONSES,
        200: {
            "description": "A chat completion (JSON) or, with stream: true, SSE chunks; "
            "both carry a `guardkit` field and the X-Guardkit-Verdict header",
            "content": {"application/json": {}, "text/event-stream": {}},
        },
        502: {"description": "The upstream LLM cannot be reached or sent an invalid answer"},
        504: {"description": "The upstream LLM timed out"},
    },
    summary="Guardrail proxy (OpenAI chat completions)",
)
async def chat_completions(body: ChatCompletionRequest, request: Request) -> Response:
    """Check the prompt, forward to the upstream LLM, check its answer (streaming too)."""
    guard = get_guard(request)
    policy = guard.settings.policy
    metrics = guard.metrics
    conv = prompt_conversation(body)
    guard.check_lengths([t.content for t in conv.turns], "message")
    outcome = _Outcome()
    try:
        outcome.prompt = (await guard.judge([conv]))[0]
    except BackendError as exc:
        if policy.fail_mode == "closed":
            raise _closed(guard, exc) from exc
        outcome.guard_error, outcome.action = str(exc), "allowed_unchecked"
    if outcome.prompt is not None and _blocks(guard, outcome.prompt, "prompt_harmful"):
        outcome.action = "blocked_prompt"
        metrics.proxy_actions.labels(action=outcome.action).inc()
        return _refusal(guard, body.model, outcome, bool(body.stream))

    client, url, headers = _upstream(request)
    payload = await request.json()
    timeout = guard.settings.upstream_timeout_s
    if body.stream:
        return await _stream(guard, client, url, headers, payload, conv, outcome, body.model)
    try:
        r = await client.post(url, json=payload, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise _upstream_failure(exc, url, timeout) from exc
    if r.status_code >= 400:
        return _upstream_error_response(r.status_code, r.content, outcome)
    try:
        data = r.json()
        choices = data["choices"]
        assert isinstance(choices, list)
    except (ValueError, KeyError, TypeError, AssertionError) as exc:
        raise APIError(
            502, "the upstream LLM sent an invalid chat completion", code="upstream_invalid"
        ) from exc

    judged = [
        (i, c)
        for i, c in enumerate(choices)
        if isinstance(c, dict)
        and isinstance(c.get("message"), dict)
        and isinstance(c["message"].get("content"), str)
    ]
    if judged:
        try:
            verdicts = await guard.judge([_with_response(conv, c["message"]["content"]) for _, c in judged])
        except BackendError as exc:
            if policy.fail_mode == "closed":
                raise _closed(guard, exc) from exc
            outcome.guard_error, outcome.action = str(exc), "allowed_unchecked"
            verdicts = []
        for (i, c), v in zip(judged, verdicts, strict=False):
            outcome.responses[i] = v
            if _blocks(guard, v, "response_harmful"):
                outcome.action = "blocked_response"
                c["message"] = {"role": "assistant", "content": policy.refusal_message, "refusal": None}
                c["finish_reason"] = "content_filter"
    metrics.proxy_actions.labels(action=outcome.action).inc()
    data["guardkit"] = outcome.to_json()
    return JSONResponse(data, headers={VERDICT_HEADER: outcome.header()})


async def _sse_data(r: httpx.Response) -> AsyncIterator[str]:
    """The ``data:`` payloads of an SSE stream, one per event."""
    buf: list[str] = []
    async for line in r.aiter_lines():
        if not line:
            if buf:
                yield "\n".join(buf)
                buf = []
        elif line.startswith("data:"):
            buf.append(line[5:].lstrip(" "))
    if buf:
        yield "\n".join(buf)


async def _stream(
    guard: Guard,
    client: httpx.AsyncClient,
    url: str,
    headers: dict[str, str],
    payload: dict[str, Any],
    conv: Conversation,
    outcome: _Outcome,
    model: str,
) -> Response:
    policy = guard.settings.policy
    timeout = guard.settings.upstream_timeout_s
    try:
        req = client.build_request("POST", url, json=payload, headers=headers, timeout=timeout)
        r = await client.send(req, stream=True)
    except httpx.HTTPError as exc:
        raise _upstream_failure(exc, url, timeout) from exc
    if r.status_code >= 400:
        content = await r.aread()
        await r.aclose()
        return _upstream_error_response(r.status_code, content, outcome)

    text: dict[int, str] = {}
    unchecked: dict[int, int] = {}
    meta: dict[str, Any] = {
        "id": f"chatcmpl-guardkit-{uuid.uuid4().hex[:24]}",
        "created": int(time.time()),
        "model": model,
    }

    async def check(indices: set[int]) -> bool:
        """Judge the accumulated answers; True when the stream must be cut."""
        indices = {i for i in indices if text.get(i, "").strip()}
        if not indices:
            return False
        for i in indices:
            unchecked[i] = 0
        order = sorted(indices)
        try:
            verdicts = await guard.judge([_with_response(conv, text[i]) for i in order])
        except BackendError as exc:
            outcome.guard_error = str(exc)
            if policy.fail_mode == "closed":
                outcome.action = "guard_error"
                return True
            outcome.action = "allowed_unchecked"
            return False
        cut = False
        for i, v in zip(order, verdicts, strict=True):
            outcome.responses[i] = v
            if _blocks(guard, v, "response_harmful"):
                outcome.action, cut = "blocked_response", True
        return cut

    def cut_off() -> list[str]:
        indices = sorted(text) or [0]
        out = []
        for i in indices:
            sep = "\n\n" if text.get(i) else ""
            out.append(
                chunk_event(
                    meta["id"],
                    meta["created"],
                    meta["model"],
                    [{"index": i, "delta": {"content": sep + policy.refusal_message}, "finish_reason": None}],
                )
            )
        out.append(
            chunk_event(
                meta["id"],
                meta["created"],
                meta["model"],
                [{"index": i, "delta": {}, "finish_reason": "content_filter"} for i in indices],
                guardkit=outcome.to_json(),
            )
        )
        out.append("data: [DONE]\n\n")
        return out

    async def events() -> AsyncIterator[str]:
        try:
            async for data in _sse_data(r):
                if data.strip() == "[DONE]":
                    break
                try:
                    chunk = json.loads(data)
                    choices = chunk.get("choices") or []
                except (ValueError, AttributeError):
                    yield f"data: {data}\n\n"  # not ours to judge; pass it on
                    continue
                meta.update({k: chunk[k] for k in ("id", "created", "model") if k in chunk})
                due: set[int] = set()
                finishing = False
                for ch in choices:
                    if not isinstance(ch, dict):
                        continue
                    i = ch.get("index", 0) if isinstance(ch.get("index", 0), int) else 0
                    piece = (ch.get("delta") or {}).get("content") or ""
                    if isinstance(piece, str) and piece:
                        text[i] = text.get(i, "") + piece
                        unchecked[i] = unchecked.get(i, 0) + len(piece)
                        if unchecked[i] >= policy.stream_check_chars or (
                            policy.stream_check_sentences
                            and unchecked[i] >= policy.stream_min_check_chars
                            and _SENTENCE_END.search(piece)
                        ):
                            due.add(i)
                    if ch.get("finish_reason") is not None:
                        finishing = True
                        if unchecked.get(i, 0):
                            due.add(i)
                if due and await check(due):
                    for piece in cut_off():
                        yield piece
                    return
                if finishing:
                    chunk["guardkit"] = outcome.to_json()
                yield f"data: {json.dumps(chunk)}\n\n"
        except httpx.HTTPError as exc:
            logger.warning("upstream stream broke: %s", type(exc).__name__)
        finally:
            await r.aclose()
        # the upstream ended without a finish chunk, or broke: judge what is left
        if await check({i for i, n in unchecked.items() if n}):
            for piece in cut_off():
                yield piece
            return
        guard.metrics.proxy_actions.labels(action=outcome.action).inc()
        yield "data: [DONE]\n\n"

    async def counted() -> AsyncIterator[str]:
        async for piece in events():
            yield piece
        if outcome.action in ("blocked_response", "guard_error"):
            guard.metrics.proxy_actions.labels(action=outcome.action).inc()

    return StreamingResponse(
        counted(), media_type="text/event-stream", headers={VERDICT_HEADER: outcome.header()}
    )
