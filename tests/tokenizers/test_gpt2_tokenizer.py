"""GPT-2's byte-level BPE on hand-made files: the byte table, the word rules and the merges."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minitransformer.tokenizers import GPT2Tokenizer
from minitransformer.tokenizers.added import AddedToken, split_added
from minitransformer.tokenizers.gpt2 import byte_to_char, gpt2_words

MERGES = [("Ġ", "t"), ("h", "e"), ("Ġt", "he"), ("i", "n"), ("Ġ", "in")]


def tokenizer() -> GPT2Tokenizer:
    vocab = {byte_to_char()[b]: b for b in range(256)}  # byte b has id b
    for rank, (left, right) in enumerate(MERGES):
        vocab[left + right] = 256 + rank
    vocab["<|endoftext|>"] = 256 + len(MERGES)
    return GPT2Tokenizer(vocab, MERGES, [AddedToken("<|endoftext|>", vocab["<|endoftext|>"])])


def test_the_byte_table_is_a_bijection_onto_printable_characters():
    table = byte_to_char()
    assert len(set(table.values())) == 256
    assert table[ord("A")] == "A" and table[ord(" ")] == "Ġ" and table[ord("\n")] == "Ċ"
    assert all(c.isprintable() and not c.isspace() for c in table.values())


@pytest.mark.parametrize("text, words", [
    ("Hello world", ["Hello", " world"]),
    ("it's they're I'LL", ["it", "'s", " they", "'re", " I", "'", "LL"]),  # lower-case contractions only
    ("a  b", ["a", " ", " b"]),  # the last space of a run goes with the word
    ("a \n b", ["a", " \n", " b"]),
    ("end  ", ["end", "  "]),  # trailing whitespace stays one word
    ("x\ny", ["x", "\n", "y"]),  # a single non-space whitespace before a word is a word of its own
    ("2024年 ¥99!?", ["2024", "年", " ¥", "99", "!?"]),
    ("naïve café", ["naïve", " café"]),
])
def test_word_rules(text, words):
    assert gpt2_words(text) == words


@given(st.text())
def test_words_cover_the_text(text):
    assert "".join(gpt2_words(text)) == text


def test_merges_apply_lowest_rank_first_within_words():
    tok = tokenizer()
    assert tok.tokens(tok.encode(" the")) == ["Ġthe"]
    assert tok.tokens(tok.encode(" in the")) == ["Ġin", "Ġthe"]
    assert tok.tokens(tok.encode("thein")) == ["t", "he", "in"]  # "Ġt" needs the space


def test_the_end_of_text_token_is_recognised_and_skipped_when_decoding():
    tok = tokenizer()
    ids = tok.encode("the<|endoftext|> in")
    assert tok.tokens(ids) == ["t", "he", "<|endoftext|>", "Ġin"]
    assert ids[2] == tok.eos_id == tok.pad_id == tok.bos_id
    assert tok.decode(ids) == "the in"
    assert tok.decode(ids, skip_special=False) == "the<|endoftext|> in"


@given(st.text())
def test_decode_inverts_encode(text):
    tok = tokenizer()
    assert tok.decode(tok.encode(text), skip_special=False) == text


def test_added_tokens_swallow_whitespace_when_asked():
    mask = AddedToken("<mask>", 9, lstrip=True, rstrip=True)
    assert split_added("a <mask> b", [mask]) == ["a", mask, "b"]
    word = AddedToken("cls", 8, single_word=True)
    assert split_added("cls class", [word]) == [word, " class"]


def test_batch_is_padded_with_the_end_of_text_id():
    tok = tokenizer()
    batch = tok.encode_batch(["the", " in the in"])
    assert batch.ids.shape == (2, 3) and batch.lengths.tolist() == [2, 3]
    assert batch.ids[0, 2].item() == tok.pad_id


def test_save_and_from_pretrained_round_trip(tmp_path):
    tok = tokenizer()
    tok.save(tmp_path)
    assert (tmp_path / "merges.txt").read_text().splitlines()[:2] == ["#version: 0.2", "Ġ t"]
    again = GPT2Tokenizer.from_pretrained(tmp_path)
    text = "the thin in<|endoftext|> 你好"
    assert again.encode(text) == tok.encode(text)


def test_bad_files_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="vocab.json"):
        GPT2Tokenizer.from_pretrained(tmp_path)
    (tmp_path / "vocab.json").write_text(json.dumps({"a": 0}))
    (tmp_path / "merges.txt").write_text("#version: 0.2\na b c\n")
    with pytest.raises(ValueError, match="merges.txt:2"):
        GPT2Tokenizer.from_pretrained(tmp_path)
