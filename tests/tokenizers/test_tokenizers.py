"""Tests for the hand-written tokenizers (minitransformer.tokenizers)."""

from __future__ import annotations

import json
import random
import warnings
from functools import cache

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from minitransformer.tokenizers import (
    SPECIAL_TOKENS,
    BPETokenizer,
    CharTokenizer,
    load_tokenizer,
    pretokenize,
)
from minitransformer.tokenizers.bpe import FIRST_MERGE_ID, merge_pair

CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "I am still waiting on my card, it has not arrived after 2 weeks?",
    "How do I top up my account with 100 dollars?",
    "怎么更改花呗手机号码",
    "我的花呗是以前的手机号码，怎么更改成现在的支付宝的号码手机号",
    "花呗冻结以后还能开通吗？",
    "Mixed 中文 and English text, 支付宝 card payment.",
] * 5


@cache
def trained_bpe() -> BPETokenizer:
    return BPETokenizer().train(CORPUS, vocab_size=420)


def char_tok() -> CharTokenizer:
    return CharTokenizer().fit(CORPUS)


def b(tok: BPETokenizer, text: str) -> int:
    """Id of the token whose bytes spell ``text``."""
    wanted = text.encode("utf-8")
    return next(i for i in range(7, tok.vocab_size) if tok.token_bytes(i) == wanted)


def reference_encode(tok: BPETokenizer, chunk: str) -> list[int]:
    """Slow but obvious: apply every merge, in rank order, to all occurrences."""
    ids = [byte + 7 for byte in chunk.encode("utf-8")]
    for rank, pair in enumerate(tok.merges):
        ids = merge_pair(ids, pair, FIRST_MERGE_ID + rank)
    return ids


# ------------------------------------------------------------ special tokens
@pytest.mark.parametrize("tok", [CharTokenizer(), BPETokenizer()], ids=["char", "bpe"])
def test_special_ids_are_fixed(tok):
    assert SPECIAL_TOKENS == ("<pad>", "<bos>", "<eos>", "<unk>", "<mask>", "<cls>", "<sep>")
    ids = [tok.pad_id, tok.bos_id, tok.eos_id, tok.unk_id, tok.mask_id, tok.cls_id, tok.sep_id]
    assert ids == list(range(7))
    assert tok.decode(ids, skip_special=False) == "".join(SPECIAL_TOKENS)
    assert tok.decode(ids) == ""


def test_vocab_sizes():
    assert len(BPETokenizer()) == BPETokenizer().vocab_size == 263
    tok = CharTokenizer().fit(["aab"])
    assert len(tok) == tok.vocab_size == 7 + 2
    assert trained_bpe().vocab_size == 420


# --------------------------------------------------------------- char tokenizer
def test_char_round_trip_on_seen_text_including_chinese():
    tok = char_tok()
    for text in CORPUS + ["花呗 card", ""]:
        assert tok.decode(tok.encode(text)) == text
    assert len(tok.encode("花呗手机")) == 4


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=sorted(set("".join(CORPUS)))))
def test_char_round_trip_property_on_seen_characters(text):
    tok = char_tok()
    assert tok.decode(tok.encode(text)) == text


def test_char_unknown_characters_become_unk():
    tok = CharTokenizer().fit(["abc"])
    ids = tok.encode("aXb")
    assert ids == [tok.encode("a")[0], tok.unk_id, tok.encode("b")[0]]
    assert tok.decode(ids) == "ab"
    assert tok.decode(ids, skip_special=False) == "a<unk>b"


def test_char_fit_orders_by_frequency_then_code_point_and_respects_min_freq():
    tok = CharTokenizer().fit(["ccbba", "c"], min_freq=2)
    assert tok.chars == ["c", "b"]
    assert tok.encode("abc") == [tok.unk_id, 8, 7]
    assert CharTokenizer().fit(["ccbba"], max_size=1).chars == ["b"]


def test_char_unfitted_tokenizer_explains_itself():
    with pytest.raises(RuntimeError, match="call fit"):
        CharTokenizer().encode("a")


# ---------------------------------------------------------------- pre-tokenising
@settings(max_examples=200, deadline=None)
@given(st.text())
def test_pretokenize_loses_nothing(text):
    assert "".join(pretokenize(text)) == text


