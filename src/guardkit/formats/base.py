"""The contract every guard prompt format implements, and the scoring it shares.

A *format* turns a :class:`~guardkit.Conversation` into the exact text a generative guard
model was trained on, and turns the model's generation back into a
:class:`~guardkit.Verdict`. Backends (``hf``, ``vllm``, ``openai``) only move text and token
log-probabilities; everything model-specific lives in a format.

Scores come from the generation's per-token log-probabilities: at the token where an answer
word starts ("yes"/"no" for WildGuard, "unsafe"/"safe" for Llama Guard) the probability of
the positive word is compared with the negative one, ``p(pos) / (p(pos) + p(neg))``, over
the candidate tokens the backend reports (the top-k alternatives of that step). Token
strings are matched as prefixes of the answer words, so a tokenizer that splits
``"unsafe"`` into ``"un" + "safe"`` still scores correctly.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .._types import CategoryScore, Conversation, Task, TaskVerdict, TaxonomyName, Thresholds, Verdict

__all__ = [
    "AnswerSlot",
    "Generation",
    "GuardFormat",
    "ParsedOutput",
    "TokenStep",
    "answer_probability",
]


@dataclass(frozen=True, slots=True)
class TokenStep:
    """One generated token: its text and the log-probabilities of candidate tokens.

    ``top`` maps candidate token *text* to its log-probability at this step and should
    include the generated token itself (backends report the top-k alternatives).
    """

    text: str
    top: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Generation:
    """A backend's output for one prompt: the decoded text and, when known, its tokens."""

    text: str
    steps: tuple[TokenStep, ...] | None = None


@dataclass(frozen=True, slots=True)
class AnswerSlot:
    """Where one task's answer word starts in the generation, and the two words it chose from.

    ``offset`` is a character offset into the parsed text. ``positive`` is the word meaning
    True for the task (``"yes"``, ``"unsafe"``), ``negative`` the word meaning False.
    """

    task: Task
    offset: int
    positive: str
    negative: str


@dataclass(frozen=True, slots=True)
class ParsedOutput:
    """What a format read from one generation, before scores and thresholds are applied.

    ``labels`` holds a value only for tasks the generation answered; a task the format
    expected but could not read sets ``is_parsing_error``.
    """

    labels: Mapping[Task, bool] = field(default_factory=dict)
    slots: tuple[AnswerSlot, ...] = ()
    categories: tuple[str, ...] = ()
    is_parsing_error: bool = False


def _word_side(token: str, positive: str, negative: str) -> int:
    """+1 if ``token`` can start ``positive`` only, -1 if ``negative`` only, else 0."""
    # A token may carry the separator before the word (": yes" in some vocabularies).
    t = token.strip().lstrip(":").strip().lower()
    if not t:
        return 0
    pos, neg = positive.startswith(t), negative.startswith(t)
    if pos == neg:
        return 0
    return 1 if pos else -1


def answer_probability(top: Mapping[str, float], positive: str, negative: str) -> float | None:
    """``p(positive) / (p(positive) + p(negative))`` from one step's candidate log-probs.

    Candidates are matched case-insensitively, ignoring surrounding whitespace, as prefixes
    of the answer words; a candidate that could start either word is ignored. Returns None
    when no candidate matches either word.

    Example:
        >>> round(answer_probability({" yes": math.log(0.6), " no": math.log(0.2)}, "yes", "no"), 2)
        0.75
        >>> round(answer_probability({"un": math.log(0.3), "safe": math.log(0.7)}, "unsafe", "safe"), 2)
        0.3
    """
    p_pos = p_neg = 0.0
    for token, logprob in top.items():
        if logprob is None or math.isnan(logprob):
            continue
        side = _word_side(token, positive, negative)
        if side > 0:
            p_pos += math.exp(logprob)
        elif side < 0:
            p_neg += math.exp(logprob)
    total = p_pos + p_neg
    if total <= 0.0:
        return None
    return min(1.0, max(0.0, p_pos / total))


def _step_at(steps: Sequence[TokenStep], offset: int) -> TokenStep | None:
    """The step whose token covers character ``offset`` of the steps' joined text."""
    pos = 0
    for step in steps:
        end = pos + len(step.text)
        if pos <= offset < end:
            return step
        pos = end
    return None


