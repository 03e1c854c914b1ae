"""The guard service shared by all endpoints, and ``POST /v1/classify`` (full verdicts out)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, Request

from .._exceptions import BackendError, BackendTimeout, BackendUnavailable
from .._types import Conversation, Task, Thresholds, Verdict
from ..backends import Classifier
from .batching import MicroBatcher
from .errors import APIError, guard_failure
from .metrics import Metrics
from .schemas import (
    ClassifyRequest,
    ClassifyResponse,
    ErrorResponse,
    MessagesItem,
    TaskVerdictOut,
    VerdictOut,
)
from .settings import ServeSettings

__all__ = ["Guard", "router", "verdict_out"]

logger = logging.getLogger(__name__)

#: Taxonomies every full verdict reports its categories in.
TAXONOMIES = ("wildguard", "llamaguard3", "openai")


class Guard:
    """One loaded classifier behind a micro-batcher, with metrics and the size limits.

    Args:
        classifier: the backend (loaded by :meth:`start`, in the worker thread).
        settings: server settings (thresholds, timeouts, limits, batching).
        metrics: where batches, flags and errors are counted.
        own_classifier: close the classifier on :meth:`stop`.
    """

    def __init__(
        self,
        classifier: Classifier,
        settings: ServeSettings,
        metrics: Metrics,
        *,
        own_classifier: bool = True,
    ) -> None:
        self.classifier = classifier
        self.settings = settings
        self.metrics = metrics
        self.own_classifier = own_classifier
        if settings.thresholds:
            classifier.thresholds = Thresholds(
                **{t.value: settings.thresholds.get(t.value, classifier.thresholds.for_task(t)) for t in Task}
            )
        self.batcher = MicroBatcher(
            classifier.classify,
            max_batch_size=settings.batch_max_size,
            max_wait_ms=settings.batch_max_wait_ms,
            on_batch=metrics.observe_batch,
        )
        metrics.queue_depth.set_function(lambda: self.batcher.queue_depth)

    @property
    def backend(self) -> str:
        return self.classifier.name or type(self.classifier).__name__

    async def start(self) -> None:
        def load() -> None:
            self.classifier.load()
            self.metrics.ready.set(1)

        await self.batcher.start(load)

    async def stop(self) -> None:
        await self.batcher.stop()
        self.metrics.ready.set(0)
        if self.own_classifier:
            self.classifier.close()

    def check_count(self, n: int, what: str) -> None:
        """413 when a request holds more than ``max_items`` items."""
        if n > self.settings.max_items:
            raise APIError(
                413,
                f"too many {what}: {n} given, at most {self.settings.max_items} per request",
                code="too_many_items",
            )

    def check_lengths(self, texts: Sequence[str], what: str) -> None:
        """413 when a text is longer than ``max_chars``."""
        for i, t in enumerate(texts):
            if len(t) > self.settings.max_chars:
                raise APIError(
                    413,
                    f"{what} {i} is too long: {len(t)} characters, at most {self.settings.max_chars}",
                    code="input_too_long",
                )

    async def judge(self, convs: Sequence[Conversation]) -> list[Verdict]:
        """Verdicts for ``convs`` through the micro-batcher.

        Raises:
            BackendError: the guard failed or timed out (counted in metrics).
        """
        try:
            verdicts = await self.batcher.classify(convs, timeout=self.settings.guard_timeout_s)
        except BackendError as exc:
            self.metrics.guard_errors.labels(
                kind="timeout" if isinstance(exc, BackendTimeout) else "error"
            ).inc()
            # guardkit's own messages are safe to log; a wrapped third-party error might quote
            # the input, so only its type is logged unless log_text is on
            ours = isinstance(exc, (BackendTimeout, BackendUnavailable)) or exc.__cause__ is None
            logger.warning("guard failed: %s", exc if ours or self.settings.log_text else _kind(exc))
            raise
        self.metrics.count_flags(verdicts)
        if self.settings.log_text:  # opt-in only: user text is never logged by default
            for c, v in zip(convs, verdicts, strict=True):
                logger.info("guard: prompt=%r response=%r -> %s", c.prompt, c.response, v.to_row())
        return verdicts

    async def judge_or_503(self, convs: Sequence[Conversation]) -> list[Verdict]:
        try:
            return await self.judge(convs)
        except BackendError as exc:
            raise guard_failure(exc) from exc


def _kind(exc: BaseException) -> str:
    cause = exc.__cause__
    return type(exc).__name__ + (f" caused by {type(cause).__name__}" if cause is not None else "")


def verdict_out(v: Verdict) -> VerdictOut:
    """A verdict on the wire: the three tasks plus categories in every taxonomy."""

    def tv(task: Task) -> TaskVerdictOut | None:
        t = v.task(task)
        return None if t is None else TaskVerdictOut(label=t.label, score=t.score, threshold=t.threshold)

    return VerdictOut(
        flagged=v.flagged,
        prompt_harmful=tv(Task.PROMPT_HARMFUL),
        response_refusal=tv(Task.RESPONSE_REFUSAL),
        response_harmful=tv(Task.RESPONSE_HARMFUL),
        categories={tax: v.categories_in(tax) for tax in TAXONOMIES},  # type: ignore[arg-type]
        is_parsing_error=v.is_parsing_error,
        backend=v.backend,
    )


def verdict_json(v: Verdict) -> dict[str, Any]:
    return verdict_out(v).model_dump(mode="json")


def get_guard(request: Request) -> Guard:
    return request.app.state.guard  # type: ignore[no-any-return]


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": desc}
    for code, desc in {
        400: "Invalid request (wrong types, empty input, invalid JSON or UTF-8)",
        401: "Missing or wrong API key",
        404: "Unknown model",
        413: "Request too large (bytes, items or characters)",
        503: "The guard failed or timed out (fail-closed)",
    }.items()
}

router = APIRouter()


@router.post(
    "/v1/classify",
    response_model=ClassifyResponse,
    responses=ERROR_RESPONSES,
    summary="Full verdicts for a batch of conversations",
)
async def classify(body: ClassifyRequest, request: Request) -> ClassifyResponse:
    """Answer WildGuard's three questions for each item (prompt/response pair or messages).

    Each result has the three tasks (label, score, threshold; a response task is null when
    the item has no response) and the categories in the wildguard, llamaguard3 and openai
    taxonomies.
    """
    guard = get_guard(request)
    guard.check_count(len(body.items), "items")
    convs = []
    for item in body.items:
        if isinstance(item, MessagesItem):
            msgs = [m.model_dump() for m in item.messages]
            convs.append(Conversation.from_messages(msgs))
        else:
            convs.append(Conversation.from_pair(item.prompt, item.response))
    guard.check_lengths([t.content for c in convs for t in c.turns], "text")
    verdicts = await guard.judge_or_503(convs)
    return ClassifyResponse(
        id=f"gkcls-{uuid.uuid4().hex}", backend=guard.backend, results=[verdict_out(v) for v in verdicts]
    )