def test_pretokenize_splits_cjk_runs_into_short_chunks():
    sentence = "我的花呗是以前的手机号码怎么更改"
    chunks = pretokenize(sentence)
    assert "".join(chunks) == sentence
    assert chunks == ["我的花呗", "是以前的", "手机号码", "怎么更改"]
    assert pretokenize("hello  world, 2024!") == ["hello", " ", " world", ",", " 202", "4", "!"]
    assert pretokenize(" 你好 cat") == [" 你好", " cat"]


# ----------------------------------------------------------------- BPE training
def test_bpe_hand_computed_merges():
    # Raw pair counts: (q,a)=7, (a,b)=6, (b,c)=5.
    # merge 0: q+a (7). Now "qab" is [qa, b]: (qa,b)=4, (b,c)=5, (a,b)=2 (only from "ab").
    # merge 1: b+c (5); merge 2: qa+b (4); merge 3: a+b (2). Then no pair is left.
    texts = ["qab"] * 4 + ["qa"] * 3 + ["bc"] * 5 + ["ab"] * 2
    tok = BPETokenizer().train(texts, vocab_size=300)
    spelled = [(tok.token_bytes(x), tok.token_bytes(y)) for x, y in tok.merges]
    assert spelled == [(b"q", b"a"), (b"b", b"c"), (b"qa", b"b"), (b"a", b"b")]
    assert tok.vocab_size == 263 + 4  # stopped early: ran out of pairs


def test_bpe_encoding_follows_rank_not_frequency():
    texts = ["qab"] * 4 + ["qa"] * 3 + ["bc"] * 5 + ["ab"] * 2
    tok = BPETokenizer().train(texts, vocab_size=300)
    # In the corpus "ab" (6 times) is more frequent than "bc" (5 times), but b+c has the
    # lower rank, so "abc" must be a + bc. Frequency order would give ab + c.
    assert tok.encode("abc") == [b(tok, "a"), b(tok, "bc")]
    assert tok.encode("qabc") == [b(tok, "qa"), b(tok, "bc")]
    assert tok.encode("abab") == [b(tok, "ab"), b(tok, "ab")]


def test_bpe_ties_are_broken_by_bytes():
    for texts in (["ab", "ab", "cd", "cd"], ["cd", "cd", "ab", "ab"]):
        tok = BPETokenizer().train(texts, vocab_size=264)
        assert [tok.token_bytes(i) for i in tok.merges[0]] == [b"a", b"b"]


def test_bpe_training_is_deterministic():
    shuffled = list(CORPUS)
    random.Random(0).shuffle(shuffled)
    first = BPETokenizer().train(CORPUS, vocab_size=420).merges
    assert BPETokenizer().train(CORPUS, vocab_size=420).merges == first
    assert BPETokenizer().train(shuffled, vocab_size=420).merges == first


def test_bpe_merges_overlapping_pairs_left_to_right():
    tok = BPETokenizer().train(["aaa"] * 3, vocab_size=264)
    assert tok.encode("aaa") == [b(tok, "aa"), b(tok, "a")]
    assert merge_pair([1, 1, 1, 1, 1], (1, 1), 9) == [9, 9, 1]


def test_bpe_learns_chinese_words():
    tok = trained_bpe()
    assert len(tok.encode("花呗")) == 1
    assert len(tok.encode("手机号码")) < len("手机号码".encode())


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=sorted(set("".join(CORPUS)))))
def test_bpe_fast_encoding_matches_reference(text):
    tok = trained_bpe()
    expected = [i for chunk in pretokenize(text) for i in reference_encode(tok, chunk)]
    assert tok.encode(text) == expected


# --------------------------------------------------------------- BPE round trips
@settings(max_examples=200, deadline=None)
@given(st.text())
def test_bpe_round_trip_any_text(text):
    tok = trained_bpe()
    assert tok.decode(tok.encode(text)) == text


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from(list(SPECIAL_TOKENS)) | st.text(max_size=8), max_size=6))
def test_bpe_round_trip_with_allowed_specials(pieces):
    tok = trained_bpe()
    text = "".join(pieces)
    assert tok.decode(tok.encode(text, allow_special=True), skip_special=False) == text


def test_bpe_round_trip_hard_cases():
    tok = trained_bpe()
    for text in ["", " ", "\n\n  \t", "😀👍🏽", "e\u0301", "é", "a\x00b", "𠀀𪚥", "  x  ", "ｆｕｌｌ"]:
        assert tok.decode(tok.encode(text)) == text


