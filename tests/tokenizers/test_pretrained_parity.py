"""GPT-2's BPE and BERT's WordPiece, written by hand, give the ids of the checkpoint's own tokenizer.

The reference is ``AutoTokenizer.from_pretrained(folder)(text)["input_ids"]`` of the
``transformers`` library, on folders whose vocabularies are trained here with the ``tokenizers``
library (``tests/interop/hf_checkpoints.py``; no download). Texts come from Hypothesis: English,
Chinese and mixed, with the characters that make tokenizers differ (accents, combining marks,
odd whitespace, control characters, emoji, full-width forms). A second test walks the characters
that Unicode 3.2 assigns, one at a time (the large uniform blocks sampled).
"""

from __future__ import annotations

import string
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("transformers")
pytest.importorskip("tokenizers")

from minitransformer.tokenizers import GPT2Tokenizer, WordPieceTokenizer  # noqa: E402
from tests.interop.hf_checkpoints import CORPUS, write_bert, write_gpt2  # noqa: E402

ENGLISH = string.ascii_letters + string.digits + string.punctuation + " " * 6 + "\t\n'"
CHINESE = "".join(sorted({c for line in CORPUS for c in line if "\u4e00" <= c <= "\u9fff"})) + \
    "，。？！、：；“”（）《》【】０１２３ＡＢｃ　" + "天气真好你们"
TRICKY = ("éèàüñçÉÖİßΣσςÀ" "\u0301\u0308"  # accents, precomposed and combining
          "\xa0\u2003\u3000\u2028\x0b\x0c\x85\r"  # whitespace of every kind
          "\x00\x07\x1f\x7f\u200b\u200d\ufeff\ufffd"  # controls, format characters, the replacement character
          "😀👍🏽½²٣ⅷ€¥—…«»¿¡の한ㄱ"  # symbols, numbers, other scripts
          "\U00020000\U0002a6d6\ue000")  # CJK extension B, private use
WORDS = sorted({w for line in CORPUS for w in line.split()})


def texts_from(alphabet: str) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, max_size=40)


#: words of the training corpus glued by random separators (real merges happen), or random text
TEXTS = st.one_of(
    texts_from(ENGLISH),
    texts_from(CHINESE),
    texts_from(ENGLISH + CHINESE + TRICKY),
    st.lists(st.one_of(st.sampled_from(WORDS), texts_from(ENGLISH + CHINESE + TRICKY)), max_size=8).map(
        lambda parts: " ".join(parts)),
    st.lists(st.sampled_from(WORDS + ["[MASK]", "[SEP]", "<|endoftext|>", "'s", "'re", "  ", "\n"]),
             max_size=10).map("".join),
)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("tok")
    return {"gpt2": write_gpt2(root / "gpt2"), "uncased": write_bert(root / "uncased", lowercase=True),
            "cased": write_bert(root / "cased", lowercase=False)}


@pytest.fixture(scope="module")
def pairs(folders):
    """``{name: (ours, theirs)}`` for the three folders."""
    from transformers import AutoTokenizer

    ours = {"gpt2": GPT2Tokenizer.from_pretrained(folders["gpt2"]),
            "uncased": WordPieceTokenizer.from_pretrained(folders["uncased"]),
            "cased": WordPieceTokenizer.from_pretrained(folders["cased"])}
    return {name: (ours[name], AutoTokenizer.from_pretrained(folder)) for name, folder in folders.items()}


def test_the_folders_hold_the_files_we_read(folders):
    assert {"vocab.json", "merges.txt", "tokenizer.json"} <= {p.name for p in folders["gpt2"].iterdir()}
    assert {"vocab.txt", "tokenizer.json"} <= {p.name for p in folders["cased"].iterdir()}


@pytest.mark.parametrize("name", ["gpt2", "uncased", "cased"])
def test_hand_picked_texts(pairs, name):
    ours, theirs = pairs[name]
    for text in ["", " ", "Hello world", "  leading and trailing  ", "It's they're we've I'm I'll he'd",
                 "IT'S", "price: $9.99!!! (50% off)", "Café naïve RÉSUMÉ", "ΣΟΦΟΣ σοφός",
                 "我的订单什么时候发货？", "Mixed 中文 and English，混合。", "tab\there\nnew\r\nline",
                 "[MASK] is [SEP] here [CLS]", "<|endoftext|>start", "a" * 150, "😀 emoji 👍🏽",
                 "\x00\u200bzero\ufeffwidth\ufffd", "１２３ ＡＢＣ　全角"]:
        assert ours.encode(text) == theirs(text)["input_ids"], repr(text)


@settings(max_examples=150)
@given(text=TEXTS)
def test_gpt2_ids_are_identical(pairs, text):
    ours, theirs = pairs["gpt2"]
    ids = ours.encode(text)
    assert ids == theirs(text)["input_ids"]
    assert ours.decode(ids, skip_special=False) == text  # byte-level BPE loses nothing


@settings(max_examples=150)
@given(text=TEXTS)
def test_bert_uncased_ids_are_identical(pairs, text):
    ours, theirs = pairs["uncased"]
    assert ours.encode(text) == theirs(text)["input_ids"]


@settings(max_examples=150)
@given(text=TEXTS)
def test_bert_cased_ids_are_identical(pairs, text):
    ours, theirs = pairs["cased"]
    assert ours.encode(text) == theirs(text)["input_ids"]


@settings(max_examples=40)
@given(first=TEXTS, second=TEXTS.filter(bool))
def test_bert_sentence_pairs_and_their_token_types_are_identical(pairs, first, second):
    """(``transformers`` reads an empty second text as "no pair", hence ``filter(bool)``.)"""
    ours, theirs = pairs["cased"]
    expected = theirs(first, second)
    assert ours.encode_pair(first, second) == (expected["input_ids"], expected["token_type_ids"])


#: large blocks whose characters all behave alike: CJK ideographs, Hangul syllables, private use
UNIFORM_BLOCKS = ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xAC00, 0xD7A3), (0xE000, 0xF8FF))


def unicode_3_2_characters() -> list[str]:
    """Every character Unicode 3.2 assigns in the BMP, but only every 16th of the uniform blocks;
    every 64th beyond the BMP (ideograph extension B, private use planes, ...)."""
    chars = []
    for cp in range(0x110000):
        c = chr(cp)
        if 0xD800 <= cp <= 0xDFFF or unicodedata.ucd_3_2_0.category(c) == "Cn":
            continue
        step = 64 if cp > 0xFFFF else 16 if any(a <= cp <= b for a, b in UNIFORM_BLOCKS) else 1
        if cp % step == 0:
            chars.append(c)
    return chars


def test_every_character_of_unicode_3_2_alone_and_between_letters(pairs):
    """One text per character, ``"a" + c + "b " + c + c`` (between letters, after a space,
    doubled for combining marks and whitespace runs), all at once through the reference's batch call."""
    chars = unicode_3_2_characters()
    assert len(chars) > 15_000
    texts = [f"a{c}b {c}{c}" for c in chars]
    for name, (ours, theirs) in pairs.items():
        expected = theirs(texts)["input_ids"]
        wrong = [repr(c) for c, text, ids in zip(chars, texts, expected) if ours.encode(text) != ids]
        assert not wrong, f"{name}: {len(wrong)} characters differ, e.g. {wrong[:10]}"
