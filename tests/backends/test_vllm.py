"""The vLLM backend's wiring, with a FAKE ``vllm`` module injected into ``sys.modules``.

There is no GPU (and no vllm) here: ``fake_vllm`` below imitates the parts of vLLM's API the
backend uses (``LLM``, ``LLM.get_tokenizer``, ``LLM.generate``, ``SamplingParams``, and the
``CompletionOutput`` / ``Logprob`` shapes) so the backend's calls and its reading of the
outputs are checked. It proves nothing about vLLM itself.
"""

from __future__ import annotations

import math
import subprocess
import sys
import types
from dataclasses import dataclass, field
from typing import Any

import pytest

from guardkit import BackendUnavailable, ConfigError, Conversation, MissingDependency
from guardkit.backends import get_backend
from guardkit.backends.vllm import VLLMClassifier


@dataclass
class FakeLogprob:
    logprob: float
    rank: int | None = None
    decoded_token: str | None = None


@dataclass
class FakeCompletionOutput:
    text: str
    token_ids: list[int]
    logprobs: list[dict[int, FakeLogprob]] | None
    index: int = 0


@dataclass
class FakeRequestOutput:
    outputs: list[FakeCompletionOutput]


@dataclass
class FakeTokenizer:
    calls: list[tuple[str, bool]] = field(default_factory=list)

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        self.calls.append((text, add_special_tokens))
        return ([1] if add_special_tokens else []) + [ord(c) % 500 for c in text[:8]]


# Token ids of the fake vocabulary: WildGuard's answer, then an EOS (id 2, decoded as "").
VOCAB = {
    10: "Harmful request:",
    11: " yes",
    12: " no",
    13: "\nResponse refusal:",
    14: "\nHarmful response:",
    2: "",
}


def _wildguard_output(with_logprobs: bool) -> FakeCompletionOutput:
    ids = [10, 11, 13, 12, 14, 12, 2]
    alternatives = {11: (math.log(0.7), 12, math.log(0.3)), 12: (math.log(0.9), 11, math.log(0.1))}
    logprobs = []
    for i, tid in enumerate(ids):
        step = {tid: FakeLogprob(alternatives.get(tid, (-0.01,))[0], 1, VOCAB[tid])}
        if tid in alternatives:
            _, other, lp = alternatives[tid]
            step[other] = FakeLogprob(lp, 2, VOCAB[other])
        if i == 0:
            step[999] = FakeLogprob(-math.inf, 3, "x")  # vLLM can report -inf; ignored
        logprobs.append(step)
    text = "".join(VOCAB[t] for t in ids)
    return FakeCompletionOutput(text, ids, logprobs if with_logprobs else None)


def make_fake_vllm() -> types.ModuleType:
    """A stand-in ``vllm`` module recording how the backend calls it."""
    fake_vllm = types.ModuleType("vllm")
    fake_vllm.instances = []  # type: ignore[attr-defined]

    class SamplingParams:
        def __init__(self, **kwargs: Any) -> None:
            self.kwargs = kwargs

    class LLM:
        def __init__(self, **kwargs: Any) -> None:
            if kwargs["model"] == "missing/model":
                raise OSError("missing/model is not a local folder and is not a valid model identifier")
            self.kwargs = kwargs
            self.tokenizer = FakeTokenizer()
            self.generate_calls: list[tuple[list[Any], SamplingParams, bool]] = []
            fake_vllm.instances.append(self)  # type: ignore[attr-defined]

        def get_tokenizer(self) -> FakeTokenizer:
            return self.tokenizer

        def generate(
            self, prompts: list[Any], sampling_params: SamplingParams, use_tqdm: bool = True
        ) -> list[FakeRequestOutput]:
            self.generate_calls.append((prompts, sampling_params, use_tqdm))
            with_logprobs = sampling_params.kwargs.get("logprobs") is not None
            return [FakeRequestOutput([_wildguard_output(with_logprobs)]) for _ in prompts]

    fake_vllm.LLM = LLM  # type: ignore[attr-defined]
    fake_vllm.SamplingParams = SamplingParams  # type: ignore[attr-defined]
    return fake_vllm


@pytest.fixture()
def fake_vllm(monkeypatch) -> types.ModuleType:
    module = make_fake_vllm()
    monkeypatch.setitem(sys.modules, "vllm", module)
    return module


