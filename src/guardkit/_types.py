"""Core value types: conversations in, verdicts out.

A :class:`Conversation` is a sequence of user/assistant turns; the *last* user turn is the
request being judged and the assistant turn after it (if any) is the response being judged.
A :class:`Verdict` answers the WildGuard paper's three questions for one conversation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from ._exceptions import ConfigError, InputError

__all__ = [
    "CategoryScore",
    "Conversation",
    "Role",
    "Task",
    "TaskVerdict",
    "Thresholds",
    "Turn",
    "Verdict",
    "as_conversation",
]


class Role(StrEnum):
    USER = "user"
    ASSISTANT = "assistant"


class Task(StrEnum):
    """The three moderation tasks of the WildGuard paper. Values are output column names."""

    PROMPT_HARMFUL = "prompt_harmful"
    RESPONSE_REFUSAL = "response_refusal"
    RESPONSE_HARMFUL = "response_harmful"


@dataclass(frozen=True, slots=True)
class Turn:
    role: Role
    content: str

    def __post_init__(self) -> None:
        if not isinstance(self.role, Role):
            try:
                object.__setattr__(self, "role", Role(self.role))
            except ValueError as exc:
                raise InputError(f"turn role must be 'user' or 'assistant', got {self.role!r}") from exc
        if not isinstance(self.content, str):
            raise InputError(f"turn content must be a string, got {type(self.content).__name__}")


@dataclass(frozen=True, slots=True)
class Conversation:
    """User/assistant turns; the last user turn (and the reply to it, if any) is judged.

    Example:
        >>> c = Conversation.from_pair("How do I bake bread?", "Mix flour and water...")
        >>> c.prompt, c.response is not None
        ('How do I bake bread?', True)
    """

    turns: tuple[Turn, ...]

    def __post_init__(self) -> None:
        turns = tuple(self.turns)
        object.__setattr__(self, "turns", turns)
        if not turns:
            raise InputError("a conversation needs at least one user turn; got none")
        if not any(t.role is Role.USER for t in turns):
            raise InputError("a conversation needs at least one user turn; got only assistant turns")
        if not self.prompt.strip():
            raise InputError("the user prompt is empty")

    @classmethod
    def from_pair(cls, prompt: str, response: str | None = None) -> Conversation:
        """Build the common case: one prompt and, optionally, the assistant's response."""
        if not isinstance(prompt, str):
            raise InputError(f"prompt must be a string, got {type(prompt).__name__}")
        if response is not None and not isinstance(response, str):
            raise InputError(f"response must be a string or None, got {type(response).__name__}")
        turns = [Turn(Role.USER, prompt)]
        if response is not None:
            turns.append(Turn(Role.ASSISTANT, response))
        return cls(tuple(turns))

    @classmethod
    def from_messages(cls, messages: Sequence[Mapping[str, Any]]) -> Conversation:
        """Build from OpenAI-style ``[{"role": ..., "content": ...}]``; system turns are skipped."""
        turns = []
        for i, m in enumerate(messages):
            role = m.get("role")
            if role == "system":
                continue
            content = m.get("content")
            if isinstance(content, list):  # OpenAI content parts
                content = "".join(
                    p.get("text", "") for p in content if isinstance(p, Mapping) and p.get("type") == "text"
                )
            if role not in ("user", "assistant"):
                raise InputError(f"message {i}: role must be 'user', 'assistant' or 'system', got {role!r}")
            if not isinstance(content, str):
                raise InputError(f"message {i}: content must be a string, got {type(content).__name__}")
            turns.append(Turn(Role(role), content))
        return cls(tuple(turns))

    @property
    def _last_user_index(self) -> int:
        return max(i for i, t in enumerate(self.turns) if t.role is Role.USER)

    @property
    def prompt(self) -> str:
        """The last user turn: the request being judged."""
        return self.turns[self._last_user_index].content

    @property
    def response(self) -> str | None:
        """The assistant turn right after the last user turn, or None for a prompt-only item."""
        i = self._last_user_index
        if i + 1 < len(self.turns) and self.turns[i + 1].role is Role.ASSISTANT:
            return self.turns[i + 1].content
        return None

    @property
    def history(self) -> tuple[Turn, ...]:
        """Turns before the judged prompt (context for multi-turn guards)."""
        return self.turns[: self._last_user_index]

    def to_messages(self) -> list[dict[str, str]]:
        return [{"role": t.role.value, "content": t.content} for t in self.turns]


def as_conversation(item: Conversation | str | Mapping[str, Any] | Sequence[Any]) -> Conversation:
    """Coerce the accepted input shapes into a :class:`Conversation`.

    Accepted: a Conversation; a prompt string; a ``(prompt, response)`` tuple; a mapping with
    ``prompt`` (and optional ``response``) or ``messages``; a list of message mappings.
    """
    if isinstance(item, Conversation):
        return item
    if isinstance(item, str):
        return Conversation.from_pair(item)
    if isinstance(item, Mapping):
        if "messages" in item:
            return Conversation.from_messages(item["messages"])
        if "prompt" in item:
            return Conversation.from_pair(item["prompt"], item.get("response"))
        raise InputError(f"an item mapping needs 'prompt' or 'messages'; got keys {sorted(item)}")
    if isinstance(item, Sequence) and item and all(isinstance(m, Mapping) for m in item):
        return Conversation.from_messages(item)  # type: ignore[arg-type]
    if isinstance(item, tuple) and len(item) in (1, 2):
        return Conversation.from_pair(*item)
    raise InputError(f"cannot make a conversation from {type(item).__name__}")


