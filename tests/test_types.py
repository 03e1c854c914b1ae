from __future__ import annotations

import dataclasses

import pytest

from guardkit import (
    CategoryScore,
    ConfigError,
    Conversation,
    InputError,
    TaskVerdict,
    Thresholds,
    Verdict,
    as_conversation,
)


def test_pair_and_prompt_only():
    c = Conversation.from_pair("q", "a")
    assert (c.prompt, c.response) == ("q", "a")
    assert Conversation.from_pair("q").response is None


def test_multi_turn_judges_last_user_turn_and_its_reply():
    c = Conversation.from_messages(
        [
            {"role": "system", "content": "be nice"},
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "reply 1"},
            {"role": "user", "content": [{"type": "text", "text": "sec"}, {"type": "text", "text": "ond"}]},
        ]
    )
    assert c.prompt == "second" and c.response is None
    assert [t.content for t in c.history] == ["first", "reply 1"]
    c2 = Conversation.from_messages(c.to_messages() + [{"role": "assistant", "content": "reply 2"}])
    assert c2.response == "reply 2"


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("", "the user prompt is empty"),
        ({"text": "x"}, "needs 'prompt' or 'messages'"),
        ([{"role": "assistant", "content": "x"}], "got only assistant turns"),
        ([{"role": "bot", "content": "x"}], "role must be 'user', 'assistant' or 'system'"),
        ({"prompt": "x", "response": 3}, "response must be a string or None, got int"),
        (3.5, "cannot make a conversation from float"),
    ],
)
def test_bad_items(item, message):
    with pytest.raises(InputError, match=message):
        as_conversation(item)


def test_verdict_is_frozen_and_round_trips():
    v = Verdict(
        prompt_harmful=TaskVerdict(True, 0.8, 0.5),
        response_refusal=TaskVerdict(False, 0.1, 0.4),
        response_harmful=TaskVerdict(True, 0.7, 0.5),
        categories=(CategoryScore("llamaguard3", "S10", 0.7),),
        backend="x",
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        v.backend = "y"  # type: ignore[misc]
    assert Verdict.from_dict(v.to_dict()) == v
    assert v.flagged
    assert v.categories_in("openai") == {"hate": 0.7}
    assert v.to_row()["categories"] == ["S10"]


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_probabilities_are_checked(bad):
    with pytest.raises(ConfigError, match=r"must be a probability in \[0, 1\]"):
        TaskVerdict(True, bad, 0.5)
    with pytest.raises(ConfigError):
        Thresholds(prompt_harmful=bad)


def test_threshold_decides_label():
    assert TaskVerdict.from_score(0.5, 0.5).label is True
    assert TaskVerdict.from_score(0.49, 0.5).label is False
    assert Thresholds().replace(response_harmful=0.3).response_harmful == 0.3
    with pytest.raises(ConfigError, match="unknown task 'harm'"):
        Thresholds().replace(harm=0.3)
