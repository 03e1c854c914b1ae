"""What the generative backends (hf, vllm, openai) share: a guard format and batching."""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

from .._exceptions import ConfigError
from .._types import Conversation, Thresholds, Verdict
from ..formats import Generation, GuardFormat, TokenStep, get_format
from .base import Classifier, _coerce

__all__ = ["GenerativeClassifier", "trim_steps"]

logger = logging.getLogger(__name__)


class GenerativeClassifier(Classifier):
    """A classifier that prompts a generative guard model through a :mod:`guardkit.formats` format.

    Subclasses implement :meth:`_generate` (raw prompts in, one :class:`Generation` per
    prompt out, in order). Prompts of a batch are generated together; a format may send
    several prompts per conversation (Llama Guard with ``judge="both"``).

    Args:
        format: A format name (``wildguard``, ``llamaguard3``, ``llamaguard2``) or instance.
        categories: Llama Guard categories (see :class:`~guardkit.formats.LlamaGuardFormat`).
        judge: Llama Guard ``"last"`` or ``"both"``.
        max_new_tokens: Generation budget; default: the format's.
        top_logprobs: Candidate tokens per step used for scores; 0 turns scores off.
        batch_size: Conversations per batch.
        thresholds: Decision thresholds applied to scores.
    """

    def __init__(
        self,
        *,
        format: str | GuardFormat = "wildguard",
        categories: Any = None,
        judge: str | None = None,
        max_new_tokens: int | None = None,
        top_logprobs: int = 20,
        batch_size: int = 8,
        thresholds: Thresholds | None = None,
    ) -> None:
        super().__init__(batch_size=batch_size, thresholds=thresholds)
        options = {k: v for k, v in (("categories", categories), ("judge", judge)) if v is not None}
        self.format = get_format(format, **options)
        if max_new_tokens is not None and (not isinstance(max_new_tokens, int) or max_new_tokens < 1):
            raise ConfigError(f"max_new_tokens must be a positive integer, got {max_new_tokens!r}")
        if not isinstance(top_logprobs, int) or top_logprobs < 0:
            raise ConfigError(f"top_logprobs must be a non-negative integer, got {top_logprobs!r}")
        self.max_new_tokens = max_new_tokens or self.format.default_max_new_tokens
        self.top_logprobs = top_logprobs

    @property
    def params(self) -> dict[str, Any]:
        return {
            **super().params,
            **self.format.params,
            "max_new_tokens": self.max_new_tokens,
            "top_logprobs": self.top_logprobs,
        }

    @classmethod
    def from_spec(cls, target: str | None, options: Mapping[str, str]) -> Classifier:
        """``NAME:TARGET`` plus ``key=value`` options; ``categories`` stays a string."""
        if not target:
            raise ConfigError(f"backend {cls.name!r} needs a target: {cls.name}:{cls._target_hint()}")
        kwargs: dict[str, Any] = {
            k: (v if k in ("categories", "revision", "model") else _coerce(v)) for k, v in options.items()
        }
        try:
            return cls(target, **kwargs)  # type: ignore[call-arg,misc]
        except TypeError as exc:
            raise ConfigError(f"backend {cls.name!r}: {exc}") from exc

    @classmethod
    def _target_hint(cls) -> str:
        return "MODEL"

    def _classify_batch(self, batch: Sequence[Conversation]) -> list[Verdict]:
        generations = self._generate_conversations(batch)
        return [
            self.format.verdict(conv, gens, thresholds=self.thresholds, backend=self.name)
            for conv, gens in zip(batch, generations, strict=True)
        ]

    def _generate_conversations(self, batch: Sequence[Conversation]) -> list[list[Generation]]:
        """One list of generations (one per format prompt) per conversation."""
        per_conv = [self.format.prompts(conv) for conv in batch]
        flat = [p for prompts in per_conv for p in prompts]
        outputs = self._generate(flat)
        if len(outputs) != len(flat):  # a backend bug, not a user error
            raise RuntimeError(
                f"{type(self).__name__} returned {len(outputs)} generations for {len(flat)} prompts"
            )
        grouped: list[list[Generation]] = []
        i = 0
        for prompts in per_conv:
            grouped.append(list(outputs[i : i + len(prompts)]))
            i += len(prompts)
        return grouped

    @abstractmethod
    def _generate(self, prompts: Sequence[str]) -> list[Generation]:
        """Greedy-generate from each raw prompt; one :class:`Generation` per prompt, in order."""


def trim_steps(steps: Sequence[TokenStep], text: str) -> tuple[TokenStep, ...]:
    """Drop trailing steps past the end of ``text`` (a stop token servers leave out of it)."""
    kept: list[TokenStep] = []
    pos = 0
    for step in steps:
        if pos >= len(text) and kept:
            break
        kept.append(step)
        pos += len(step.text)
    return tuple(kept)