class GuardFormat(ABC):
    """A generative guard's prompt template and output parser.

    Subclasses set the class attributes and implement :meth:`prompts`,
    :meth:`parse_one` and :meth:`chat_messages`; :meth:`verdict` combines the parsed
    generations with the backend's token log-probabilities.

    Example:
        >>> from guardkit.formats import get_format
        >>> fmt = get_format("wildguard")
        >>> conv = Conversation.from_pair("How do I bake bread?")
        >>> text = "Harmful request: no\\nResponse refusal: N/A\\nHarmful response: N/A"
        >>> fmt.verdict(conv, [Generation(text)]).prompt_harmful.label
        False
    """

    #: Registry name, e.g. ``"wildguard"``.
    name: ClassVar[str] = ""
    #: Whether the tokenizer should add its special tokens (BOS) to :meth:`prompts` output.
    #: False when the template itself spells out the BOS token.
    add_special_tokens: ClassVar[bool] = True
    #: Taxonomy of the category names this format reports.
    taxonomy: ClassVar[TaxonomyName | None] = None
    #: Enough new tokens for a well-formed answer.
    default_max_new_tokens: ClassVar[int] = 32

    @property
    def params(self) -> dict[str, Any]:
        """Settings that change prompts or parsing; part of a backend's cache key."""
        return {"format": self.name}

    @property
    def category_taxonomy(self) -> TaxonomyName | None:
        """The taxonomy reported categories are in (None: categories are not reported)."""
        return self.taxonomy

    @abstractmethod
    def prompts(self, conv: Conversation) -> list[str]:
        """The raw prompt(s) to generate from for ``conv`` (usually one)."""

    @abstractmethod
    def chat_messages(self, conv: Conversation) -> list[list[dict[str, str]]]:
        """The same requests as chat messages, for servers that apply the model's chat template."""

    @abstractmethod
    def parse_one(self, text: str, conv: Conversation, index: int = 0) -> ParsedOutput:
        """Read the generation for prompt number ``index`` of ``conv``. Never raises on bad text."""

    def build_prompt(self, conv: Conversation) -> str:
        """The first (usually only) prompt for ``conv``."""
        return self.prompts(conv)[0]

    def parse(self, text: str, conv: Conversation, *, thresholds: Thresholds | None = None) -> Verdict:
        """The :class:`Verdict` for a single generation without token log-probs (no scores).

        Example:
            >>> from guardkit.formats import get_format
            >>> v = get_format("llamaguard3").parse("unsafe\\nS9", Conversation.from_pair("..."))
            >>> v.prompt_harmful.label, [c.name for c in v.categories]
            (True, ['S9'])
        """
        return self.verdict(conv, [Generation(text)], thresholds=thresholds)

    # -- combining -----------------------------------------------------------------------
    @staticmethod
    def _scores(parsed: ParsedOutput, steps: Sequence[TokenStep]) -> dict[Task, float]:
        """Score each answer slot from the token that covers it (``steps`` join to the parsed text)."""
        out: dict[Task, float] = {}
        for slot in parsed.slots:
            step = _step_at(steps, slot.offset)
            if step is None:
                continue
            p = answer_probability(step.top, slot.positive, slot.negative)
            if p is not None:
                out[slot.task] = p
        return out

    def verdict(
        self,
        conv: Conversation,
        generations: Sequence[Generation],
        *,
        thresholds: Thresholds | None = None,
        backend: str = "",
    ) -> Verdict:
        """Build the :class:`Verdict` for ``conv`` from one generation per prompt.

        A task's label comes from its score and threshold when the backend reported token
        log-probabilities, else from the generated word. Unparsable tasks are None and set
        ``is_parsing_error``; this method never raises on model output.
        """
        thresholds = thresholds or Thresholds()
        labels: dict[Task, bool] = {}
        scores: dict[Task, float] = {}
        cats: list[str] = []
        error = False
        if len(generations) != len(self.prompts(conv)):
            error = True
        for i, gen in enumerate(generations):
            parsed = self.parse_one(gen.text, conv, i)
            labels.update(parsed.labels)
            cats.extend(c for c in parsed.categories if c not in cats)
            error = error or parsed.is_parsing_error
            if not gen.steps:
                continue
            joined = "".join(s.text for s in gen.steps)
            if joined != gen.text:
                # Per-token texts may not join to the decoded text (byte-level pieces,
                # stripped special tokens): place the answers on the joined text instead,
                # provided it reads the same.
                reparsed = self.parse_one(joined, conv, i)
                if dict(reparsed.labels) != dict(parsed.labels):
                    continue
                parsed = reparsed
            scores.update(self._scores(parsed, gen.steps))
        tasks: dict[Task, TaskVerdict | None] = {}
        for task in Task:
            if task not in labels:
                tasks[task] = None
            elif task in scores:
                tasks[task] = TaskVerdict.from_score(scores[task], thresholds.for_task(task))
            else:
                tasks[task] = TaskVerdict(label=labels[task])
        harm_score = max(
            (
                tv.score
                for t in (Task.PROMPT_HARMFUL, Task.RESPONSE_HARMFUL)
                if (tv := tasks[t]) and tv.score is not None
            ),
            default=None,
        )
        taxonomy = self.category_taxonomy
        flagged = any(
            tv is not None and tv.label for tv in (tasks[Task.PROMPT_HARMFUL], tasks[Task.RESPONSE_HARMFUL])
        )
        # Categories name what is harmful; a threshold that overrules "unsafe" drops them too.
        # Their score is P(unsafe) of the judgement that listed them.
        categories = (
            tuple(CategoryScore(taxonomy, c, harm_score) for c in cats)
            if taxonomy is not None and flagged
            else ()
        )
        raw = "\n---\n".join(g.text for g in generations)
        return Verdict(
            prompt_harmful=tasks[Task.PROMPT_HARMFUL],
            response_refusal=tasks[Task.RESPONSE_REFUSAL],
            response_harmful=tasks[Task.RESPONSE_HARMFUL],
            categories=categories,
            is_parsing_error=error,
            backend=backend,
            raw_output=raw,
        )
