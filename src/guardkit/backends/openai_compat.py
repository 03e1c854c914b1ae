"""A generative guard behind any OpenAI-compatible endpoint (``vllm serve``, TGI, SGLang, ...).

Spec: ``openai:BASE_URL#MODEL`` plus options, e.g.::

    --backend "openai:http://localhost:8000/v1#allenai/wildguard" format=wildguard
    --backend "openai:http://gpu-box:8000#meta-llama/Llama-Guard-3-8B" format=llamaguard3 chat=true

By default the format's raw prompt goes to ``POST /v1/completions`` (WildGuard is served as
a completion model), asking for ``logprobs`` so scores can be computed; ``chat=true`` sends
the format's chat messages to ``/v1/chat/completions`` instead, letting the server apply the
model's own chat template. Requests run concurrently (``concurrency``) over one ``httpx``
client with timeouts; 429, 5xx and connection errors are retried with exponential backoff.

The API key comes from the ``api_key`` option, else ``GUARDKIT_API_KEY``, else
``OPENAI_API_KEY`` (none: no Authorization header). It is never logged.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

import httpx

from .._exceptions import BackendError, BackendUnavailable, ConfigError
from .._http import Rejected, post_json
from .._types import Conversation, Thresholds
from ..formats import Generation, GuardFormat, TokenStep
from ._generative import GenerativeClassifier, trim_steps
from .base import Classifier, _coerce

__all__ = ["OpenAICompatClassifier"]

logger = logging.getLogger(__name__)



class OpenAICompatClassifier(GenerativeClassifier):
    """A guard model served behind an OpenAI-compatible HTTP API.

    Args:
        base_url: The API root, e.g. ``http://localhost:8000/v1`` (``/v1`` is added when the
            URL has no ``/v1`` in its path).
        model: The served model name (the ``#MODEL`` part of the spec).
        api_key: Bearer token; default from ``GUARDKIT_API_KEY`` or ``OPENAI_API_KEY``.
        chat: Use ``/chat/completions`` with the format's chat messages.
        timeout: Seconds per request (connect, read, write, pool).
        max_retries: Retries after the first try on 429/5xx/connection errors/timeouts.
        backoff: First retry delay in seconds; doubles each retry (a ``Retry-After`` header wins).
        concurrency: Requests in flight at once.
        transport: An ``httpx`` transport (tests, proxies).
        **kwargs: ``format``, ``categories``, ``judge``, ``max_new_tokens``, ``top_logprobs``,
            ``batch_size``, ``thresholds`` (see :class:`GenerativeClassifier`).

    Example:
        >>> clf = OpenAICompatClassifier("http://localhost:8000/v1", model="allenai/wildguard")
        >>> clf.url("completions")
        'http://localhost:8000/v1/completions'
    """

    name = "openai"

    def __init__(
        self,
        base_url: str,
        *,
        model: str | None = None,
        api_key: str | None = None,
        chat: bool = False,
        timeout: float = 60.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        concurrency: int = 8,
        transport: httpx.BaseTransport | None = None,
        format: str | GuardFormat = "wildguard",
        categories: Any = None,
        judge: str | None = None,
        max_new_tokens: int | None = None,
        top_logprobs: int = 20,
        batch_size: int = 32,
        thresholds: Thresholds | None = None,
    ) -> None:
        super().__init__(
            format=format,
            categories=categories,
            judge=judge,
            max_new_tokens=max_new_tokens,
            top_logprobs=top_logprobs,
            batch_size=batch_size,
            thresholds=thresholds,
        )
        self.base_url = _normalise_base_url(base_url)
        if not model or not isinstance(model, str):
            raise ConfigError(
                "openai backend needs the served model name: openai:BASE_URL#MODEL, "
                "e.g. openai:http://localhost:8000/v1#allenai/wildguard"
            )
        if not isinstance(timeout, (int, float)) or timeout <= 0:
            raise ConfigError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if not isinstance(backoff, (int, float)) or backoff < 0:
            raise ConfigError(f"backoff must be a non-negative number of seconds, got {backoff!r}")
        if not isinstance(max_retries, int) or max_retries < 0:
            raise ConfigError(f"max_retries must be a non-negative integer, got {max_retries!r}")
        if not isinstance(concurrency, int) or concurrency < 1:
            raise ConfigError(f"concurrency must be a positive integer, got {concurrency!r}")
        if chat:
            # Fails now, not mid-run, when the format cannot be sent as chat (custom categories).
            self.format.chat_messages(Conversation.from_pair("probe"))
        self.model = model
        self.chat = bool(chat)
        self.timeout = float(timeout)
        self.max_retries = max_retries
        self.backoff = float(backoff)
        self.concurrency = concurrency
        self._api_key = api_key or os.environ.get("GUARDKIT_API_KEY") or os.environ.get("OPENAI_API_KEY")
        self._transport = transport
        self._client: httpx.Client | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._logprobs_supported = True

    @classmethod
    def from_spec(cls, target: str | None, options: Mapping[str, str]) -> Classifier:
        """``openai:BASE_URL#MODEL`` (or ``model=`` as an option)."""
        if not target:
            raise ConfigError("backend 'openai' needs a target: openai:BASE_URL#MODEL")
        base_url, sep, model = target.partition("#")
        kwargs: dict[str, Any] = {
            k: (v if k in ("categories", "model", "api_key") else _coerce(v)) for k, v in options.items()
        }
        if sep:
            kwargs.setdefault("model", model)
        try:
            return cls(base_url, **kwargs)
        except TypeError as exc:
            raise ConfigError(f"backend 'openai': {exc}") from exc

    @property
    def params(self) -> dict[str, Any]:
        return {**super().params, "base_url": self.base_url, "model": self.model, "chat": self.chat}

    def url(self, endpoint: str) -> str:
        """The full URL of ``endpoint`` (``completions``, ``chat/completions``, ``models``)."""
        return f"{self.base_url}/{endpoint}"

    # -- lifecycle -----------------------------------------------------------------------
    def _load(self) -> None:
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        self._client = httpx.Client(
            timeout=httpx.Timeout(self.timeout),
            headers=headers,
            limits=httpx.Limits(max_connections=self.concurrency, max_keepalive_connections=self.concurrency),
            transport=self._transport,
        )
        self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="guardkit-openai")

    def _close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._client is not None:
            self._client.close()
            self._client = None

    # -- requests ------------------------------------------------------------------------
    def _generate_conversations(self, batch: Sequence[Conversation]) -> list[list[Generation]]:
        if not self.chat:
            return super()._generate_conversations(batch)
        per_conv = [self.format.chat_messages(conv) for conv in batch]
        flat = [m for msgs in per_conv for m in msgs]
        outputs = self._map(self._chat_one, flat)
        grouped, i = [], 0
        for msgs in per_conv:
            grouped.append(outputs[i : i + len(msgs)])
            i += len(msgs)
        return grouped

    def _generate(self, prompts: Sequence[str]) -> list[Generation]:
        return self._map(self._complete_one, list(prompts))

    def _map(self, fn: Any, items: list[Any]) -> list[Generation]:
        assert self._pool is not None  # load() ran: internal invariant, not user input
        return list(self._pool.map(fn, items))

    def _complete_one(self, prompt: str) -> Generation:
        body: dict[str, Any] = {
            "model": self.model,
            "prompt": prompt,
            "max_tokens": self.max_new_tokens,
            "temperature": 0.0,
        }
        if not self.format.add_special_tokens:
            body["add_special_tokens"] = False  # vLLM: the template already has BOS
        if self.top_logprobs and self._logprobs_supported:
            body["logprobs"] = self.top_logprobs
        data = self._post("completions", body)
        choice = _first_choice(data)
        text = choice.get("text")
        if not isinstance(text, str):
            raise BackendError("the server's completion has no text; is this an OpenAI-compatible API?")
        return Generation(text, _completion_steps(choice.get("logprobs"), text))

    def _chat_one(self, messages: list[dict[str, str]]) -> Generation:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": self.max_new_tokens,
            "temperature": 0.0,
        }
        if self.top_logprobs and self._logprobs_supported:
            body["logprobs"] = True
            body["top_logprobs"] = self.top_logprobs
        data = self._post("chat/completions", body)
        choice = _first_choice(data)
        message = choice.get("message") or {}
        text = message.get("content")
        if not isinstance(text, str):
            raise BackendError("the server's chat completion has no message content")
        return Generation(text, _chat_steps(choice.get("logprobs"), text))

    def _post(self, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST with retries; errors become BackendUnavailable / BackendTimeout / BackendError."""
        assert self._client is not None  # load() ran: internal invariant, not user input
        url = self.url(endpoint)
        try:
            return post_json(
                self._client, url, body, max_retries=self.max_retries, backoff=self.backoff, timeout=self.timeout
            )
        except Rejected as exc:
            if exc.status == 400 and "logprobs" in body and "logprob" in exc.message.lower():
                logger.warning("openai backend: %s rejects logprobs; scores are off", self.base_url)
                self._logprobs_supported = False
                return self._post(endpoint, {k: v for k, v in body.items() if k not in ("logprobs", "top_logprobs")})
            raise _status_error(url, exc.status, exc.message, self.model) from exc


def _normalise_base_url(base_url: str) -> str:
    if not isinstance(base_url, str) or not base_url.strip():
        raise ConfigError("openai backend needs a base URL, e.g. http://localhost:8000/v1")
    url = base_url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"base URL must start with http:// or https://, got {base_url!r}")
    if "/v1" not in parts.path:
        url += "/v1"
    return url


def _first_choice(data: Mapping[str, Any]) -> dict[str, Any]:
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise BackendError("the server's answer has no choices; is this an OpenAI-compatible API?")
    return choices[0]


def _completion_steps(logprobs: Any, text: str) -> tuple[TokenStep, ...] | None:
    """Legacy completions logprobs: ``tokens``, ``token_logprobs``, ``top_logprobs``."""
    if not isinstance(logprobs, dict):
        return None
    tokens = logprobs.get("tokens") or []
    chosen_lps = logprobs.get("token_logprobs") or [None] * len(tokens)
    tops = logprobs.get("top_logprobs") or [None] * len(tokens)
    steps = []
    for token, lp, top in zip(tokens, chosen_lps, tops, strict=False):
        if not isinstance(token, str):
            return None
        candidates = {k: float(v) for k, v in (top or {}).items() if isinstance(v, (int, float))}
        if lp is not None and token not in candidates:
            candidates[token] = float(lp)
        steps.append(TokenStep(token, candidates))
    return trim_steps(steps, text) if steps else None


def _chat_steps(logprobs: Any, text: str) -> tuple[TokenStep, ...] | None:
    """Chat logprobs: ``content: [{token, logprob, top_logprobs: [{token, logprob}]}]``."""
    if not isinstance(logprobs, dict) or not isinstance(logprobs.get("content"), list):
        return None
    steps = []
    for entry in logprobs["content"]:
        if not isinstance(entry, dict) or not isinstance(entry.get("token"), str):
            return None
        candidates: dict[str, float] = {}
        for alt in entry.get("top_logprobs") or []:
            if (
                isinstance(alt, dict)
                and isinstance(alt.get("token"), str)
                and isinstance(alt.get("logprob"), (int, float))
            ):
                candidates.setdefault(alt["token"], float(alt["logprob"]))
        if isinstance(entry.get("logprob"), (int, float)):
            candidates.setdefault(entry["token"], float(entry["logprob"]))
        steps.append(TokenStep(entry["token"], candidates))
    return trim_steps(steps, text) if steps else None


def _status_error(url: str, status: int, message: str, model: str) -> BackendError:
    if status in (401, 403):
        return BackendUnavailable(
            f"{url} refused the request (HTTP {status}: {message}); "
            "set api_key= or GUARDKIT_API_KEY / OPENAI_API_KEY"
        )
    if status == 404:
        return BackendUnavailable(
            f"{url} answered 404 ({message}); check the base URL and that the server serves model {model!r}"
        )
    return BackendError(f"{url} rejected the request (HTTP {status}: {message})")


