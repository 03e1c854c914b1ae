"""Guard prompt formats: how a generative guard model is prompted and how its answer is read.

=============  ==========================================  ==============================
name           model                                       tasks filled
=============  ==========================================  ==============================
wildguard      allenai/wildguard                           all three
llamaguard3    meta-llama/Llama-Guard-3-8B (and 3-1B)      harm of the last turn
llamaguard2    meta-llama/Meta-Llama-Guard-2-8B            harm of the last turn
=============  ==========================================  ==============================

Generative backends (``hf``, ``vllm``, ``openai``) take ``format=NAME``; Llama Guard
formats also take ``categories=`` and ``judge=`` (see :class:`LlamaGuardFormat`).

Example:
    >>> from guardkit import Conversation
    >>> fmt = get_format("llamaguard3")
    >>> fmt.build_prompt(Conversation.from_pair("Hi")).count("User: Hi")
    1
"""

from __future__ import annotations

from typing import Any

from .._exceptions import ConfigError
from .base import AnswerSlot, Generation, GuardFormat, ParsedOutput, TokenStep, answer_probability
from .llamaguard import LlamaGuard2Format, LlamaGuard3Format, LlamaGuardFormat
from .wildguard import WildGuardFormat

__all__ = [
    "FORMATS",
    "AnswerSlot",
    "Generation",
    "GuardFormat",
    "LlamaGuard2Format",
    "LlamaGuard3Format",
    "LlamaGuardFormat",
    "ParsedOutput",
    "TokenStep",
    "WildGuardFormat",
    "answer_probability",
    "get_format",
]

#: name -> format class.
FORMATS: dict[str, type[GuardFormat]] = {
    "wildguard": WildGuardFormat,
    "llamaguard3": LlamaGuard3Format,
    "llamaguard2": LlamaGuard2Format,
}


def get_format(fmt: str | GuardFormat, **options: Any) -> GuardFormat:
    """A format instance from its name (``options`` go to its constructor) or as given.

    Example:
        >>> get_format("llamaguard3", categories="S1,S10").categories
        {'S1': 'Violent Crimes.', 'S10': 'Hate.'}
    """
    if isinstance(fmt, GuardFormat):
        if options:
            raise ConfigError(f"format options {sorted(options)} given with a format instance")
        return fmt
    if not isinstance(fmt, str) or fmt.strip().lower() not in FORMATS:
        raise ConfigError(f"unknown format {fmt!r}; expected one of {', '.join(sorted(FORMATS))}")
    cls = FORMATS[fmt.strip().lower()]
    try:
        return cls(**options)
    except TypeError as exc:
        raise ConfigError(f"format {fmt!r}: {exc}") from exc