def test_bpe_decode_of_half_a_character_gives_replacement_char():
    tok = BPETokenizer()
    ids = tok.encode("你")
    assert len(ids) == 3
    assert tok.decode(ids[:2]) == "\ufffd"


# ---------------------------------------------------------- bos/eos and specials
@pytest.mark.parametrize("tok", [char_tok(), trained_bpe()], ids=["char", "bpe"])
def test_empty_string_and_bos_eos(tok):
    assert tok.encode("") == []
    assert tok.encode("", add_bos=True, add_eos=True) == [tok.bos_id, tok.eos_id]
    ids = tok.encode("花呗", add_bos=True, add_eos=True)
    assert ids[0] == tok.bos_id and ids[-1] == tok.eos_id
    assert tok.decode(ids) == "花呗"


@pytest.mark.parametrize("tok", [char_tok(), trained_bpe()], ids=["char", "bpe"])
def test_allow_special_maps_special_strings_to_their_ids(tok):
    text = "a<mask>b"
    ids = tok.encode(text, allow_special=True)
    assert ids.count(tok.mask_id) == 1
    assert tok.decode(ids, skip_special=False) == text
    assert tok.decode(ids) == "ab"


def test_bpe_special_strings_are_plain_text_by_default():
    tok = trained_bpe()
    ids = tok.encode("a<mask>b")
    assert tok.mask_id not in ids
    assert tok.decode(ids) == "a<mask>b"


def test_char_special_strings_are_spelled_out_by_default():
    tok = CharTokenizer().fit(["<mask>ab"])
    assert tok.encode("<mask>") == tok.encode("<") + tok.encode("mask") + tok.encode(">")
    assert tok.encode("<mask>", allow_special=True) == [tok.mask_id]


# ----------------------------------------------------------------- batching
@pytest.mark.parametrize("tok", [char_tok(), trained_bpe()], ids=["char", "bpe"])
def test_encode_batch_pads_on_the_right(tok):
    texts = ["花呗", "The quick brown fox", ""]
    batch = tok.encode_batch(texts, add_eos=True)
    expected = [tok.encode(t, add_eos=True) for t in texts]
    assert batch.ids.dtype == torch.long
    assert batch.ids.shape == (3, max(len(e) for e in expected))
    assert batch.lengths.tolist() == [len(e) for e in expected]
    for row, e in zip(batch.ids.tolist(), expected):
        assert row == e + [tok.pad_id] * (batch.ids.shape[1] - len(e))
    assert batch.attention_mask.sum(1).tolist() == batch.lengths.tolist()
    ids, lengths = batch  # unpacks like a tuple
    assert tok.decode_batch(ids, lengths) == texts


def test_encode_batch_truncates_keeping_the_first_ids_and_warns_once():
    tok = char_tok()
    with pytest.warns(UserWarning, match="truncated to their first 3 ids"):
        batch = tok.encode_batch(["花呗冻结", "怎么"], max_len=3)
    assert batch.ids.tolist() == [tok.encode("花呗冻"), tok.encode("怎么") + [tok.pad_id]]
    assert batch.lengths.tolist() == [3, 2]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tok.encode_batch(["花呗冻结"], max_len=2)  # second truncation: silent
    fixed = tok.encode_batch(["花"], max_len=4, pad_to_max_len=True)
    assert fixed.ids.shape == (1, 4)


def test_encode_batch_of_nothing():
    batch = char_tok().encode_batch([])
    assert batch.ids.shape == (0, 0) and batch.lengths.shape == (0,)


# ------------------------------------------------------------------ save / load
def test_bpe_save_load_round_trip(tmp_path):
    tok = trained_bpe()
    file = tok.save(tmp_path / "tok")
    data = json.loads(file.read_text(encoding="utf-8"))
    assert file.name == "tokenizer.json"
    assert data["type"] == "bpe" and data["format_version"] == 1
    assert len(data["merges"]) == tok.vocab_size - 263
    for loaded in (BPETokenizer.load(tmp_path / "tok"), load_tokenizer(tmp_path / "tok")):
        assert isinstance(loaded, BPETokenizer)
        assert loaded.merges == tok.merges
        for text in CORPUS + ["unseen 文本 😀"]:
            assert loaded.encode(text) == tok.encode(text)


