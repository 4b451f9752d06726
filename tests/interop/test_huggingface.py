"""``from_hf``: GPT-2 and BERT checkpoints in our modules compute what ``transformers`` computes.

Small random checkpoints are built here (``tests/interop/hf_checkpoints.py``: configs written in
the test, random weights, vocabularies trained on a few sentences); nothing is downloaded. Every
comparison is in float32 and must agree within 1e-4.
"""

from __future__ import annotations

import json
import pickle
import shutil

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

from minitransformer import CausalLM, TextEncoder  # noqa: E402
from minitransformer.generation import generate  # noqa: E402
from minitransformer.interop import from_hf  # noqa: E402
from minitransformer.tokenizers import GPT2Tokenizer, WordPieceTokenizer  # noqa: E402
from tests.interop.hf_checkpoints import as_pytorch_bin, load_reference, write_bert, write_gpt2  # noqa: E402

ATOL = 1e-4
TEXTS = ["Where is my order? It's been three days.", "我想退款，尺寸不合适。",
         "Mixed: 我想买 iPhone 15 的 case", "Thanks!"]


@pytest.fixture(scope="module")
def gpt2(tmp_path_factory):
    folder = write_gpt2(tmp_path_factory.mktemp("hf") / "gpt2")
    reference, hf_tokenizer = load_reference(folder)
    model, tokenizer = from_hf(folder)
    return folder, model, tokenizer, reference, hf_tokenizer


@pytest.fixture(scope="module")
def bert(tmp_path_factory):
    folder = write_bert(tmp_path_factory.mktemp("hf") / "bert", lowercase=False)
    reference, hf_tokenizer = load_reference(folder)
    model, tokenizer = from_hf(folder)
    return folder, model, tokenizer, reference, hf_tokenizer