def _check_probability(name: str, value: float | None) -> None:
    if value is None:
        return
    if not isinstance(value, (int, float)) or math.isnan(value) or not 0.0 <= value <= 1.0:
        raise ConfigError(f"{name} must be a probability in [0, 1], got {value!r}")


@dataclass(frozen=True, slots=True)
class TaskVerdict:
    """One task's answer: the label, P(label is True) and the threshold that produced it.

    ``label`` is True for harmful (prompt/response harm) or refusal (response refusal).
    ``score`` is None when the backend exposes no probabilities (e.g. a remote generator).
    """

    label: bool
    score: float | None = None
    threshold: float | None = None

    def __post_init__(self) -> None:
        _check_probability("score", self.score)
        _check_probability("threshold", self.threshold)

    @classmethod
    def from_score(cls, score: float, threshold: float) -> TaskVerdict:
        return cls(label=score >= threshold, score=float(score), threshold=threshold)


@dataclass(frozen=True, slots=True)
class Thresholds:
    """Decision thresholds per task (a score >= threshold gives a True label)."""

    prompt_harmful: float = 0.5
    response_refusal: float = 0.5
    response_harmful: float = 0.5

    def __post_init__(self) -> None:
        for task in Task:
            _check_probability(f"threshold for {task.value}", getattr(self, task.value))

    def for_task(self, task: Task) -> float:
        return float(getattr(self, task.value))

    def replace(self, **changes: float | None) -> Thresholds:
        values = {t.value: getattr(self, t.value) for t in Task}
        for k, v in changes.items():
            if k not in values:
                raise ConfigError(f"unknown task {k!r}; expected one of {sorted(values)}")
            if v is not None:
                values[k] = v
        return Thresholds(**values)


TaxonomyName = Literal["wildguard", "llamaguard3", "llamaguard2", "openai"]


@dataclass(frozen=True, slots=True)
class CategoryScore:
    """A risk category in a named taxonomy, with its probability when the backend has one."""

    taxonomy: TaxonomyName
    name: str
    score: float | None = None

    def __post_init__(self) -> None:
        _check_probability("category score", self.score)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The answer to the WildGuard paper's three questions for one conversation.

    A task is None when it does not apply (no response for a prompt-only item) or when a
    generative guard's output could not be parsed (then ``is_parsing_error`` is True).

    Example:
        >>> v = Verdict(prompt_harmful=TaskVerdict(True, 0.93, 0.5), backend="fake")
        >>> v.flagged
        True
    """

    prompt_harmful: TaskVerdict | None
    response_refusal: TaskVerdict | None = None
    response_harmful: TaskVerdict | None = None
    categories: tuple[CategoryScore, ...] = field(default=())
    is_parsing_error: bool = False
    backend: str = ""
    raw_output: str | None = None

    def task(self, task: Task) -> TaskVerdict | None:
        return getattr(self, task.value)  # type: ignore[no-any-return]

    @property
    def flagged(self) -> bool:
        """True when the prompt or the response is judged harmful."""
        return any(t is not None and t.label for t in (self.prompt_harmful, self.response_harmful))

    def categories_in(self, taxonomy: TaxonomyName) -> dict[str, float | None]:
        """This verdict's categories converted into ``taxonomy`` (max score where several map)."""
        from .taxonomy import convert_categories

        return convert_categories(self.categories, taxonomy)

    def to_row(self) -> dict[str, Any]:
        """Flat columns for batch output (the names the CLI writes)."""
        row: dict[str, Any] = {}
        for t in Task:
            tv = self.task(t)
            row[t.value] = None if tv is None else tv.label
            row[f"{t.value}_score"] = None if tv is None else tv.score
        row["categories"] = [c.name for c in self.categories]
        row["is_parsing_error"] = self.is_parsing_error
        return row

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready nested form (used by ``--json`` and the server)."""
        out: dict[str, Any] = {}
        for t in Task:
            tv = self.task(t)
            out[t.value] = (
                None if tv is None else {"label": tv.label, "score": tv.score, "threshold": tv.threshold}
            )
        out["categories"] = [
            {"taxonomy": c.taxonomy, "name": c.name, "score": c.score} for c in self.categories
        ]
        out["is_parsing_error"] = self.is_parsing_error
        out["backend"] = self.backend
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Verdict:
        """Inverse of :meth:`to_dict` (prediction caches are stored this way)."""

        def tv(x: Mapping[str, Any] | None) -> TaskVerdict | None:
            return None if x is None else TaskVerdict(bool(x["label"]), x.get("score"), x.get("threshold"))

        return cls(
            prompt_harmful=tv(d.get("prompt_harmful")),
            response_refusal=tv(d.get("response_refusal")),
            response_harmful=tv(d.get("response_harmful")),
            categories=tuple(
                CategoryScore(c["taxonomy"], c["name"], c.get("score")) for c in d.get("categories", [])
            ),
            is_parsing_error=bool(d.get("is_parsing_error", False)),
            backend=str(d.get("backend", "")),
        )
