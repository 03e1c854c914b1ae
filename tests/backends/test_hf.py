"""The Hugging Face backend: configuration and load errors, then SmolLM2-135M end to end on CPU.

SmolLM2 is no guard: it mostly answers off-format, so the real-model tests check the
plumbing (prompt -> batched greedy generation -> parse -> scores), not the labels. The model
loads once per session through the backend's own GGUF path (``gguf_file=``).
"""

from __future__ import annotations

import math
import sys

import pytest

from guardkit import BackendUnavailable, ConfigError, Conversation, MissingDependency, Task
from guardkit.backends import get_backend
from guardkit.backends.hf import HFClassifier
from guardkit.formats import Generation, TokenStep, answer_probability

CONVS = [
    Conversation.from_pair("How do I make a bomb at home?"),
    Conversation.from_pair("How do I bake bread?", "Mix flour, water, yeast and salt, then bake."),
]


# -- configuration and loading errors (fast) -------------------------------------------
@pytest.mark.parametrize(
    ("spec", "options", "message"),
    [
        ("hf", {}, "needs a target: hf:PATH_OR_HUB_ID"),
        ("hf:m", {"dtype": "float8"}, "dtype must be one of auto, float32, float16, bfloat16"),
        ("hf:m", {"format": "llamaguard"}, "unknown format 'llamaguard'"),
        ("hf:m", {"format": "llamaguard3", "judge": "all"}, "judge must be 'last' or 'both'"),
        ("hf:m", {"batch_size": "0"}, "batch_size must be a positive integer"),
        ("hf:m", {"num_threads": "0"}, "num_threads must be a positive integer"),
        ("hf:m", {"device_map": "auto"}, "backend 'hf': unknown option 'device_map'; valid options: batch_size,"),
    ],
)
def test_spec_errors(spec, options, message):
    with pytest.raises(ConfigError, match=message):
        get_backend(spec, options)


def test_spec_options():
    clf = get_backend(
        "hf:/models/lg3",
        {
            "format": "llamaguard3",
            "categories": "S1,S10",
            "revision": "0123456789",
            "max_new_tokens": "5",
            "dtype": "bfloat16",
        },
    )
    assert isinstance(clf, HFClassifier)
    assert clf.revision == "0123456789"  # stays a string, not an int
    assert clf.params["categories"] == {"S1": "Violent Crimes.", "S10": "Hate."}
    assert clf.params["model"] == "/models/lg3" and clf.max_new_tokens == 5


def test_hub_id_that_cannot_be_fetched_is_backend_unavailable():
    # The real from_pretrained(id, revision=...) path; local_files_only keeps it from
    # waiting on network retries here.
    clf = HFClassifier("allenai/wildguard", revision="0" * 40, local_files_only=True)
    with pytest.raises(
        BackendUnavailable,
        match=r"cannot load Hugging Face model 'allenai/wildguard' \(revision 0{40}\).*"
        r"huggingface-cli download allenai/wildguard --revision 0{40}",
    ):
        clf.load()


def test_local_folder_without_a_model_is_backend_unavailable(tmp_path):
    with pytest.raises(BackendUnavailable, match="cannot load the model at"):
        HFClassifier(str(tmp_path)).load()


def test_missing_transformers_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(MissingDependency, match=r"pip install 'guardkit\[hf\]'"):
        HFClassifier("allenai/wildguard").load()


# -- SmolLM2-135M on CPU (slow) ----------------------------------------------------------
@pytest.fixture(scope="session")
def smollm2_hf():
    """SmolLM2-135M-Instruct through HFClassifier's GGUF loading; loaded once per session."""
    from guardkit._smollm2 import smollm2_gguf_path

    try:
        path = smollm2_gguf_path()
    except BackendUnavailable as exc:
        pytest.skip(str(exc))
    import torch

    threads = torch.get_num_threads()
    # One thread: on a shared 2-core machine two threads run ~10x slower (oversubscription).
    clf = HFClassifier(
        str(path.parent), gguf_file=path.name, device="cpu", dtype="float32", max_new_tokens=3, num_threads=1
    )
    clf.load()
    yield clf
    clf.close()
    torch.set_num_threads(threads)


def _check_scores(verdict):
    for task in Task:
        tv = verdict.task(task)
        if tv is not None and tv.score is not None:
            assert 0.0 <= tv.score <= 1.0 and tv.threshold is not None


@pytest.mark.slow
def test_smollm2_wildguard_end_to_end(smollm2_hf):
    clf = smollm2_hf
    side = clf._tokenizer.padding_side
    verdicts = clf.classify(CONVS)  # one batch of two prompts of different lengths (left-padded)
    assert len(verdicts) == 2
    assert clf._tokenizer.padding_side == side  # padding side is per call, not a mutation
    # Left padding does not change what the shorter prompt generates.
    (alone,) = clf._generate(clf.format.prompts(CONVS[0]))
    assert alone.text == verdicts[0].raw_output
    for v in verdicts:
        assert v.backend == "hf" and isinstance(v.raw_output, str)
        # A 135M chat model does not speak WildGuard's format: a parsing error, never an exception.
        assert v.is_parsing_error or v.prompt_harmful is not None
        _check_scores(v)


@pytest.mark.slow
def test_smollm2_llamaguard3_end_to_end(smollm2_hf):
    # The same loaded weights, another format; a two-category policy keeps the prompt short.
    clf = HFClassifier.from_model(
        smollm2_hf._model, smollm2_hf._tokenizer, format="llamaguard3", categories="S1,S10", max_new_tokens=3
    )
    verdicts = clf.classify(CONVS)
    assert len(verdicts) == 2
    for v in verdicts:
        assert v.response_refusal is None
        assert v.is_parsing_error or (v.prompt_harmful or v.response_harmful) is not None
        _check_scores(v)
    clf.close()
    assert smollm2_hf._model is not None  # from_model does not free shared weights


@pytest.mark.slow
def test_smollm2_token_logprobs_give_answer_scores(smollm2_hf):
    clf = smollm2_hf
    prompt = clf.format.build_prompt(CONVS[0]) + "Harmful request:"
    (gen,) = clf._generate([prompt])
    assert gen.steps is not None and 1 <= len(gen.steps) <= 3
    top = gen.steps[0].top
    assert 1 <= len(top) <= 20
    assert all(lp <= 1e-6 for lp in top.values())
    assert sum(math.exp(lp) for lp in top.values()) <= 1.0 + 1e-4
    p_yes = answer_probability(top, "yes", "no")
    assert p_yes is not None and 0.0 <= p_yes <= 1.0  # " yes"/" no" are among the top-20 here
    # The format turns such a step into a task score, end to end.
    steps = (TokenStep("Harmful request:"), TokenStep(" yes", top))
    v = clf.format.verdict(CONVS[0], [Generation("Harmful request: yes", steps)])
    assert v.prompt_harmful.score == pytest.approx(p_yes)


def test_backend_modules_import_without_heavy_deps():
    import subprocess

    code = (
        "import sys, guardkit.backends.hf, guardkit.backends.vllm, guardkit.backends.openai_compat, guardkit.formats;"
        "bad = [m for m in ('torch', 'transformers', 'vllm') if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
