"""Whole-word masking (tasks/qa/words.py, tasks/qa/pretrain.py) and the lexically hard view of a
pair set (tasks/qa/matching/overlap.py): word groups line up with the tokens, a word is masked
whole or not at all, and overlap alone ranks nothing inside an overlap band."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from minitransformer.tokenizers import BPETokenizer, CharTokenizer
from tasks.qa.encoding import CLS_ID, MASK_ID, PAD_ID
from tasks.qa.matching.cross_encoder import SEP_ID, encode_cross, pair_sequence
from tasks.qa.matching.overlap import char_overlap, overlap_bands, same_overlap_roc_auc
from tasks.qa.pretrain import mask_whole_words
from tasks.qa.words import pair_word_ids, segment, word_ids

pytest.importorskip("jieba")

ZH = "花呗借还款怎么开通额度用不了手机号码更改我的是吗"
TEXT = st.text(alphabet=ZH + "abc 1", min_size=1, max_size=20).filter(lambda t: t.strip())
CHARS = CharTokenizer().fit([ZH + "abc 1"])


@settings(max_examples=40, deadline=None)
@given(TEXT)
def test_every_token_has_a_word_and_words_are_contiguous_runs_numbered_in_order(text):
    ids = CHARS.encode(text)
    words = word_ids(CHARS, text)
    assert len(words) == len(ids)
    assert words[0] == 0 and all(b - a in (0, 1) for a, b in zip(words, words[1:]))
    # each word's characters are one of jieba's words
    pieces = ["".join(c for c, w in zip(text, words) if w == k) for k in range(words[-1] + 1)]
    assert pieces == segment(text)


def test_a_tokenizer_that_does_not_cut_at_word_edges_gets_one_word_per_token():
    bpe = BPETokenizer().train(["怎么更改手机号码"] * 20, 300)
    text = "怎么更改手机号码"
    assert word_ids(bpe, text) == list(range(len(bpe.encode(text))))


@settings(max_examples=30, deadline=None)
@given(TEXT, TEXT)
def test_pair_words_line_up_with_the_pair_sequence_including_the_cut(a, b):
    from tasks.qa.config import CrossMatchConfig, qa_encoder

    encoder = qa_encoder(d_model=16, nhead=2, num_layers=1, dim_feedforward=32)
    config = CrossMatchConfig(vocab_size=CHARS.vocab_size, encoder=encoder, max_len=15)
    (xa, xb), = encode_cross(CHARS, [(a, b)], config)
    words, = pair_word_ids(CHARS, [(a, b)], keep=(config.max_len - 3) // 2)
    sequence = pair_sequence(xa, xb)
    assert len(words) == len(sequence)
    specials = [i for i, t in enumerate(sequence) if t in (CLS_ID, SEP_ID)]
    assert [i for i, w in enumerate(words) if w < 0] == specials
    assert not set(words[1:len(xa) + 1]) & set(words[len(xa) + 2:])  # a's words and b's differ


def test_a_word_is_masked_whole_or_not_at_all_and_special_tokens_never():
    torch.manual_seed(0)
    ids = torch.tensor([[CLS_ID, 10, 11, 12, 13, 14, SEP_ID, 15, 16, SEP_ID, PAD_ID]] * 400)  # (B, T)
    words = torch.tensor([[-1, 0, 0, 1, 2, 2, -1, 3, 3, -1, -1]] * 400)  # (B, T)
    masked, labels = mask_whole_words(ids, words, vocab_size=20, special_ids=(PAD_ID, CLS_ID, SEP_ID))
    chosen = labels != -100  # (B, T)
    for a, b in ((1, 2), (4, 5), (7, 8)):  # the tokens of one word go together
        assert torch.equal(chosen[:, a], chosen[:, b])
    assert not chosen[:, [0, 6, 9, 10]].any()
    assert torch.equal(labels[chosen], ids[chosen]) and torch.equal(masked[~chosen], ids[~chosen])
    assert 0.10 < chosen[:, 1].float().mean() < 0.20  # each word with probability 0.15
    assert 0.7 < (masked[chosen] == MASK_ID).float().mean() < 0.9  # 80 % of them become [MASK]


def test_pretraining_by_whole_words_runs_and_lowers_its_loss():
    from tasks.qa.config import CrossMatchConfig, qa_encoder
    from tasks.qa.matching.cross_encoder import CrossPairMatcher
    from tasks.qa.pretrain import pretrain_mlm

    torch.manual_seed(0)
    texts = [("怎么更改手机号码", "手机号码怎么更改"), ("花呗怎么还款", "借呗怎么开通")] * 40
    encoder = qa_encoder(d_model=32, nhead=2, num_layers=1, dim_feedforward=64)
    config = CrossMatchConfig(vocab_size=CHARS.vocab_size, encoder=encoder, max_len=32)
    model = CrossPairMatcher(config)
    rows = [pair_sequence(a, b) for a, b in encode_cross(CHARS, texts, config)]
    words = pair_word_ids(CHARS, texts, keep=(config.max_len - 3) // 2)
    first = pretrain_mlm(model, rows, epochs=1, batch_size=16, device="cpu", verbose=False, words=words,
                         special_ids=(PAD_ID, CLS_ID, SEP_ID))
    last = pretrain_mlm(model, rows, epochs=6, batch_size=16, device="cpu", verbose=False, words=words,
                        special_ids=(PAD_ID, CLS_ID, SEP_ID))
    assert last < first
    with pytest.raises(ValueError, match="one word index per token"):
        pretrain_mlm(model, rows, epochs=1, device="cpu", verbose=False, words=[w[:-1] for w in words])


def test_overlap_alone_ranks_nothing_inside_its_band_but_a_meaningful_character_does():
    # each positive has a negative of the same overlap; what decides is whether 借 came in
    pairs = [("花呗还款", "花呗还钱", 1), ("花呗还款", "借呗还款", 0),
             ("额度", "额度吗", 1), ("借呗", "借呗吗", 0)] * 5
    texts, truth = [(a, b) for a, b, _ in pairs], [y for *_, y in pairs]
    overlap = [char_overlap(a, b) for a, b in texts]
    assert sorted(set(overlap)) == pytest.approx([0.6, 2 / 3])
    assert same_overlap_roc_auc(texts, truth, overlap) == 0.5
    knows = [0.0 if "借" in b else 1.0 for _, b in texts]
    assert same_overlap_roc_auc(texts, truth, knows) == 1.0
    bands = overlap_bands(texts)
    assert all((bands[i] == bands[j]) == (overlap[i] == overlap[j]) for i in range(4) for j in range(4))
