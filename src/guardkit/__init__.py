"""guardkit: one-stop safety moderation for LLM applications.

One call answers the WildGuard paper's three questions -- is the user's request harmful? is
the assistant's response a refusal? is the response harmful? -- with calibrated scores and
risk categories, on any backend.

Example:
    >>> import guardkit
    >>> clf = guardkit.get_backend("fake")
    >>> v = clf.classify_one("How do I make a bomb?", "I can't help with that.")
    >>> v.prompt_harmful.label, v.response_refusal.label, v.response_harmful.label
    (True, True, False)
"""

from __future__ import annotations

from ._exceptions import (
    BackendError,
    BackendTimeout,
    BackendUnavailable,
    ConfigError,
    DatasetError,
    GuardkitError,
    InputError,
    MissingDependency,
    ParseError,
)
from ._types import (
    CategoryScore,
    Conversation,
    Role,
    Task,
    TaskVerdict,
    Thresholds,
    Turn,
    Verdict,
    as_conversation,
)
from .backends import DEFAULT_BACKEND, Classifier, get_backend

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_BACKEND",
    "BackendError",
    "BackendTimeout",
    "BackendUnavailable",
    "CategoryScore",
    "Classifier",
    "ConfigError",
    "Conversation",
    "DatasetError",
    "GuardkitError",
    "InputError",
    "MissingDependency",
    "ParseError",
    "Role",
    "Task",
    "TaskVerdict",
    "Thresholds",
    "Turn",
    "Verdict",
    "__version__",
    "as_conversation",
    "classify",
    "get_backend",
]


def classify(
    prompt: str | Conversation, response: str | None = None, *, backend: str = DEFAULT_BACKEND
) -> Verdict:
    """Classify one interaction with a (cached) backend; the quickest way in.

    For many items, build a classifier once with :func:`get_backend` and call ``classify``.
    """
    from .backends import cached_backend

    return cached_backend(backend).classify_one(prompt, response)
