"""A deterministic keyword backend for offline tests and demos (not a real guard)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from .._exceptions import ConfigError
from .._types import CategoryScore, Conversation, TaskVerdict, Thresholds, Verdict
from .base import Classifier

__all__ = ["FakeClassifier"]

_HARM = {
    "bomb": "S9",
    "kill": "S1",
    "poison": "S1",
    "meth": "S2",
    "steal": "S2",
    "hack": "S14",
    "malware": "S14",
    "suicide": "S11",
    "racist": "S10",
}
_REFUSAL = ("i'm sorry", "i can't", "i cannot", "i won't", "sorry", "i'm not able", "as an ai")


class FakeClassifier(Classifier):
    """Flags texts containing a few harm keywords; detects refusals by phrase.

    Scores are 0.9 / 0.1 so thresholds and calibration code paths are exercised.
    ``fail_on`` makes items whose prompt contains that string raise (for error-path tests);
    ``delay`` sleeps that many seconds per batch (for interruption tests).
    """

    name = "fake"

    def __init__(
        self,
        *,
        batch_size: int = 16,
        thresholds: Thresholds | None = None,
        fail_on: str | None = None,
        delay: float = 0.0,
    ) -> None:
        super().__init__(batch_size=batch_size, thresholds=thresholds)
        if fail_on is not None and not isinstance(fail_on, str):
            raise ConfigError(f"fail_on must be text, got {fail_on!r}")
        if isinstance(delay, bool) or not isinstance(delay, (int, float)) or not 0 <= delay < float("inf"):
            raise ConfigError(f"delay must be a number of seconds >= 0, got {delay!r}")
        self.fail_on = fail_on
        self.delay = delay
        self.calls = 0

    @staticmethod
    def _harm(text: str) -> list[str]:
        low = text.lower()
        return sorted({code for word, code in _HARM.items() if word in low})

    def _task(self, positive: bool, threshold: float) -> TaskVerdict:
        return TaskVerdict.from_score(0.9 if positive else 0.1, threshold)

    def _classify_batch(self, batch: Sequence[Conversation]) -> list[Verdict]:
        self.calls += 1
        if self.delay:
            time.sleep(self.delay)
        out = []
        for conv in batch:
            if self.fail_on is not None and self.fail_on in conv.prompt:
                from .._exceptions import BackendError

                raise BackendError(f"fake backend told to fail on {self.fail_on!r}")
            cats = self._harm(conv.prompt)
            response = conv.response
            refusal = harmful = None
            if response is not None:
                is_refusal = response.lower().lstrip().startswith(_REFUSAL)
                resp_cats = [] if is_refusal else self._harm(response)
                cats = sorted(set(cats) | set(resp_cats))
                refusal = self._task(is_refusal, self.thresholds.response_refusal)
                harmful = self._task(bool(resp_cats), self.thresholds.response_harmful)
            out.append(
                Verdict(
                    prompt_harmful=self._task(bool(self._harm(conv.prompt)), self.thresholds.prompt_harmful),
                    response_refusal=refusal,
                    response_harmful=harmful,
                    categories=tuple(CategoryScore("llamaguard3", c, 0.9) for c in cats),
                    backend=self.name,
                )
            )
        return out
