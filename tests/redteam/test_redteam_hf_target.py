"""HFTarget on a tiny random Llama (SmolLM2's tokenizer): batching must not change answers."""

from __future__ import annotations

import pytest

from guardkit import BackendUnavailable
from guardkit.redteam.targets import HFTarget, get_target

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

PROMPTS = ["hi", "a much longer prompt about the sea, ships and the harbour at night", "x y z"]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> str:
    transformers = pytest.importorskip("transformers")
    torch = pytest.importorskip("torch")
    pytest.importorskip("gguf")
    from guardkit._smollm2 import smollm2_gguf_path

    try:
        gguf = smollm2_gguf_path()
    except BackendUnavailable as exc:
        pytest.skip(str(exc))
    path = tmp_path_factory.mktemp("tinyllm")
    tok = transformers.AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    tok.save_pretrained(path)
    cfg = transformers.LlamaConfig(
        vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=512, bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
    )
    torch.manual_seed(0)
    transformers.LlamaForCausalLM(cfg).save_pretrained(path)
    return str(path)


def test_batched_greedy_equals_one_by_one(tiny_model):
    batched = get_target(f"hf:{tiny_model}", {"max_new_tokens": "5", "batch_size": "2"}).generate(PROMPTS)
    single = [HFTarget(tiny_model, max_new_tokens=5, batch_size=1).generate([p])[0] for p in PROMPTS]
    assert batched == single
    assert all(isinstance(x, str) and x for x in batched)
    again = HFTarget(tiny_model, max_new_tokens=5, batch_size=3).generate(PROMPTS)
    assert again == batched  # greedy: deterministic


def test_missing_model_is_backend_unavailable(tmp_path):
    with pytest.raises(BackendUnavailable, match="cannot load the Hugging Face model"):
        HFTarget(str(tmp_path / "nope")).generate(["hi"])


def test_sampling_is_reproducible_under_a_seed(tiny_model):
    import torch

    target = HFTarget(tiny_model, max_new_tokens=5, batch_size=3, temperature=0.9, top_p=0.95, repetition_penalty=1.1)
    torch.manual_seed(0)
    first = target.generate(PROMPTS)
    torch.manual_seed(0)
    assert target.generate(PROMPTS) == first and all(isinstance(x, str) for x in first)


def test_system_prompt_goes_through_the_chat_template(tiny_model):
    plain, system = HFTarget(tiny_model), HFTarget(tiny_model, system="You answer in French.")
    for t in (plain, system):
        t.load()
    with_system = system._tok.decode(system._encode(["hi"])["input_ids"][0])
    assert "You answer in French." in with_system and "You answer in French." not in plain._tok.decode(
        plain._encode(["hi"])["input_ids"][0])
    assert isinstance(system.generate(["hi"])[0], str)
