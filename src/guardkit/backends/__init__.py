"""Backends: one module each, looked up by name, imported only when chosen.

========  ===========================================  =================
name      what                                         extra
========  ===========================================  =================
builtin   the bundled CPU model (default)              ``builtin``
hf        any Hugging Face causal LM guard             ``hf``
vllm      the same on vLLM (GPU)                       ``vllm``
openai    a guard behind an OpenAI-compatible endpoint (core: httpx)
fake      keyword rules, for tests and demos           (core)
========  ===========================================  =================

A backend spec is ``NAME`` or ``NAME:TARGET`` (``hf:/models/wildguard``,
``openai:http://localhost:8000/v1#allenai/wildguard``) plus ``key=value`` options.
"""

from __future__ import annotations

import functools
import importlib
import types
import typing
from collections.abc import Mapping
from typing import Any

from .._exceptions import ConfigError, MissingDependency
from .base import BatchCallback, Classifier, _coerce

__all__ = [
    "BACKENDS",
    "BatchCallback",
    "Classifier",
    "DEFAULT_BACKEND",
    "cached_backend",
    "get_backend",
    "parse_options",
]

#: name -> "module:Class" (relative to this package); imported only when chosen.
BACKENDS: dict[str, str] = {
    "builtin": "builtin:BuiltinClassifier",
    "hf": "hf:HFClassifier",
    "vllm": "vllm:VLLMClassifier",
    "openai": "openai_compat:OpenAICompatClassifier",
    "fake": "fake:FakeClassifier",
}
DEFAULT_BACKEND = "builtin"


def backend_class(name: str) -> type[Classifier]:
    if name not in BACKENDS:
        raise ConfigError(f"unknown backend {name!r}; expected one of {', '.join(sorted(BACKENDS))}")
    module, cls = BACKENDS[name].split(":")
    try:
        mod = importlib.import_module(f"{__name__}.{module}")
    except ImportError as exc:
        raise MissingDependency(
            f"backend {name!r} cannot be imported ({exc}); install its extra: pip install 'guardkit[all]'"
        ) from exc
    return getattr(mod, cls)  # type: ignore[no-any-return]


def parse_options(pairs: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``["k=v", ...]`` -> dict, with a clear error for malformed pairs."""
    out: dict[str, str] = {}
    for p in pairs:
        key, sep, value = p.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"backend option must look like key=value, got {p!r}")
        out[key.strip().replace("-", "_")] = value
    return out


def get_backend(spec: str = DEFAULT_BACKEND, options: Mapping[str, str] | None = None) -> Classifier:
    """Build a classifier from a spec like ``"builtin"`` or ``"hf:/path/to/model"``.

    Example:
        >>> clf = get_backend("fake")
        >>> clf.classify_one("hello").prompt_harmful.label
        False
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ConfigError("backend spec is empty; expected e.g. 'builtin' or 'hf:/path/to/model'")
    name, _, target = spec.strip().partition(":")
    cls = backend_class(name)
    opts = dict(options or {})
    _check_options(cls, opts)
    return cls.from_spec(target or None, opts)


def _check_options(cls: type[Classifier], options: Mapping[str, Any]) -> None:
    """A :class:`ConfigError` for an option the backend does not take, naming the ones it does,
    or for a true/false where the constructor wants a number (or a number where it wants true/false)."""
    valid = cls.option_names()
    try:
        hints = typing.get_type_hints(cls.__init__)
    except Exception:  # an annotation that does not resolve here: no type check
        hints = {}
    for key, raw in options.items():
        if key not in valid:
            raise ConfigError(
                f"backend {cls.name!r}: unknown option {key!r}; valid options: {', '.join(valid)}"
            )
        expected = _bool_number_mismatch(hints.get(key), _coerce(raw))
        if expected:
            raise ConfigError(f"backend {cls.name!r}: option {key} must be {expected}, got {raw!r}")


def _bool_number_mismatch(hint: object, value: object) -> str | None:
    """What ``hint`` wants, where ``value`` is a bool for a number or a number other than 1 / 0 for a bool; else None."""
    if hint is None:
        return None
    union = typing.get_origin(hint) in (typing.Union, types.UnionType)
    wanted = set(typing.get_args(hint)) if union else {hint}
    numeric = wanted & {int, float}
    if isinstance(value, bool):
        if bool not in wanted and numeric:
            return "an integer" if int in numeric else "a number"
    elif isinstance(value, (int, float)) and value not in (0, 1) and bool in wanted and not numeric:
        return "true or false (or 1 / 0)"
    return None


@functools.lru_cache(maxsize=8)
def cached_backend(spec: str = DEFAULT_BACKEND) -> Classifier:
    """One shared, loaded classifier per spec per process (models load once)."""
    clf = get_backend(spec)
    clf.load()
    return clf
