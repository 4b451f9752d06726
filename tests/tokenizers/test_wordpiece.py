"""BERT's WordPiece tokenizer on a hand-made vocabulary: each step of the recipe on its own."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minitransformer.tokenizers import WordPieceTokenizer

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
VOCAB = SPECIALS + ["un", "##aff", "##able", "the", "cafe", "café", "resume", "!", ",", "$", "你", "好",
                    "order", "##s", "a", "##b", "##c", "ab", "x", "の", "ﾃ", "σοφος"]


def tokenizer(**options) -> WordPieceTokenizer:
    return WordPieceTokenizer(VOCAB, **options)


def test_greedy_longest_match_first_with_continuation_pieces():
    tok = tokenizer()
    assert tok.wordpiece("unaffable") == ["un", "##aff", "##able"]
    assert tok.wordpiece("orders") == ["order", "##s"]
    assert tok.wordpiece("abc") == ["ab", "##c"]  # "ab" is longer than "a", so "a ##b ##c" is not tried


def test_a_word_with_an_uncovered_part_is_one_unknown_token():
    tok = tokenizer()
    assert tok.wordpiece("unaffablez") == ["[UNK]"]  # not "un ##aff ##able [UNK]"
    assert tok.tokenize("the zebra") == ["the", "[UNK]"]


def test_words_longer_than_the_limit_are_unknown():
    assert tokenizer().wordpiece("abc") == ["ab", "##c"]
    tok = tokenizer(max_chars_per_word=2)
    assert tok.wordpiece("abc") == ["[UNK]"]
    assert tok.wordpiece("ab") == ["ab"]


def test_uncased_lower_cases_and_strips_accents():
    tok = tokenizer()
    assert tok.normalize("CAFÉ Résumé") == "cafe resume"
    assert tok.tokenize("CAFÉ") == ["cafe"]
    assert tok.normalize("ΣΟΦΟΣ") == "σοφοσ"  # one character at a time: no final-sigma rule


def test_cased_keeps_case_and_accents_and_accents_can_be_stripped_alone():
    assert tokenizer(lowercase=False).tokenize("café Café") == ["café", "[UNK]"]
    assert tokenizer(lowercase=False, strip_accents=True).normalize("Café") == "Cafe"


def test_cjk_ideographs_are_split_one_by_one_but_kana_is_not():
    tok = tokenizer()
    assert tok.tokenize("你好") == ["你", "好"]
    assert tok.normalize("你好") == " 你  好 "
    assert tok.split_words(tok.normalize("のの")) == ["のの"]
    assert tokenizer(split_cjk=False).tokenize("你好") == ["[UNK]"]


def test_punctuation_and_ascii_symbols_are_words_of_their_own():
    tok = tokenizer()
    assert tok.split_words("un,aff!$x") == ["un", ",", "aff", "!", "$", "x"]
    assert tok.split_words("a+b") == ["a", "+", "b"]  # + is a symbol for Unicode, punctuation for BERT


def test_cleaning_drops_controls_and_turns_whitespace_into_spaces():
    tok = tokenizer()
    assert tok.normalize("a\x00b\u200bc\ufffd\x07d") == "abcd"
    assert tok.normalize("a\tb\nc\u3000d\xa0e") == "a b c d e"
    assert tokenizer(clean_text=False).normalize("a\u200bb") == "a\u200bb"


def test_special_tokens_in_the_text_are_recognised_and_the_sequence_is_wrapped():
    tok = tokenizer()
    ids = tok.encode("the [MASK]!")
    assert tok.tokens(ids) == ["[CLS]", "the", "[MASK]", "!", "[SEP]"]
    assert tok.tokens(tok.encode("the [mask]")) == ["[CLS]", "the", "[UNK]", "[UNK]", "[UNK]", "[SEP]"]
    assert tok.encode("the", add_special=False) == [VOCAB.index("the")]


def test_pairs_get_token_types_and_are_truncated_longest_first():
    tok = tokenizer()
    ids, types = tok.encode_pair("the cafe", "你好")
    assert tok.tokens(ids) == ["[CLS]", "the", "cafe", "[SEP]", "你", "好", "[SEP]"]
    assert types == [0, 0, 0, 0, 1, 1, 1]
    ids, types = tok.encode_pair("the cafe the cafe", "你", max_len=6)
    assert tok.tokens(ids) == ["[CLS]", "the", "cafe", "[SEP]", "你", "[SEP]"] and len(types) == 6


def test_batches_are_padded_on_the_right_with_token_types_and_a_padding_mask():
    tok = tokenizer()
    batch = tok.encode_batch(["the", "the cafe !"], seconds=["你", "好"])
    assert batch.ids.shape == batch.token_type_ids.shape == batch.padding_mask.shape == (2, 7)
    assert batch.padding_mask[0].tolist() == [False] * 5 + [True] * 2  # [CLS] the [SEP] 你 [SEP]
    assert batch.ids[0, 5:].tolist() == [tok.pad_id] * 2
    assert batch.token_type_ids[1].tolist() == [0] * 5 + [1, 1]  # [CLS] the cafe ! [SEP] | 好 [SEP]
    single = tok.encode_batch(["the cafe cafe cafe"], max_len=4)
    assert tok.tokens(single.ids[0].tolist()) == ["[CLS]", "the", "cafe", "[SEP]"]


def test_decode_glues_continuation_pieces_and_skips_specials():
    tok = tokenizer()
    assert tok.decode(tok.encode("unaffable cafe!")) == "unaffable cafe !"
    assert tok.decode(tok.encode("the"), skip_special=False) == "[CLS] the [SEP]"
    with pytest.raises(ValueError, match="outside the vocabulary"):
        tok.decode([len(VOCAB)])


def test_save_and_from_pretrained_round_trip(tmp_path):
    tok = tokenizer(lowercase=False)
    tok.save(tmp_path)
    assert (tmp_path / "vocab.txt").read_text(encoding="utf-8").split("\n")[:3] == ["[PAD]", "[UNK]", "[CLS]"]
    assert json.loads((tmp_path / "tokenizer_config.json").read_text())["do_lower_case"] is False
    again = WordPieceTokenizer.from_pretrained(tmp_path)
    assert again.encode("Café the 你好 [MASK]") == tok.encode("Café the 你好 [MASK]")


def test_missing_files_and_missing_special_tokens_are_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="vocab.txt"):
        WordPieceTokenizer.from_pretrained(tmp_path)
    with pytest.raises(ValueError, match="cls_token"):
        WordPieceTokenizer(["[UNK]", "[SEP]", "a"])


@settings(max_examples=50)
@given(text=st.text(alphabet="unaffable cafe 你好!$,ÉÁ\t\n", max_size=30))
def test_every_id_is_in_the_vocabulary_and_wrapped(text):
    tok = tokenizer()
    ids = tok.encode(text)
    assert ids[0] == tok.cls_id and ids[-1] == tok.sep_id
    assert all(0 <= i < len(VOCAB) for i in ids)
    assert tok.encode(text) == ids  # deterministic
