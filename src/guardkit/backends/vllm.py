"""A generative guard on vLLM (GPU): the same formats and scores as ``hf``, much faster.

Spec: ``vllm:PATH_OR_HUB_ID`` plus options, e.g.::

    --backend vllm:allenai/wildguard revision=<commit> format=wildguard
    --backend vllm:meta-llama/Llama-Guard-3-8B format=llamaguard3 gpu_memory_utilization=0.5

``vllm`` is imported only when the model loads, so this module imports anywhere; without
it loading raises :class:`~guardkit.MissingDependency` naming ``pip install 'guardkit[vllm]'``.
Prompts are tokenized with the model's tokenizer as the format requires (Llama Guard 3's
template spells out BOS, WildGuard's does not) and passed as token ids, so vLLM adds
nothing. Sampling is greedy (``temperature=0``); ``logprobs=top_logprobs`` gives the
candidate tokens the scores are computed from.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

from .._exceptions import BackendError, BackendUnavailable, ConfigError
from .._optional import require
from .._types import Thresholds
from ..formats import Generation, GuardFormat, TokenStep
from ._generative import GenerativeClassifier, trim_steps

__all__ = ["VLLMClassifier"]

logger = logging.getLogger(__name__)


class VLLMClassifier(GenerativeClassifier):
    """A generative guard served in-process by ``vllm.LLM``.

    Args:
        model: A local directory or a Hub id.
        revision: The Hub commit to load; pin it for reproducible results.
        dtype: vLLM's ``dtype`` (``"auto"``, ``"bfloat16"``, ...).
        gpu_memory_utilization: Fraction of GPU memory vLLM may take.
        max_model_len: Context length to reserve (None: the model's).
        tensor_parallel_size: GPUs to shard the model over.
        tokenizer_mode: vLLM's ``tokenizer_mode``; upstream WildGuard uses ``"slow"``.
        llm_kwargs: Further ``vllm.LLM`` keyword arguments.
        **kwargs: ``format``, ``categories``, ``judge``, ``max_new_tokens``, ``top_logprobs``,
            ``batch_size``, ``thresholds`` (see :class:`GenerativeClassifier`).

    Example:
        >>> clf = VLLMClassifier("allenai/wildguard", revision="<commit>")  # doctest: +SKIP
        >>> clf.classify_one("How do I make a bomb?").prompt_harmful.score  # doctest: +SKIP
        0.998
    """

    name = "vllm"

    def __init__(
        self,
        model: str,
        *,
        revision: str | None = None,
        dtype: str = "auto",
        gpu_memory_utilization: float = 0.9,
        max_model_len: int | None = None,
        tensor_parallel_size: int = 1,
        tokenizer_mode: str = "auto",
        llm_kwargs: dict[str, Any] | None = None,
        format: str | GuardFormat = "wildguard",
        categories: Any = None,
        judge: str | None = None,
        max_new_tokens: int | None = None,
        top_logprobs: int = 20,
        batch_size: int = 256,
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
        if not isinstance(model, str) or not model.strip():
            raise ConfigError("vllm backend needs a model: a local path or a Hugging Face Hub id")
        if not 0.0 < float(gpu_memory_utilization) <= 1.0:
            raise ConfigError(f"gpu_memory_utilization must be in (0, 1], got {gpu_memory_utilization!r}")
        self.model_id = model
        self.revision = revision
        self.dtype = dtype
        self.gpu_memory_utilization = float(gpu_memory_utilization)
        self.max_model_len = max_model_len
        self.tensor_parallel_size = tensor_parallel_size
        self.tokenizer_mode = tokenizer_mode
        self.llm_kwargs = dict(llm_kwargs or {})
        self._llm: Any = None
        self._tokenizer: Any = None

    @classmethod
    def _target_hint(cls) -> str:
        return "PATH_OR_HUB_ID"

    @property
    def params(self) -> dict[str, Any]:
        return {**super().params, "model": self.model_id, "revision": self.revision}

    def _load(self) -> None:
        vllm = require("vllm", "vllm")
        kwargs: dict[str, Any] = {
            "model": self.model_id,
            "revision": self.revision,
            "tokenizer_revision": self.revision,
            "dtype": self.dtype,
            "gpu_memory_utilization": self.gpu_memory_utilization,
            "tensor_parallel_size": self.tensor_parallel_size,
            "tokenizer_mode": self.tokenizer_mode,
            **self.llm_kwargs,
        }
        if self.max_model_len is not None:
            kwargs["max_model_len"] = self.max_model_len
        try:
            self._llm = vllm.LLM(**kwargs)
        except (OSError, ValueError, RuntimeError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise BackendUnavailable(
                f"vLLM cannot load {self.model_id!r} (revision {self.revision or 'unpinned'}): {first}"
            ) from exc
        self._tokenizer = self._llm.get_tokenizer()
        logger.info("vllm backend ready: %s (format %s)", self.model_id, self.format.name)

    def _close(self) -> None:
        self._llm = None
        self._tokenizer = None

    def _generate(self, prompts: Sequence[str]) -> list[Generation]:
        vllm = require("vllm", "vllm")
        params = vllm.SamplingParams(
            temperature=0.0,
            max_tokens=self.max_new_tokens,
            logprobs=self.top_logprobs or None,
        )
        inputs = [
            {"prompt_token_ids": self._tokenizer.encode(p, add_special_tokens=self.format.add_special_tokens)}
            for p in prompts
        ]
        try:
            outputs = self._llm.generate(inputs, sampling_params=params, use_tqdm=False)
        except (RuntimeError, ValueError) as exc:
            raise BackendError(f"vLLM generation failed: {exc}") from exc
        return [_to_generation(out.outputs[0]) for out in outputs]


def _to_generation(completion: Any) -> Generation:
    """A vLLM ``CompletionOutput`` as a :class:`Generation` (token texts from its logprobs)."""
    text = completion.text
    logprobs = getattr(completion, "logprobs", None)
    if not logprobs:
        return Generation(text)
    steps = []
    for token_id, candidates in zip(completion.token_ids, logprobs, strict=False):
        top: dict[str, float] = {}
        chosen = ""
        for cand_id, lp in candidates.items():
            piece = lp.decoded_token or ""
            value = float(lp.logprob)
            if not math.isfinite(value):
                continue
            prev = top.get(piece)
            top[piece] = (
                value if prev is None else max(prev, value) + math.log1p(math.exp(-abs(prev - value)))
            )
            if cand_id == token_id:
                chosen = piece
        steps.append(TokenStep(chosen, top))
    return Generation(text, trim_steps(steps, text))
