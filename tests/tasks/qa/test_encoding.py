"""Questions as model inputs (tasks/qa/encoding.py): tokenizers, truncation, hashed n-grams."""

from __future__ import annotations

import pytest

from minitransformer.tokenizers import BPETokenizer, CharTokenizer, load_tokenizer
from tasks.qa.encoding import build_tokenizer, encode_texts, pad_ids, text_ngrams
from tasks.qa.synthetic import FAQ


@pytest.mark.parametrize("tokenizer_cls", [BPETokenizer, CharTokenizer])
def test_tokenizer_round_trip_on_chinese(tmp_path, tokenizer_cls):
    texts = [q for _, (_, _, _, zh) in FAQ.items() for q in zh]
    tok = BPETokenizer().train(texts, 500) if tokenizer_cls is BPETokenizer else CharTokenizer().fit(texts)
    tok.save(tmp_path)
    again = load_tokenizer(tmp_path)
    for text in texts[:20] + ["花呗怎么还款？"]:
        assert again.decode(again.encode(text)) == text or tokenizer_cls is CharTokenizer
    assert again.decode(again.encode("我的订单到哪里了？")) == "我的订单到哪里了？"


def test_long_questions_are_truncated_and_empty_ones_refused():
    tok = CharTokenizer().fit(["abc"])
    ids = encode_texts(tok, ["abc" * 100], max_len=16)
    assert len(ids[0]) == 16 and ids[0][0] == tok.cls_id
    with pytest.raises(ValueError, match="empty question"):
        encode_texts(tok, ["   "], max_len=16)
    assert len(text_ngrams("x" * 5000, 1024)) <= 256


def test_hashed_ngrams_are_distinct_bucket_ids_and_batches_pad_with_zero():
    ids = text_ngrams("refund my card", 64)
    assert len(ids) == len(set(ids)) and all(1 <= i <= 64 for i in ids)
    assert pad_ids([[3], [4, 5]]).tolist() == [[3, 0], [4, 5]]
    with pytest.raises(ValueError, match="--tokenizer: expected 'bpe' or 'char'"):
        build_tokenizer("words", ["a"], 10)
