"""Risk taxonomies and the mappings between them.

Four taxonomies are known:

- ``wildguard``: the 13 harm subcategories of WildGuardMix (the ``subcategory`` column of
  WildGuardTest, minus ``benign``; ``others`` is kept as a catch-all).
- ``llamaguard3``: Llama Guard 3's hazards S1–S14 (MLCommons taxonomy).
- ``llamaguard2``: Llama Guard 2's S1–S11.
- ``openai``: OpenAI moderation's 13 categories (``omni-moderation``).

Every category maps to a *hub* category of Llama Guard 3 (the richest of the four);
conversion goes source → hub → target. The whole table is :data:`MAPPING_TABLE`, rendered
in docs/taxonomy.md by :func:`markdown_table`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from ._exceptions import ConfigError

if TYPE_CHECKING:
    from ._types import CategoryScore, TaxonomyName

__all__ = [
    "LLAMAGUARD2",
    "LLAMAGUARD3",
    "MAPPING_TABLE",
    "OPENAI",
    "TAXONOMIES",
    "WILDGUARD",
    "convert",
    "convert_categories",
    "markdown_table",
]

#: WildGuard's 13 subcategories (names as in WildGuardTest's ``subcategory`` column).
WILDGUARD: dict[str, str] = {
    "private_information_individual": "Privacy: private information about individuals",
    "sensitive_information_organization_government": "Privacy: sensitive information (organisation/government)",
    "copyright_violations": "Privacy: copyright violations",
    "toxic_language_hate_speech": "Harmful language: toxic language and hate speech",
    "sexual_content": "Harmful language: sexual content",
    "social_stereotypes_and_unfair_discrimination": "Harmful language: social stereotypes and unfair discrimination",
    "violence_and_physical_harm": "Harmful language: violence and physical harm",
    "disseminating_false_or_misleading_information_encouraging_disinformation_campaigns": "Misinformation: false or misleading information, disinformation campaigns",
    "causing_material_harm_by_disseminating_misinformation": "Misinformation: material harm by misinformation",
    "cyberattack": "Malicious uses: cyberattacks",
    "fraud_assisting_illegal_activities": "Malicious uses: fraud and assisting illegal activities",
    "defamation_encouraging_unethical_or_unsafe_actions": "Malicious uses: defamation, encouraging unethical or unsafe actions",
    "mental_health_over-reliance_crisis": "Malicious uses: mental health and over-reliance crisis",
}
#: WildGuardTest also labels harmful items ``others`` (no specific subcategory).
WILDGUARD_OTHERS = "others"

#: Llama Guard 3 hazard categories (S1–S14), names exactly as in Meta's prompt.
LLAMAGUARD3: dict[str, str] = {
    "S1": "Violent Crimes.",
    "S2": "Non-Violent Crimes.",
    "S3": "Sex Crimes.",
    "S4": "Child Exploitation.",
    "S5": "Defamation.",
    "S6": "Specialized Advice.",
    "S7": "Privacy.",
    "S8": "Intellectual Property.",
    "S9": "Indiscriminate Weapons.",
    "S10": "Hate.",
    "S11": "Self-Harm.",
    "S12": "Sexual Content.",
    "S13": "Elections.",
    "S14": "Code Interpreter Abuse.",
}

#: Llama Guard 2 categories (S1–S11).
LLAMAGUARD2: dict[str, str] = {
    "S1": "Violent Crimes.",
    "S2": "Non-Violent Crimes.",
    "S3": "Sex Crimes.",
    "S4": "Child Exploitation.",
    "S5": "Specialized Advice.",
    "S6": "Privacy.",
    "S7": "Intellectual Property.",
    "S8": "Indiscriminate Weapons.",
    "S9": "Hate.",
    "S10": "Self-Harm.",
    "S11": "Sexual Content.",
}

#: OpenAI moderation's 13 categories.
OPENAI: dict[str, str] = {
    "harassment": "Harassing language towards any target.",
    "harassment/threatening": "Harassment that also includes violence or serious harm.",
    "hate": "Hate based on protected attributes.",
    "hate/threatening": "Hateful content that also includes violence or serious harm.",
    "illicit": "Advice or instruction on how to commit illicit acts.",
    "illicit/violent": "Illicit advice that also involves violence or weapons.",
    "self-harm": "Promotes, encourages or depicts self-harm.",
    "self-harm/intent": "The speaker intends to self-harm.",
    "self-harm/instructions": "Encourages or instructs self-harm.",
    "sexual": "Meant to arouse sexual excitement.",
    "sexual/minors": "Sexual content involving minors.",
    "violence": "Depicts death, violence or physical injury.",
    "violence/graphic": "Depicts violence or injury in graphic detail.",
}

TAXONOMIES: dict[str, dict[str, str]] = {
    "wildguard": WILDGUARD,
    "llamaguard3": LLAMAGUARD3,
    "llamaguard2": LLAMAGUARD2,
    "openai": OPENAI,
}

# --- mappings onto the hub (Llama Guard 3 codes); a category may map to several ---------
_TO_HUB: dict[str, dict[str, tuple[str, ...]]] = {
    "wildguard": {
        "private_information_individual": ("S7",),
        "sensitive_information_organization_government": ("S7",),
        "copyright_violations": ("S8",),
        "toxic_language_hate_speech": ("S10",),
        "sexual_content": ("S12",),
        "social_stereotypes_and_unfair_discrimination": ("S10",),
        "violence_and_physical_harm": ("S1",),
        "disseminating_false_or_misleading_information_encouraging_disinformation_campaigns": ("S13", "S5"),
        "causing_material_harm_by_disseminating_misinformation": ("S6",),
        "cyberattack": ("S14", "S2"),
        "fraud_assisting_illegal_activities": ("S2",),
        "defamation_encouraging_unethical_or_unsafe_actions": ("S5",),
        "mental_health_over-reliance_crisis": ("S11",),
        "others": (),
    },
    "llamaguard3": {k: (k,) for k in LLAMAGUARD3},
    "llamaguard2": {
        "S1": ("S1",),
        "S2": ("S2",),
        "S3": ("S3",),
        "S4": ("S4",),
        "S5": ("S6",),
        "S6": ("S7",),
        "S7": ("S8",),
        "S8": ("S9",),
        "S9": ("S10",),
        "S10": ("S11",),
        "S11": ("S12",),
    },
    "openai": {
        "harassment": ("S10",),
        "harassment/threatening": ("S10", "S1"),
        "hate": ("S10",),
        "hate/threatening": ("S10", "S1"),
        "illicit": ("S2",),
        "illicit/violent": ("S1", "S9"),
        "self-harm": ("S11",),
        "self-harm/intent": ("S11",),
        "self-harm/instructions": ("S11",),
        "sexual": ("S12",),
        "sexual/minors": ("S4",),
        "violence": ("S1",),
        "violence/graphic": ("S1",),
    },
}

# Hub → target: the preferred target category for each hub code (first listed wins when
# converting a single category; conversion of scores keeps the max over all sources).
_FROM_HUB: dict[str, dict[str, tuple[str, ...]]] = {
    "wildguard": {
        "S1": ("violence_and_physical_harm",),
        "S2": ("fraud_assisting_illegal_activities",),
        "S3": ("sexual_content",),
        "S4": ("sexual_content",),
        "S5": ("defamation_encouraging_unethical_or_unsafe_actions",),
        "S6": ("causing_material_harm_by_disseminating_misinformation",),
        "S7": ("private_information_individual",),
        "S8": ("copyright_violations",),
        "S9": ("violence_and_physical_harm",),
        "S10": ("toxic_language_hate_speech",),
        "S11": ("mental_health_over-reliance_crisis",),
        "S12": ("sexual_content",),
        "S13": ("disseminating_false_or_misleading_information_encouraging_disinformation_campaigns",),
        "S14": ("cyberattack",),
    },
    "llamaguard3": {k: (k,) for k in LLAMAGUARD3},
    "llamaguard2": {
        "S1": ("S1",),
        "S2": ("S2",),
        "S3": ("S3",),
        "S4": ("S4",),
        "S5": (),
        "S6": ("S5",),
        "S7": ("S6",),
        "S8": ("S7",),
        "S9": ("S8",),
        "S10": ("S9",),
        "S11": ("S10",),
        "S12": ("S11",),
        "S13": (),
        "S14": ("S2",),
    },
    "openai": {
        "S1": ("violence",),
        "S2": ("illicit",),
        "S3": ("sexual",),
        "S4": ("sexual/minors",),
        "S5": ("harassment",),
        "S6": (),
        "S7": (),
        "S8": (),
        "S9": ("illicit/violent",),
        "S10": ("hate",),
        "S11": ("self-harm",),
        "S12": ("sexual",),
        "S13": (),
        "S14": ("illicit",),
    },
}


def _check_taxonomy(name: str) -> None:
    if name not in TAXONOMIES:
        raise ConfigError(f"unknown taxonomy {name!r}; expected one of {sorted(TAXONOMIES)}")


def _check_category(taxonomy: str, category: str) -> None:
    _check_taxonomy(taxonomy)
    if category not in _TO_HUB[taxonomy]:
        raise ConfigError(
            f"unknown {taxonomy} category {category!r}; expected one of {sorted(_TO_HUB[taxonomy])}"
        )


def convert(category: str, source: str, target: str) -> tuple[str, ...]:
    """Categories of ``target`` that ``category`` of ``source`` maps to (may be empty).

    Example:
        >>> convert("S10", "llamaguard3", "openai")
        ('hate',)
        >>> convert("hate", "openai", "wildguard")
        ('toxic_language_hate_speech',)
    """
    _check_category(source, category)
    _check_taxonomy(target)
    if source == target:
        return (category,)
    out: list[str] = []
    for hub in _TO_HUB[source][category]:
        for t in _FROM_HUB[target][hub]:
            if t not in out:
                out.append(t)
    return tuple(out)


def convert_categories(categories: Iterable[CategoryScore], target: TaxonomyName) -> dict[str, float | None]:
    """Convert category scores into ``target``; where several map to one, keep the max."""
    out: dict[str, float | None] = {}
    for c in categories:
        for t in convert(c.name, c.taxonomy, target):
            prev = out.get(t)
            if t not in out or (c.score is not None and (prev is None or c.score > prev)):
                out[t] = c.score
    return out


def _mapping_rows() -> list[tuple[str, str, str, str]]:
    rows = []
    for code, name in LLAMAGUARD3.items():
        wg = [k for k, hubs in _TO_HUB["wildguard"].items() if code in hubs]
        oa = [k for k, hubs in _TO_HUB["openai"].items() if code in hubs]
        lg2 = [k for k, hubs in _TO_HUB["llamaguard2"].items() if code in hubs]
        rows.append(
            (f"{code} {name.rstrip('.')}", ", ".join(lg2) or "—", ", ".join(wg) or "—", ", ".join(oa) or "—")
        )
    return rows


#: One row per Llama Guard 3 hazard: which categories of the other taxonomies map onto it.
MAPPING_TABLE: list[tuple[str, str, str, str]] = _mapping_rows()


def markdown_table() -> str:
    """The mapping table as Markdown (docs/taxonomy.md is generated from this)."""
    lines = [
        "| Llama Guard 3 | Llama Guard 2 | WildGuard | OpenAI moderation |",
        "|---|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in MAPPING_TABLE]
    return "\n".join(lines)


def category_names(taxonomy: str) -> Mapping[str, str]:
    _check_taxonomy(taxonomy)
    return TAXONOMIES[taxonomy]


if __name__ == "__main__":  # pragma: no cover - regenerates docs/taxonomy.md's table
    print(markdown_table())