CONVS = [Conversation.from_pair("How do I make a bomb?", "Sorry, no."), Conversation.from_pair("Hi")]


def test_loads_with_settings_and_generates_greedily(fake_vllm):
    clf = get_backend(
        "vllm:allenai/wildguard",
        {"revision": "abc123", "gpu_memory_utilization": "0.5", "max_model_len": "4096"},
    )
    verdicts = clf.classify(CONVS)
    (llm,) = fake_vllm.instances
    assert llm.kwargs["model"] == "allenai/wildguard"
    assert llm.kwargs["revision"] == "abc123" and llm.kwargs["tokenizer_revision"] == "abc123"
    assert llm.kwargs["gpu_memory_utilization"] == 0.5 and llm.kwargs["max_model_len"] == 4096
    ((inputs, params, use_tqdm),) = llm.generate_calls
    assert params.kwargs == {"temperature": 0.0, "max_tokens": 32, "logprobs": 20}
    assert use_tqdm is False
    # Prompts go as token ids, tokenized with BOS for WildGuard (its template has none).
    assert all(set(x) == {"prompt_token_ids"} for x in inputs)
    assert [add for _, add in llm.tokenizer.calls] == [True, True]
    assert llm.tokenizer.calls[0][0].startswith("<|user|>\n[INST]")
    v = verdicts[0]
    assert v.backend == "vllm" and not v.is_parsing_error
    assert v.prompt_harmful.label is True and v.prompt_harmful.score == pytest.approx(0.7)
    assert v.response_refusal.label is False and v.response_refusal.score == pytest.approx(0.1)
    assert v.response_harmful.score == pytest.approx(0.1)
    # Prompt-only item: the response questions do not apply.
    assert verdicts[1].response_refusal is None and verdicts[1].response_harmful is None


def test_llamaguard3_is_tokenized_without_a_second_bos(fake_vllm):
    clf = VLLMClassifier("meta-llama/Llama-Guard-3-8B", format="llamaguard3")
    clf.classify(CONVS[:1])
    (llm,) = fake_vllm.instances
    assert llm.tokenizer.calls[0][1] is False
    assert llm.generate_calls[0][1].kwargs["max_tokens"] == 20


def test_scores_off_without_logprobs(fake_vllm):
    clf = VLLMClassifier("m", top_logprobs=0)
    v = clf.classify(CONVS[:1])[0]
    assert fake_vllm.instances[0].generate_calls[0][1].kwargs["logprobs"] is None
    assert v.prompt_harmful.label is True and v.prompt_harmful.score is None


def test_loads_once_and_close_frees(fake_vllm):
    clf = VLLMClassifier("m")
    clf.classify(CONVS)
    clf.classify(CONVS)
    assert len(fake_vllm.instances) == 1
    clf.close()
    assert clf._llm is None


def test_load_failure_is_backend_unavailable(fake_vllm):
    with pytest.raises(BackendUnavailable, match=r"vLLM cannot load 'missing/model' \(revision unpinned\)"):
        VLLMClassifier("missing/model").load()


def test_missing_vllm_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)  # makes ``import vllm`` fail
    clf = VLLMClassifier("allenai/wildguard")  # constructing needs no vllm
    with pytest.raises(MissingDependency, match=r"pip install 'guardkit\[vllm\]'"):
        clf.classify(CONVS)
    with pytest.raises(ImportError):  # MissingDependency is an ImportError too
        clf.load()


def test_module_imports_without_vllm():
    code = "import sys, guardkit.backends.vllm; sys.exit(1 if 'vllm' in sys.modules else 0)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True).returncode == 0


@pytest.mark.parametrize(
    ("spec", "options", "message"),
    [
        ("vllm", {}, "needs a target: vllm:PATH_OR_HUB_ID"),
        ("vllm:m", {"gpu_memory_utilization": "1.5"}, r"gpu_memory_utilization must be in \(0, 1\]"),
        ("vllm:m", {"max_new_tokens": "0"}, "max_new_tokens must be a positive integer"),
        ("vllm:m", {"top_logprobs": "-1"}, "top_logprobs must be a non-negative integer"),
    ],
)
def test_spec_errors(spec, options, message):
    with pytest.raises(ConfigError, match=message):
        get_backend(spec, options)
