"""Server settings: one pydantic model, read from a TOML or JSON file, the environment and flags.

Precedence (lowest first): defaults < config file < environment < command-line flags.

Environment variables:

- ``GUARDKIT_API_KEYS``: comma-separated API keys (added to the file's ``api_keys``).
- ``GUARDKIT_UPSTREAM_API_KEY``: the key sent to the upstream LLM (``--upstream``).
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .._exceptions import ConfigError
from ..taxonomy import OPENAI

__all__ = ["Policy", "ServeSettings", "load_settings"]

#: Model names accepted by ``/v1/moderations`` besides ``model_name``: OpenAI's, so code written
#: for OpenAI's moderation endpoint works unchanged.
OPENAI_MODERATION_MODELS = (
    "omni-moderation-latest",
    "omni-moderation-2024-09-26",
    "text-moderation-latest",
    "text-moderation-stable",
    "text-moderation-007",
)

BlockingTask = Literal["prompt_harmful", "response_harmful"]


class Policy(BaseModel):
    """What the guardrail proxy blocks and how it behaves when the guard fails.

    Attributes:
        block: tasks whose True label blocks: ``prompt_harmful`` (the request is refused
            without calling the LLM) and/or ``response_harmful`` (the answer is replaced).
        fail_mode: ``closed`` (default): a guard error or timeout gives 503 (before the
            answer) or cuts the stream; ``open``: the request goes through unchecked, with
            ``guard_error`` set in the ``guardkit`` field.
        refusal_message: the assistant text sent instead of a blocked prompt or answer.
        stream_check_chars: while streaming, the accumulated answer is re-checked whenever
            this many new characters have arrived since the previous check.
        stream_check_sentences: also re-check when a chunk ends a sentence (``. ! ? \\n``),
            provided at least ``stream_min_check_chars`` new characters arrived.
        stream_min_check_chars: lower bound between two sentence-end checks.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    block: tuple[BlockingTask, ...] = ("prompt_harmful", "response_harmful")
    fail_mode: Literal["closed", "open"] = "closed"
    refusal_message: str = "I'm sorry, but I can't help with that."
    stream_check_chars: int = Field(default=200, ge=1)
    stream_check_sentences: bool = True
    stream_min_check_chars: int = Field(default=40, ge=1)


class ServeSettings(BaseModel):
    """Everything ``guardkit serve`` can be told; see ``docs/serve.md`` for a sample file.

    Example:
        >>> s = ServeSettings(backend="fake", api_keys=["k1"])
        >>> s.port, s.policy.fail_mode
        (8000, 'closed')
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    backend: str = "builtin"
    backend_options: dict[str, str] = Field(default_factory=dict)
    #: Override the backend's decision thresholds (task name -> probability).
    thresholds: dict[Literal["prompt_harmful", "response_refusal", "response_harmful"], float] = Field(
        default_factory=dict
    )
    #: The model name reported by /v1/moderations; also accepted as ``model`` in requests.
    model_name: str = "guardkit"
    #: Extra accepted ``model`` values; OpenAI's moderation model names by default.
    model_aliases: tuple[str, ...] = OPENAI_MODERATION_MODELS
    #: OpenAI category reported when an input is flagged but no category maps to OpenAI's 13.
    fallback_category: str = "illicit"
    upstream: str | None = None
    upstream_api_key: str | None = Field(default=None, repr=False)
    upstream_timeout_s: float = Field(default=120.0, gt=0)
    api_keys: tuple[str, ...] = Field(default=(), repr=False)
    policy: Policy = Field(default_factory=Policy)
    guard_timeout_s: float = Field(default=10.0, gt=0)
    max_request_bytes: int = Field(default=1_000_000, ge=1)
    max_items: int = Field(default=64, ge=1)
    max_chars: int = Field(default=32_000, ge=1)
    batch_max_size: int = Field(default=32, ge=1)
    batch_max_wait_ms: float = Field(default=5.0, ge=0)
    log_text: bool = False

    @field_validator("fallback_category")
    @classmethod
    def _known_category(cls, v: str) -> str:
        if v not in OPENAI:
            raise ValueError(f"must be one of OpenAI's categories {sorted(OPENAI)}, got {v!r}")
        return v

    @field_validator("upstream")
    @classmethod
    def _url(cls, v: str | None) -> str | None:
        if v is None:
            return None
        if not v.startswith(("http://", "https://")):
            raise ValueError(f"must be an http(s) base URL like http://localhost:8001/v1, got {v!r}")
        return v.rstrip("/")

    @field_validator("thresholds")
    @classmethod
    def _probabilities(cls, v: dict[str, float]) -> dict[str, float]:
        for k, p in v.items():
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"threshold for {k} must be in [0, 1], got {p}")
        return v


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path} is not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    try:
        if path.suffix == ".toml":
            data: Any = tomllib.loads(text)
        elif path.suffix == ".json":
            data = json.loads(text)
        else:
            raise ConfigError(f"config file {path} must end in .toml or .json")
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid {path.suffix[1:].upper()}: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a table/object at the top level")
    # a [serve] table is accepted so the file can be shared with other guardkit sections
    section = data.get("serve", data)
    if not isinstance(section, dict):
        raise ConfigError(f"config file {path}: 'serve' must be a table/object, got {type(section).__name__}")
    return dict(section)


def load_settings(
    config: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
) -> ServeSettings:
    """Merge defaults, a config file, the environment and ``overrides`` (flags) into settings.

    ``overrides`` entries that are None are ignored (a flag that was not given).

    Raises:
        ConfigError: the file is unreadable or a setting is invalid.
    """
    env = os.environ if env is None else env
    data: dict[str, Any] = _read_file(Path(config)) if config is not None else {}
    keys = [k.strip() for k in env.get("GUARDKIT_API_KEYS", "").split(",") if k.strip()]
    if keys:
        file_keys = data.get("api_keys", [])
        if not isinstance(file_keys, list | tuple):  # a string would add each of its characters as a key
            raise ConfigError(f"invalid server settings: api_keys: must be a list of keys, got {type(file_keys).__name__}")
        data["api_keys"] = [*file_keys, *keys]
    if env.get("GUARDKIT_UPSTREAM_API_KEY"):
        data["upstream_api_key"] = env["GUARDKIT_UPSTREAM_API_KEY"]
    for k, v in (overrides or {}).items():
        if v is None:
            continue
        if k == "backend_options":
            file_options = data.get("backend_options", {})
            if not isinstance(file_options, dict):
                raise ConfigError(
                    f"invalid server settings: backend_options: must be a table/object, got {type(file_options).__name__}"
                )
            data["backend_options"] = {**file_options, **v}
        else:
            data[k] = v
    try:
        return ServeSettings(**data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"invalid server settings: {problems}") from exc