def test_char_save_load_round_trip(tmp_path):
    tok = char_tok()
    tok.save(tmp_path)
    data = json.loads((tmp_path / "tokenizer.json").read_text(encoding="utf-8"))
    assert data["type"] == "char" and data["format_version"] == 1
    for loaded in (CharTokenizer.load(tmp_path), load_tokenizer(tmp_path / "tokenizer.json")):
        assert isinstance(loaded, CharTokenizer)
        assert loaded.chars == tok.chars
        for text in CORPUS:
            assert loaded.encode(text) == tok.encode(text)


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("tok", [char_tok(), trained_bpe()], ids=["char", "bpe"])
def test_encode_rejects_non_strings(tok):
    with pytest.raises(TypeError, match="text must be a str, got int"):
        tok.encode(42)
    with pytest.raises(TypeError, match="text must be a str, got bytes"):
        tok.encode(b"abc")
    with pytest.raises(TypeError, match="texts must be a list of str, got a single str"):
        tok.encode_batch("abc")


@pytest.mark.parametrize("tok", [char_tok(), trained_bpe()], ids=["char", "bpe"])
def test_decode_rejects_ids_outside_the_vocabulary(tok):
    size = tok.vocab_size
    with pytest.raises(ValueError, match=rf"token id {size} .*vocab_size={size}"):
        tok.decode([7, size])
    with pytest.raises(ValueError, match=rf"token id -1 .*vocab_size={size}"):
        tok.decode(torch.tensor([-1]))
    with pytest.raises(TypeError, match="ints, got float"):
        tok.decode([7.0])


def test_fit_and_train_reject_bad_corpora():
    with pytest.raises(TypeError, match="single str"):
        BPETokenizer().train("just one string", vocab_size=300)
    with pytest.raises(TypeError, match=r"texts\[1\] must be a str, got int"):
        CharTokenizer().fit(["ok", 3])
    with pytest.raises(ValueError, match="min_freq"):
        CharTokenizer().fit(["ok"], min_freq=0)


@pytest.mark.parametrize("size", [0, 100, 262])
def test_train_rejects_too_small_vocab(size):
    with pytest.raises(ValueError, match=rf"vocab_size must be an int >= 263 .*got {size}"):
        BPETokenizer().train(CORPUS, vocab_size=size)


def test_lone_surrogate_is_a_clear_error():
    with pytest.raises(ValueError, match="cannot be encoded as UTF-8"):
        BPETokenizer().encode("a\ud800b")


def test_load_missing_directory_or_file(tmp_path):
    with pytest.raises(ValueError, match="nope: tokenizer directory does not exist"):
        BPETokenizer.load(tmp_path / "nope")
    with pytest.raises(ValueError, match="tokenizer.json: file not found"):
        load_tokenizer(tmp_path)


def write_json(tmp_path, text: str):
    (tmp_path / "tokenizer.json").write_text(text, encoding="utf-8")
    return tmp_path


def test_load_invalid_json(tmp_path):
    write_json(tmp_path, "{not json")
    with pytest.raises(ValueError, match="tokenizer.json: not valid JSON"):
        CharTokenizer.load(tmp_path)


def test_load_tokenizer_of_another_type(tmp_path):
    char_tok().save(tmp_path)
    with pytest.raises(ValueError, match="tokenizer.json: holds a 'char' tokenizer, not a 'bpe'"):
        BPETokenizer.load(tmp_path)


def test_load_unknown_format_version(tmp_path):
    trained_bpe().save(tmp_path)
    data = json.loads((tmp_path / "tokenizer.json").read_text(encoding="utf-8"))
    data["format_version"] = 99
    write_json(tmp_path, json.dumps(data))
    with pytest.raises(ValueError, match="tokenizer.json: unknown format_version 99"):
        load_tokenizer(tmp_path)


@pytest.mark.parametrize(
    "patch, message",
    [
        ({"type": "wordpiece"}, "unknown tokenizer type 'wordpiece'"),
        ({"merges": [[7, 999]]}, "merge 0 is invalid"),
        ({"merges": [[7, 8], [7, 8]], "vocab_size": 265}, "same pair twice"),
        ({"vocab_size": 5}, "vocab_size 5 does not match"),
    ],
)
def test_load_rejects_corrupt_bpe_files(tmp_path, patch, message):
    data = {"type": "bpe", "format_version": 1, "merges": [[7, 8]], **patch}
    write_json(tmp_path, json.dumps(data))
    with pytest.raises(ValueError, match=message):
        load_tokenizer(tmp_path)