def right_padded(rows: list[list[int]], pad: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(ids (B, T), padding (B, T) True = padding)`` with the rows padded on the right."""
    width = max(len(r) for r in rows)
    ids = torch.tensor([r + [pad] * (width - len(r)) for r in rows])
    padding = torch.tensor([[False] * len(r) + [True] * (width - len(r)) for r in rows])
    return ids, padding


# ----------------------------------------------------------------------------------------- GPT-2
def test_gpt2_becomes_our_causal_lm_with_gpt2_settings(gpt2):
    _, model, tokenizer, reference, _ = gpt2
    assert isinstance(model, CausalLM) and isinstance(tokenizer, GPT2Tokenizer)
    config = model.config
    assert (config.activation, config.scale_embeddings, config.positional) == ("gelu_tanh", False, "learned")
    assert config.tie_embeddings and model.lm_head.weight is model.embedding.weight
    assert model.encoder.norm is not None and not model.training
    ours = sum(p.numel() for p in model.parameters())
    assert ours == sum(p.numel() for p in reference.parameters())


def test_gpt2_logits_match_on_one_text(gpt2):
    _, model, tokenizer, reference, _ = gpt2
    ids = torch.tensor([tokenizer.encode(TEXTS[0])])
    with torch.no_grad():
        expected = reference(ids).logits  # (1, T, V)
        got = model(ids)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, atol=ATOL, rtol=0)


def test_gpt2_logits_match_on_a_padded_batch_of_mixed_lengths(gpt2):
    _, model, tokenizer, reference, _ = gpt2
    rows = [tokenizer.encode(t) for t in TEXTS]
    ids, padding = right_padded(rows, tokenizer.pad_id)
    with torch.no_grad():
        expected = reference(ids, attention_mask=(~padding).long()).logits
        got = model(ids, key_padding_mask=padding)
    for b, row in enumerate(rows):  # the real tokens; padded positions predict nothing
        torch.testing.assert_close(got[b, : len(row)], expected[b, : len(row)], atol=ATOL, rtol=0)


@settings(max_examples=8)
@given(lengths=st.lists(st.integers(1, 20), min_size=1, max_size=3), seed=st.integers(0, 1000))
def test_gpt2_logits_match_for_random_ids_and_lengths(gpt2, lengths, seed):
    _, model, _, reference, _ = gpt2
    generator = torch.Generator().manual_seed(seed)
    vocab = model.config.vocab_size
    rows = [torch.randint(0, vocab, (n,), generator=generator).tolist() for n in lengths]
    ids, padding = right_padded(rows, 0)
    with torch.no_grad():
        expected = reference(ids, attention_mask=(~padding).long()).logits
        got = model(ids, key_padding_mask=padding)
    for b, n in enumerate(lengths):
        torch.testing.assert_close(got[b, :n], expected[b, :n], atol=ATOL, rtol=0)


def test_gpt2_kv_cache_gives_the_full_forward_logits(gpt2):
    _, model, tokenizer, reference, _ = gpt2
    ids = torch.tensor([tokenizer.encode(TEXTS[2])])  # (1, T)
    cache = model.new_cache()
    with torch.no_grad():
        expected = reference(ids).logits
        steps = [model(ids[:, :4], cache=cache)]  # the prompt at once, then one token at a time
        steps += [model(ids[:, t : t + 1], cache=cache) for t in range(4, ids.size(1))]
    torch.testing.assert_close(torch.cat(steps, dim=1), expected, atol=ATOL, rtol=0)


def test_gpt2_greedy_generation_matches_transformers_generate(gpt2):
    _, model, tokenizer, reference, _ = gpt2
    prompt = torch.tensor([tokenizer.encode("Where is my")])
    ours = generate(model, input_ids=prompt, max_new_tokens=12, min_new_tokens=12)
    theirs = reference.generate(prompt, attention_mask=torch.ones_like(prompt), max_new_tokens=12,
                                min_new_tokens=12, do_sample=False, pad_token_id=tokenizer.eos_id)
    assert ours.tolist() == theirs.tolist()
    uncached = generate(model, input_ids=prompt, max_new_tokens=12, min_new_tokens=12, use_cache=False)
    assert torch.equal(ours, uncached)


def test_gpt2_tokenizer_of_the_folder_gives_the_same_ids(gpt2):
    _, _, tokenizer, _, hf_tokenizer = gpt2
    for text in [*TEXTS, "<|endoftext|>Once upon a time", "  two  spaces\n\nand lines  "]:
        assert tokenizer.encode(text) == hf_tokenizer(text)["input_ids"], text
        assert tokenizer.decode(tokenizer.encode(text), skip_special=False) == text


def test_pytorch_model_bin_loads_the_same_weights(gpt2, tmp_path):
    folder, model, _, _, _ = gpt2
    other, _ = from_hf(as_pytorch_bin(folder, tmp_path / "bin"))
    for (name, a), (_, b) in zip(model.state_dict().items(), other.state_dict().items()):
        assert torch.equal(a, b), name


def test_a_fine_tuned_gpt2_is_saved_in_our_own_format(gpt2, tmp_path):
    _, model, tokenizer, _, _ = gpt2
    model.save_pretrained(tmp_path / "ours")
    tokenizer.save(tmp_path / "ours")
    config = json.loads((tmp_path / "ours" / "config.json").read_text())
    assert config["model_type"] == "causal_lm" and config["scale_embeddings"] is False
    again = CausalLM.from_pretrained(tmp_path / "ours").eval()
    ids = torch.tensor([tokenizer.encode(TEXTS[1])])
    with torch.no_grad():
        assert torch.equal(again(ids), model(ids))
    assert GPT2Tokenizer.from_pretrained(tmp_path / "ours").encode(TEXTS[2]) == tokenizer.encode(TEXTS[2])
    with pytest.raises(ValueError, match="CausalLM.from_pretrained"):
        from_hf(tmp_path / "ours")


# ----------------------------------------------------------------------------------------- BERT
def test_bert_becomes_our_text_encoder_with_its_heads(bert):
    _, model, tokenizer, _, _ = bert
    assert isinstance(model, TextEncoder) and isinstance(tokenizer, WordPieceTokenizer)
    assert model.mlm_head is not None and model.mlm_head.output.weight is model.embedding.weight
    assert model.pooler is None  # BertForMaskedLM has no pooler
    assert (model.config.activation, model.config.layer_norm_eps) == ("gelu", 1e-12)


def test_bert_hidden_states_and_masked_lm_logits_match_with_padding_and_token_types(bert):
    _, model, tokenizer, reference, _ = bert
    batch = tokenizer.encode_batch(TEXTS, seconds=["好的", "Thanks", "", "我想退款"])
    with torch.no_grad():
        out = reference(input_ids=batch.ids, attention_mask=(~batch.padding_mask).long(),
                        token_type_ids=batch.token_type_ids, output_hidden_states=True)
        hidden = model(batch.ids, key_padding_mask=batch.padding_mask, token_type_ids=batch.token_type_ids)
        logits = model.mlm_logits(hidden)
    real = ~batch.padding_mask
    torch.testing.assert_close(hidden[real], out.hidden_states[-1][real], atol=ATOL, rtol=0)
    torch.testing.assert_close(logits[real], out.logits[real], atol=ATOL, rtol=0)


def test_bert_model_without_head_gives_hidden_states_and_pooler(tmp_path):
    folder = write_bert(tmp_path / "base", lowercase=True, architecture="BertModel")
    reference, _ = load_reference(folder)
    model, tokenizer = from_hf(folder)
    assert model.mlm_head is None and model.pooler is not None
    batch = tokenizer.encode_batch(TEXTS)
    with torch.no_grad():
        out = reference(input_ids=batch.ids, attention_mask=(~batch.padding_mask).long())
        hidden = model(batch.ids, key_padding_mask=batch.padding_mask)
    real = ~batch.padding_mask
    torch.testing.assert_close(hidden[real], out.last_hidden_state[real], atol=ATOL, rtol=0)
    torch.testing.assert_close(model.pool(hidden), out.pooler_output, atol=ATOL, rtol=0)
    with pytest.raises(ValueError, match="mlm_head"):
        model.mlm_logits(hidden)


def test_bert_fill_mask_agrees_with_transformers(bert):
    _, model, tokenizer, reference, _ = bert
    ids = torch.tensor([tokenizer.encode("我想[MASK]款，尺寸不合适。")])
    where = ids[0].tolist().index(tokenizer.mask_id)
    with torch.no_grad():
        ours = model.mlm_logits(model(ids))[0, where]
        theirs = reference(ids).logits[0, where]
    assert ours.topk(5).indices.tolist() == theirs.topk(5).indices.tolist()


# ----------------------------------------------------------------------------------------- refusals
def test_another_architecture_is_refused_by_name(gpt2, tmp_path):
    folder = shutil.copytree(gpt2[0], tmp_path / "llama")
    config = json.loads((folder / "config.json").read_text())
    config.update(architectures=["LlamaForCausalLM"], model_type="llama")
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="LlamaForCausalLM"):
        from_hf(folder)


def test_a_setting_our_modules_do_not_follow_is_refused(gpt2, tmp_path):
    folder = shutil.copytree(gpt2[0], tmp_path / "scaled")
    config = json.loads((folder / "config.json").read_text())
    config["scale_attn_by_inverse_layer_idx"] = True
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="scale_attn_by_inverse_layer_idx"):
        from_hf(folder)


def test_weights_that_do_not_fit_the_config_are_refused(gpt2, tmp_path):
    folder = shutil.copytree(gpt2[0], tmp_path / "wide")
    config = json.loads((folder / "config.json").read_text())
    config["n_layer"] = 3
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="h.2.attn.c_attn.weight"):
        from_hf(folder)


@pytest.mark.parametrize("key, value, message", [("n_embd", 2**20, "more than this machine's memory"),
                                                 ("n_layer", "12", "sizes must be positive integers")])
def test_a_config_too_large_or_malformed_is_refused_before_building(gpt2, tmp_path, key, value, message):
    """A config.json is data: a size that would not fit in memory is refused before any tensor of
    the model is allocated."""
    folder = shutil.copytree(gpt2[0], tmp_path / "huge")
    config = json.loads((folder / "config.json").read_text())
    config[key] = value
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=f"config.json: .*{message}"):
        from_hf(folder)


def test_missing_files_are_named(gpt2, tmp_path):
    with pytest.raises(FileNotFoundError, match="checkpoint folder not found"):
        from_hf(tmp_path / "nothing")
    folder = shutil.copytree(gpt2[0], tmp_path / "no-merges")
    (folder / "merges.txt").unlink()
    with pytest.raises(FileNotFoundError, match="merges.txt"):
        from_hf(folder)
    (folder / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="no weights found"):
        from_hf(folder)


class _Payload:
    """Unpickling this would call ``print`` (any callable could be named instead)."""

    def __reduce__(self):
        return (print, ("unpickled!",))


def test_a_pickle_that_names_code_is_refused(gpt2, tmp_path, capsys):
    folder = shutil.copytree(gpt2[0], tmp_path / "evil")
    (folder / "model.safetensors").unlink()
    with open(folder / "pytorch_model.bin", "wb") as handle:
        pickle.dump({"wte.weight": _Payload()}, handle, protocol=2)
    with pytest.raises(ValueError, match="pytorch_model.bin: not a plain file of tensors"):
        from_hf(folder)
    assert "unpickled!" not in capsys.readouterr().out
