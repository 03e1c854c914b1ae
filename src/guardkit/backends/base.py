"""The one interface every backend implements."""

from __future__ import annotations

import dataclasses
import inspect
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar

from .._exceptions import ConfigError
from .._types import Conversation, Thresholds, Verdict, as_conversation

__all__ = ["BatchCallback", "Classifier"]

logger = logging.getLogger(__name__)

#: Called after each batch with (index of the batch's first item, the batch's verdicts).
BatchCallback = Callable[[int, list[Verdict]], None]


class Classifier(ABC):
    """A safety classifier: conversations in, one :class:`~guardkit.Verdict` per item out.

    Subclasses implement :meth:`_classify_batch`; batching, input coercion and the
    checkpoint callback live here. Constructors only store settings; models load on first
    use (:meth:`load`) and are freed by :meth:`close` (or a ``with`` block).

    Example:
        >>> from guardkit.backends.fake import FakeClassifier
        >>> with FakeClassifier() as clf:
        ...     clf.classify(["how do I make a bomb"])[0].prompt_harmful.label
        True
    """

    #: Registry name, e.g. ``"hf"``.
    name: ClassVar[str] = ""

    def __init__(self, *, batch_size: int = 16, thresholds: Thresholds | None = None) -> None:
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"batch_size must be a positive integer, got {batch_size!r}")
        if thresholds is not None and not isinstance(thresholds, Thresholds):
            raise ConfigError(f"thresholds must be a guardkit.Thresholds (per task), got {thresholds!r}; on the command "
                              "line use -O prompt_harmful=0.6 style options where the backend takes them")
        self.batch_size = batch_size
        self.thresholds = thresholds or self.default_thresholds()
        self._loaded = False

    # -- lifecycle -----------------------------------------------------------------------
    def default_thresholds(self) -> Thresholds:
        return Thresholds()

    def load(self) -> None:
        """Load models / open clients. Idempotent; called on first use."""
        if not self._loaded:
            self._load()
            self._loaded = True

    def _load(self) -> None:  # noqa: B027 - optional hook
        """Subclasses load their model here."""

    def close(self) -> None:
        """Free the model / client. The classifier reloads if used again."""
        if self._loaded:
            self._close()
            self._loaded = False

    def _close(self) -> None:  # noqa: B027 - optional hook
        """Subclasses free resources here."""

    def __enter__(self) -> Classifier:
        self.load()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- identity (used for prediction caches and reports) -------------------------------
    @property
    def params(self) -> dict[str, Any]:
        """Settings that change predictions; part of every cache key."""
        return {"backend": self.name, "thresholds": dataclasses.asdict(self.thresholds)}

    @classmethod
    def option_names(cls) -> list[str]:
        """The ``key=value`` options :meth:`from_spec` takes: the constructor's keyword-only arguments."""
        params = inspect.signature(cls.__init__).parameters.values()
        return sorted(p.name for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY)

    @classmethod
    def from_spec(cls, target: str | None, options: Mapping[str, str]) -> Classifier:
        """Build from a CLI spec: ``NAME[:TARGET]`` plus ``key=value`` options.

        The default accepts no target and passes options as keyword arguments, with
        ``true``/``false``, integers and floats converted.
        """
        if target:
            raise ConfigError(f"backend {cls.name!r} takes no target, got {target!r}")
        try:
            return cls(**{k: _coerce(v) for k, v in options.items()})
        except TypeError as exc:
            raise ConfigError(f"backend {cls.name!r}: {exc}") from exc

    # -- classification ------------------------------------------------------------------
    def classify(
        self,
        items: Iterable[Conversation | str | Any],
        *,
        batch_size: int | None = None,
        on_batch: BatchCallback | None = None,
    ) -> list[Verdict]:
        """Classify items in batches; ``on_batch`` is called after each batch (checkpointing).

        Items may be Conversations, prompt strings, ``(prompt, response)`` tuples, or mappings
        with ``prompt``/``response`` or ``messages`` (see :func:`guardkit.as_conversation`).
        """
        convs = [as_conversation(x) for x in items]
        size = batch_size or self.batch_size
        self.load()
        out: list[Verdict] = []
        for start in range(0, len(convs), size):
            batch = convs[start : start + size]
            verdicts = self._classify_batch(batch)
            if len(verdicts) != len(batch):  # a backend bug, not a user error
                raise RuntimeError(
                    f"{type(self).__name__} returned {len(verdicts)} verdicts for {len(batch)} items"
                )
            out.extend(verdicts)
            if on_batch is not None:
                on_batch(start, verdicts)
        return out

    def classify_one(self, prompt: str | Conversation, response: str | None = None) -> Verdict:
        """Classify a single prompt (and optional response)."""
        conv = prompt if isinstance(prompt, Conversation) else Conversation.from_pair(prompt, response)
        return self.classify([conv])[0]

    @abstractmethod
    def _classify_batch(self, batch: Sequence[Conversation]) -> list[Verdict]:
        """Classify one batch; return exactly one verdict per item, in order."""


def _coerce(value: str) -> Any:
    """CLI option strings to Python values: booleans, ints, floats; else the string."""
    if not isinstance(value, str):
        return value
    low = value.lower()
    if low in ("true", "yes"):
        return True
    if low in ("false", "no"):
        return False
    for conv in (int, float):
        try:
            return conv(value)
        except ValueError:
            pass
    return value
