"""Wire formats: pydantic models for requests and responses (OpenAI-compatible where OpenAI has one).

The moderation and chat-completion shapes follow OpenAI's API so the official SDKs work
unchanged; guardkit adds a ``guardkit`` field with the full verdicts (clients ignore it).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue, create_model, model_validator
from pydantic_core import PydanticCustomError

from ..taxonomy import OPENAI

JsonDict = dict[str, JsonValue]

__all__ = [
    "ChatCompletionRequest",
    "ChatMessage",
    "ClassifyRequest",
    "ClassifyResponse",
    "ErrorBody",
    "ErrorResponse",
    "HealthResponse",
    "MessagesItem",
    "ModerationRequest",
    "ModerationResponse",
    "ModerationResult",
    "PairItem",
    "TextPart",
    "VerdictOut",
]


def _valid_unicode(v: str) -> str:
    # JSON may carry lone surrogates ("\ud800"); they are not text and crash tokenizers.
    try:
        v.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("text is not valid Unicode (lone surrogate)") from exc
    return v


#: A string that holds valid Unicode.
Text = Annotated[str, AfterValidator(_valid_unicode)]
#: A character that is not whitespace by Python's ``str.isspace`` (what ``Conversation`` checks),
#: spelled out because ``\S`` differs between JSON Schema (ECMA), Rust and Python regexes.
NOT_SPACE = (
    "[^\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]"
)
#: Text with at least one non-whitespace character (an empty text cannot be judged).
NonBlank = Annotated[str, Field(pattern=NOT_SPACE), AfterValidator(_valid_unicode)]


# --- errors ---------------------------------------------------------------------------------
class ErrorBody(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    """OpenAI's error shape: ``{"error": {"message", "type", "param", "code"}}``."""

    error: ErrorBody


# --- /v1/moderations -------------------------------------------------------------------------
class TextPart(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    type: Literal["text"]
    text: NonBlank


ModerationInput = (
    NonBlank | Annotated[list[NonBlank], Field(min_length=1)] | Annotated[list[TextPart], Field(min_length=1)]
)


class ModerationRequest(BaseModel):
    """OpenAI's moderation request. Image parts (``{"type": "image_url"}``) are not in the
    schema and are rejected with a clear 400 (``code: unsupported_input_type``)."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _no_images(cls, data: Any) -> Any:
        items = data.get("input") if isinstance(data, dict) else None
        if isinstance(items, list):
            for i, item in enumerate(items):
                if isinstance(item, dict) and item.get("type") in ("image_url", "image", "input_image"):
                    raise PydanticCustomError(
                        "unsupported_input_type",
                        "input[{i}] is an image; guardkit moderates text only: send strings or "
                        "{'type': 'text', 'text': ...} parts",  # only {i} is a placeholder: braces stay as written
                        {"i": i},
                    )
        return data

    input: ModerationInput = Field(
        description="A string, a list of strings, or a list of {type: 'text', text} parts."
    )
    model: str | None = Field(
        default=None, description="Accepted: the server's model name or an OpenAI moderation model name."
    )


def _field(name: str) -> str:
    return name.replace("/", "_").replace("-", "_")


# The 13 OpenAI categories, every one required, under their exact (slashed) names.
Categories = create_model(  # type: ignore[call-overload]
    "Categories", **{_field(n): (bool, Field(alias=n)) for n in OPENAI}
)
CategoryScores = create_model(  # type: ignore[call-overload]
    "CategoryScores", **{_field(n): (float, Field(alias=n, ge=0.0, le=1.0)) for n in OPENAI}
)
CategoryAppliedInputTypes = create_model(  # type: ignore[call-overload]
    "CategoryAppliedInputTypes", **{_field(n): (list[Literal["text"]], Field(alias=n)) for n in OPENAI}
)


class TaskVerdictOut(BaseModel):
    label: bool
    score: float | None
    threshold: float | None


class VerdictOut(BaseModel):
    """A full guardkit verdict: the three tasks and the categories in every taxonomy."""

    flagged: bool
    prompt_harmful: TaskVerdictOut | None
    response_refusal: TaskVerdictOut | None
    response_harmful: TaskVerdictOut | None
    categories: dict[str, dict[str, float | None]] = Field(
        description="taxonomy -> {category: score or null}, for wildguard, llamaguard3 and openai"
    )
    is_parsing_error: bool
    backend: str


class ModerationResult(BaseModel):
    flagged: bool
    categories: Categories  # type: ignore[valid-type]
    category_scores: CategoryScores  # type: ignore[valid-type]
    category_applied_input_types: CategoryAppliedInputTypes  # type: ignore[valid-type]
    guardkit: VerdictOut | None = Field(default=None, description="guardkit's full verdict (extension)")


class ModerationResponse(BaseModel):
    id: str
    model: str
    results: list[ModerationResult]


# --- /v1/classify ---------------------------------------------------------------------------
class PairItem(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    prompt: NonBlank
    response: Text | None = None


class UserMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    role: Literal["user"]
    content: NonBlank | Annotated[list[TextPart], Field(min_length=1)]


class OtherMessage(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    role: Literal["system", "assistant"]
    content: Text | list[TextPart]


ChatMessage = Annotated[UserMessage | OtherMessage, Field(discriminator="role")]

#: JSON-schema hint: a conversation needs a user turn (checked by the handler, 400 otherwise).
_HAS_USER: JsonDict = {
    "contains": {"type": "object", "required": ["role"], "properties": {"role": {"const": "user"}}}
}


class MessagesItem(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    messages: list[ChatMessage] = Field(min_length=1, json_schema_extra=_HAS_USER)


class ClassifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    items: list[PairItem | MessagesItem] = Field(
        min_length=1, description="prompt/response pairs or OpenAI-style message lists"
    )


class ClassifyResponse(BaseModel):
    id: str
    backend: str
    results: list[VerdictOut]


# --- /v1/chat/completions (proxy) ------------------------------------------------------------
class ChatContentPart(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    type: str
    text: Text | None = None


class ProxyMessage(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: Text | list[ChatContentPart] | None = None


class ChatCompletionRequest(BaseModel):
    """OpenAI's chat-completion request; every field besides these is forwarded unchanged."""

    model_config = ConfigDict(extra="allow", strict=True)
    model: str = Field(min_length=1)
    messages: list[ProxyMessage] = Field(
        min_length=1,
        json_schema_extra={
            "contains": {  # type: ignore[dict-item]
                "type": "object",
                "required": ["role", "content"],
                "properties": {
                    "role": {"const": "user"},
                    "content": {"type": "string", "pattern": NOT_SPACE},
                },
            }
        },
    )
    stream: bool | None = False


class HealthResponse(BaseModel):
    status: str
    backend: str | None = None
    error: str | None = None


def guardkit_field_doc() -> dict[str, Any]:
    """OpenAPI description of the ``guardkit`` field added to chat completions."""
    return {
        "action": "allowed | blocked_prompt | blocked_response | guard_error",
        "prompt": "verdict of the request (VerdictOut) or null",
        "responses": "one verdict per choice (VerdictOut) or null",
        "guard_error": "null, or why the guard failed (fail-open only)",
    }
