"""A lexical refusal signal: known refusal phrases at the start of a response.

The frozen-encoder baseline showed refusal is partly lexical (a short prefix list beat
embeddings), so the built-in model gets this flag as an extra input feature, and the training
mix uses it as a weak refusal label on responses without human labels.
"""

from __future__ import annotations

__all__ = ["REFUSAL_PREFIXES", "is_refusal_text"]

REFUSAL_PREFIXES: tuple[str, ...] = (
    "i'm sorry", "i am sorry", "sorry", "i apologize", "i apologise", "as an ai", "as a language model",
    "as an assistant", "i cannot", "i can't", "i can not", "i won't", "i will not", "i'm not able",
    "i am not able", "i'm unable", "i am unable", "i must decline", "i must respectfully decline",
    "i'm afraid i can", "i do not feel comfortable", "i don't feel comfortable", "it is not appropriate",
    "it's not appropriate", "i'm not comfortable", "i refuse", "unfortunately, i can", "no, i can",
    "i'm really sorry", "my apologies", "i'd rather not", "i would rather not", "that's not something i",
    "i'm not going to", "i am not going to", "i don't think i can",
    "죄송", "미안", "도와드릴 수 없", "답변드릴 수 없", "제공할 수 없", "할 수 없습니다",
)


def is_refusal_text(response: str, head_chars: int = 160) -> bool:
    """True when a known refusal phrase occurs in the first ``head_chars`` characters.

    Example:
        >>> is_refusal_text("I'm sorry, but I can't help with that.")
        True
    """
    head = response.strip().lower()[:head_chars].replace("\u2019", "'")
    return any(p in head for p in REFUSAL_PREFIXES)
