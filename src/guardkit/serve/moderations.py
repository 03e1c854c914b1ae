"""``POST /v1/moderations``: OpenAI's moderation endpoint, answered by a guardkit backend.

Each input text is judged as a user prompt (the ``prompt_harmful`` task):

- ``flagged`` is the prompt_harmful label (score >= threshold).
- ``category_scores`` holds all 13 OpenAI categories: the backend's category scores converted
  to OpenAI's taxonomy (:meth:`Verdict.categories_in`), where a category without its own
  score takes the prompt_harmful score, and every other category is 0.0.
- ``categories[c]`` is True when the input is flagged and ``c`` is one of its categories.
- Fallback: a flagged input whose categories map to none of OpenAI's (e.g. privacy,
  copyright, misinformation) gets ``settings.fallback_category`` (default ``illicit``) with
  the prompt_harmful score, so ``flagged`` always has at least one True category.
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request

from .._types import Conversation, Verdict
from ..taxonomy import OPENAI
from .classify import ERROR_RESPONSES, get_guard, verdict_out
from .errors import APIError
from .schemas import ModerationRequest, ModerationResponse, ModerationResult, TextPart
from .settings import ServeSettings

__all__ = ["moderation_result", "router"]

router = APIRouter()


def moderation_result(v: Verdict, fallback_category: str = "illicit") -> ModerationResult:
    """Map a prompt verdict onto OpenAI's moderation result (see the module docstring)."""
    task = v.prompt_harmful
    flagged = bool(task is not None and task.label)
    task_score = (task.score if task is not None else None) or (1.0 if flagged else 0.0)
    mapped = v.categories_in("openai")
    if flagged and not mapped:
        mapped = {fallback_category: None}
    scores = {n: 0.0 for n in OPENAI}
    for name, score in mapped.items():
        scores[name] = float(score) if score is not None else float(task_score)
    return ModerationResult.model_validate(
        {
            "flagged": flagged,
            "categories": {n: flagged and n in mapped for n in OPENAI},
            "category_scores": scores,
            "category_applied_input_types": {n: ["text"] for n in OPENAI},
            "guardkit": verdict_out(v),
        }
    )


def _texts(body: ModerationRequest) -> list[str]:
    if isinstance(body.input, str):
        return [body.input]
    texts = []
    for item in body.input:
        texts.append(item.text if isinstance(item, TextPart) else item)
    if not texts:
        raise APIError(
            400, "input is empty: send a string or a non-empty list", param="input", code="invalid_value"
        )
    return texts


def _check_model(model: str | None, settings: ServeSettings, backend: str) -> str:
    accepted = {settings.model_name, settings.backend, backend, *settings.model_aliases}
    if model is None:
        return settings.model_name
    if model not in accepted:
        raise APIError(
            404,
            f"The model `{model}` does not exist; this server accepts {sorted(accepted)}",
            param="model",
            code="model_not_found",
        )
    return model


@router.post(
    "/v1/moderations",
    response_model=ModerationResponse,
    responses=ERROR_RESPONSES,
    summary="OpenAI-compatible moderation",
)
async def create_moderation(body: ModerationRequest, request: Request) -> ModerationResponse:
    """Classify text inputs, in OpenAI's moderation format (13 categories).

    Works with ``openai.OpenAI(base_url=".../v1").moderations.create(input=...)``.
    """
    guard = get_guard(request)
    model = _check_model(body.model, guard.settings, guard.backend)
    texts = _texts(body)
    guard.check_count(len(texts), "inputs")
    guard.check_lengths(texts, "input")
    verdicts = await guard.judge_or_503([Conversation.from_pair(t) for t in texts])
    return ModerationResponse(
        id=f"modr-{uuid.uuid4().hex}",
        model=model,
        results=[moderation_result(v, guard.settings.fallback_category) for v in verdicts],
    )
