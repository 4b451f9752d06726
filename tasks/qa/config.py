"""The QA head's settings: the model configs saved beside the weights, and the training recipes.

**Model configs** (``config.json`` of a model folder; :class:`~minitransformer.nn.config.ConfigBase`,
so they round-trip through JSON and refuse unknown keys). The encoder's shape is the core's
:class:`~minitransformer.nn.config.EncoderConfig`, nested as the field ``encoder``::

    SentenceConfig   vocab_size, encoder: EncoderConfig, max_len, pooling, ngram_buckets
    IntentConfig     SentenceConfig + num_labels, wide_ngrams          (the intent classifier)
    MatchConfig      SentenceConfig, its own model_type                (the Siamese pair matcher)
    CrossMatchConfig SentenceConfig + shared_tokens                    (the cross-encoder matcher)

Every QA encoder is pre-norm with GELU (:func:`qa_encoder`); only its size changes.

**Training settings** (plain dataclasses; the command line's defaults)::

    IntentSettings   one intent Transformer's training: epochs, batch size, lr, smoothing, ...
    RouterSettings   the intent router: tokenizer, encoder, experts, ensemble, IntentSettings
    MatchSettings    the question matcher
    ReplySettings    the reply generator (the core's encoder–decoder)

and the presets :func:`faq_settings` (the built-in FAQ), :func:`few_label_settings` (the
few-label recipe), :func:`tiny_settings` (seconds, for examples), :func:`default_settings`
(what ``train`` uses when given no settings) and :func:`pretrained_settings` (its defaults with
``init_from``, a pretrained checkpoint).

Every training setting is checked when the dataclass is made and again by
:func:`check_settings` before a training starts (a field may have been set afterwards): counts
are positive integers (``pretrain_epochs`` may be 0: no pretraining), rates positive and finite,
shares in their interval. A bad value is refused naming the field (``train.lr: expected a
positive finite number, got nan``), never replaced by a default.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import ClassVar

from minitransformer.nn.config import ConfigBase, EncoderConfig

__all__ = ["POOLINGS", "TASKS", "qa_encoder", "SentenceConfig", "IntentConfig", "MatchConfig",
           "CrossMatchConfig", "IntentSettings", "RouterSettings", "MatchSettings", "ReplySettings",
           "faq_settings", "few_label_settings", "tiny_settings", "default_settings",
           "pretrained_settings", "check_settings"]

POOLINGS = ("mean", "cls")
TOKENIZERS = ("bpe", "char")
#: the question matcher's shapes: one sequence per pair, one encoder pass per question, or the
#: first for labelled pairs and the second for an FAQ table
ARCHITECTURES = ("auto", "cross", "siamese")
#: the smallest byte-level BPE vocabulary: 256 bytes + 7 special tokens (the core's
#: ``minitransformer.tokenizers.bpe.MIN_VOCAB_SIZE``; written out so that this module needs no torch)
BPE_MIN_VOCAB = 263
#: what a QA model folder can hold: an intent router, a question matcher or a reply generator
TASKS = ("intent", "match", "reply")


def qa_encoder(d_model: int = 128, nhead: int = 4, num_layers: int = 2, dim_feedforward: int = 512,
               dropout: float = 0.1) -> EncoderConfig:
    """The encoder of every QA model: pre-norm (``norm_first``, with a final layer norm) and GELU,
    which train stably from scratch on a few thousand questions; the defaults are the router's
    and the matcher's size.

    Examples:
        >>> qa_encoder(num_layers=1).num_layers, qa_encoder().activation, qa_encoder().norm_first
        (1, 'gelu', True)
    """
    return EncoderConfig(d_model=d_model, nhead=nhead, num_layers=num_layers,
                         dim_feedforward=dim_feedforward, dropout=dropout, activation="gelu",
                         norm_first=True)


# ----------------------------------------------------------------------------- model configs
@dataclass
class SentenceConfig(ConfigBase):
    """Everything the shared sentence encoder (:mod:`tasks.qa.model`) needs.

    ``max_len`` counts ``[CLS]`` too; ``ngram_buckets = 0`` switches the hashed n-gram bag off.
    """

    model_type: ClassVar[str] = "qa_sentence"
    vocab_size: int = 8000
    encoder: EncoderConfig = field(default_factory=lambda: qa_encoder(d_model=192))
    max_len: int = 64
    pooling: str = "mean"
    ngram_buckets: int = 0

    def __post_init__(self):
        if not isinstance(self.encoder, EncoderConfig):
            raise ValueError(f"encoder: expected an EncoderConfig, got {type(self.encoder).__name__}")
        self._check_positive("vocab_size", "max_len")
        if not isinstance(self.ngram_buckets, int) or self.ngram_buckets < 0:
            raise ValueError(f"ngram_buckets: expected a non-negative integer, got {self.ngram_buckets!r}")
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling: expected one of {list(POOLINGS)}, got {self.pooling!r}")

    def sentence_config(self) -> SentenceConfig:
        """The sentence encoder's own fields (a subclass adds those of its head)."""
        return SentenceConfig(vocab_size=self.vocab_size, encoder=self.encoder, max_len=self.max_len,
                              pooling=self.pooling, ngram_buckets=self.ngram_buckets)


@dataclass
class IntentConfig(SentenceConfig):
    """The sentence encoder's settings plus the number of intents and the optional wide part."""

    model_type: ClassVar[str] = "qa_intent"
    num_labels: int = 2
    wide_ngrams: bool = False

    def __post_init__(self):
        super().__post_init__()
        self._check_positive("num_labels")


@dataclass
class MatchConfig(SentenceConfig):
    """The pair matcher: the sentence encoder's settings (the head's size follows ``d_model``)."""

    model_type: ClassVar[str] = "qa_match"


@dataclass
class CrossMatchConfig(SentenceConfig):
    """The cross-encoder matcher (``[CLS] a [SEP] b [SEP]`` in one sequence): the encoder's
    settings plus ``shared_tokens``, the embedding that flags a character also present in the
    other question. ``max_len`` counts the whole pair with its three special tokens; the n-gram
    bag of the sentence encoder is not used (``ngram_buckets`` stays 0)."""

    model_type: ClassVar[str] = "qa_cross_match"
    shared_tokens: bool = True

    def __post_init__(self):
        super().__post_init__()
        if not isinstance(self.shared_tokens, bool):
            raise ValueError(f"shared_tokens: expected true or false, got {self.shared_tokens!r}")
        if self.max_len < 5:
            raise ValueError(f"max_len: a pair needs 5 positions or more, got {self.max_len!r}")


# ----------------------------------------------------------------------------- checks
def _count(name: str, value, minimum: int = 1, optional: bool = False) -> None:
    """Refuse ``value`` unless it is an integer >= ``minimum`` (or None when ``optional``)."""
    if value is None and optional:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name}: expected {kind}{' or None' if optional else ''}, got {value!r}")


def _number(name: str, value, low: float, high: float = math.inf, *, low_open: bool = True,
            high_open: bool = True) -> None:
    """Refuse ``value`` unless it is a finite number in the interval from ``low`` to ``high``
    (open or closed at each end)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if not ok:
        if high == math.inf:
            expected = f"a finite number {'>' if low_open else '>='} {low:g}"
        else:
            expected = f"a number in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{name}: expected {expected}, got {value!r}")


def _choice(name: str, value, choices: tuple) -> None:
    if value not in choices:
        raise ValueError(f"{name}: expected one of {list(choices)}, got {value!r}")


def _flag(name: str, value) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{name}: expected True or False, got {value!r}")


def _check_vocab(tokenizer: str, vocab_size) -> None:
    _count("vocab_size", vocab_size, minimum=BPE_MIN_VOCAB if tokenizer == "bpe" else 1)


def _check_encoder(name: str, encoder) -> None:
    if not isinstance(encoder, EncoderConfig):
        raise ValueError(f"{name}: expected an EncoderConfig, got {type(encoder).__name__}")


def check_settings(settings) -> None:
    """Check every field of a :class:`RouterSettings`, :class:`MatchSettings` or
    :class:`ReplySettings` (with its nested :class:`IntentSettings`); ``ValueError`` names the
    first bad field. :func:`tasks.qa.train` calls it before reading any data."""
    if not isinstance(settings, (RouterSettings, MatchSettings, ReplySettings)):
        raise ValueError(f"config: expected RouterSettings, MatchSettings or ReplySettings, "
                         f"got {type(settings).__name__}")
    settings.check()


# ----------------------------------------------------------------------------- training settings
@dataclass
class IntentSettings:
    """Training settings of one intent Transformer (the BANKING77 benchmark uses the CLI defaults)."""

    epochs: int = 25  # BANKING77 (9k questions): ~30-40 s an epoch on one CPU thread
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 0.05
    label_smoothing: float = 0.1
    token_dropout: float = 0.1
    patience: int | None = 6
    pretrain_epochs: int = 3  # MLM on the training questions first: +1.4 points on a BANKING77 quarter
    pretrain_lr: float = 1e-3

    def __post_init__(self):
        self.check()

    def check(self, prefix: str = "") -> None:
        """Refuse a field out of range (see the module docstring), naming it."""
        _count(prefix + "epochs", self.epochs)
        _count(prefix + "batch_size", self.batch_size)
        _number(prefix + "lr", self.lr, 0.0)
        _number(prefix + "weight_decay", self.weight_decay, 0.0, low_open=False)
        _number(prefix + "label_smoothing", self.label_smoothing, 0.0, 1.0, low_open=False)
        _number(prefix + "token_dropout", self.token_dropout, 0.0, 1.0, low_open=False)
        _count(prefix + "patience", self.patience, optional=True)
        _count(prefix + "pretrain_epochs", self.pretrain_epochs, minimum=0)
        _number(prefix + "pretrain_lr", self.pretrain_lr, 0.0)


@dataclass
class RouterSettings:
    """The intent router: tokenizer, model size, experts and training (the CLI defaults)."""

    tokenizer: str = "bpe"
    vocab_size: int = 4000
    lowercase: bool = True
    encoder: EncoderConfig = field(default_factory=qa_encoder)  # D = 128, 4 heads, 2 layers, FF 512
    max_len: int = 64
    pooling: str = "mean"
    ngram_buckets: int = 0  # the Transformer's own hashed n-gram bag (model.py); off by default
    wide_ngrams: bool = False  # a linear part on that bag, trained jointly (router/classifier.py)
    linear_expert: bool = True  # a separate linear n-gram expert, mixed in on validation
    linear_c: float = 30.0  # its inverse L2 strength, scikit-learn's C: l2 = 1 / (C N)
    ensemble: int = 2  # Transformers trained with seeds seed, seed + 1, ... side by side (router/ensemble.py)
    valid_fraction: float = 0.1
    # two 12-epoch members score higher together than one trained for 25 (BANKING77, router/ensemble.py)
    train: IntentSettings = field(default_factory=lambda: IntentSettings(epochs=12))

    def __post_init__(self):
        self.check()

    def check(self) -> None:
        """Refuse a field out of range (see the module docstring), naming it."""
        _choice("tokenizer", self.tokenizer, TOKENIZERS)
        _check_vocab(self.tokenizer, self.vocab_size)
        _flag("lowercase", self.lowercase)
        _check_encoder("encoder", self.encoder)
        _count("max_len", self.max_len, minimum=2)
        _choice("pooling", self.pooling, POOLINGS)
        _count("ngram_buckets", self.ngram_buckets, minimum=0)
        _flag("wide_ngrams", self.wide_ngrams)
        _flag("linear_expert", self.linear_expert)
        _number("linear_c", self.linear_c, 0.0)
        _count("ensemble", self.ensemble)  # the number of Transformers
        _number("valid_fraction", self.valid_fraction, 0.0, 1.0)
        if not isinstance(self.train, IntentSettings):
            raise ValueError(f"train: expected an IntentSettings, got {type(self.train).__name__}")
        self.train.check("train.")

    def model_config(self, vocab_size: int, num_labels: int) -> IntentConfig:
        """The classifier's config for a tokenizer of ``vocab_size`` ids and ``num_labels`` intents."""
        return IntentConfig(vocab_size=vocab_size, encoder=self.encoder, max_len=self.max_len,
                            pooling=self.pooling, num_labels=num_labels, ngram_buckets=self.ngram_buckets,
                            wide_ngrams=self.wide_ngrams)


def faq_settings() -> RouterSettings:
    """The preset of ``qa train --data builtin``: a small FAQ (~25 questions per intent) is learnt
    best by one encoder layer at a higher learning rate, without label smoothing (which would also
    flatten the confidences the hand-off threshold reads); the encoder reads the hashed n-gram bag
    beside the tokens, a single model (the FAQ benchmark's 95.3% was measured so)."""
    return RouterSettings(encoder=qa_encoder(num_layers=1), ngram_buckets=16384, wide_ngrams=True,
                          linear_expert=False, ensemble=1,
                          train=IntentSettings(lr=3e-3, label_smoothing=0.0, pretrain_epochs=0))


def few_label_settings() -> RouterSettings:
    """The Transformer of the few-label recipe (:mod:`tasks.qa.semi`): it reads the hashed n-gram
    bag, which the recipe's own linear view reads too; one model trained for 25 epochs, no
    separate expert."""
    return RouterSettings(ngram_buckets=16384, wide_ngrams=True, linear_expert=False, ensemble=1,
                          train=IntentSettings())


def tiny_settings() -> RouterSettings:
    """A router small enough to train on the built-in FAQ in two seconds: one layer of width 32
    reading 300 BPE tokens and a bag of 2,048 hashed n-grams, two epochs at a high learning
    rate, one model without the separate linear expert. About 0.6 of the held-out questions are
    routed right: for examples and tests, not for answering customers."""
    return RouterSettings(vocab_size=300, encoder=qa_encoder(d_model=32, num_layers=1, dim_feedforward=64),
                          ngram_buckets=2048, wide_ngrams=True, linear_expert=False, ensemble=1,
                          train=IntentSettings(epochs=2, lr=1e-2, label_smoothing=0.0, pretrain_epochs=0))


@dataclass
class MatchSettings:
    """The CLI defaults of ``qa train --task match``."""

    # "cross": both questions in one sequence; "siamese": one encoder pass per question (FAQ retrieval);
    # "auto": cross for labelled pairs, siamese for an FAQ table
    architecture: str = "auto"
    tokenizer: str = "char"
    vocab_size: int = 4000
    encoder: EncoderConfig = field(default_factory=qa_encoder)  # D = 128, 4 heads, 2 layers, FF 512
    max_len: int = 64
    ngram_buckets: int = 16384  # siamese: each question's hashed n-gram bag
    shared_tokens: bool = True  # cross: flag each token that also occurs in the other question
    blend: bool = True  # cross: blend with the TF-IDF + LR baseline, 3 weights fitted on validation
    consistency: float = 1.0  # cross: both orders, each with its dropout, pulled together (R-Drop); 0 = off
    epochs: int = 4  # ATEC (32k training pairs): ~3-4 min an epoch on one CPU thread
    batch_size: int = 64
    lr: float = 1e-3
    patience: int | None = 2
    pretrain_epochs: int = 2  # masked characters on the training pairs: ~5 min an epoch on ATEC
    whole_words: bool = False  # cross: pretraining masks whole jieba words (character tokenizer)
    valid_fraction: float = 0.1
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        self.check()

    def check(self) -> None:
        """Refuse a field out of range (see the module docstring), naming it."""
        _choice("architecture", self.architecture, ARCHITECTURES)
        _choice("tokenizer", self.tokenizer, TOKENIZERS)
        _check_vocab(self.tokenizer, self.vocab_size)
        _check_encoder("encoder", self.encoder)
        _count("max_len", self.max_len, minimum=2)
        _count("ngram_buckets", self.ngram_buckets, minimum=0)
        _flag("shared_tokens", self.shared_tokens)
        _flag("blend", self.blend)
        _number("consistency", self.consistency, 0.0, low_open=False)
        _count("epochs", self.epochs)
        _count("batch_size", self.batch_size)
        _number("lr", self.lr, 0.0)
        _count("patience", self.patience, optional=True)
        _count("pretrain_epochs", self.pretrain_epochs, minimum=0)
        _flag("whole_words", self.whole_words)
        _number("valid_fraction", self.valid_fraction, 0.0, 1.0)

    def model_config(self, vocab_size: int, faq: bool = False) -> MatchConfig | CrossMatchConfig:
        """The matcher's config for a tokenizer of ``vocab_size`` ids (``faq``: trained on an FAQ
        table, which ``architecture="auto"`` gives the Siamese bi-encoder)."""
        if self.architecture == "cross" or (self.architecture == "auto" and not faq):
            return CrossMatchConfig(vocab_size=vocab_size, encoder=self.encoder, max_len=self.max_len,
                                    shared_tokens=self.shared_tokens)
        return MatchConfig(vocab_size=vocab_size, encoder=self.encoder, max_len=self.max_len,
                           ngram_buckets=self.ngram_buckets)


@dataclass
class ReplySettings:
    """The CLI defaults of ``qa train --task reply``: the core's encoder–decoder ``Transformer``
    (4 heads, feed-forward ``4 d_model``, dropout 0.1, label smoothing 0.1), a byte-level BPE
    tokenizer of ``vocab_size`` ids, beam search with ``num_beams`` beams."""

    epochs: int = 60
    batch_size: int = 32
    lr: float = 1e-3
    d_model: int = 128
    num_layers: int = 2
    vocab_size: int = 2000
    num_beams: int = 4

    def __post_init__(self):
        self.check()

    def check(self) -> None:
        """Refuse a field out of range (see the module docstring), naming it."""
        _count("epochs", self.epochs)
        _count("batch_size", self.batch_size)
        _number("lr", self.lr, 0.0)
        _count("d_model", self.d_model)
        if self.d_model % 4:
            raise ValueError(f"d_model: expected a multiple of the 4 attention heads, got {self.d_model}")
        _count("num_layers", self.num_layers)
        _check_vocab("bpe", self.vocab_size)
        _count("num_beams", self.num_beams)


def default_settings(task: str = "intent", *, builtin: bool = False,
                     fmt: str | None = None) -> RouterSettings | MatchSettings | ReplySettings:
    """The settings ``train`` uses when it is given none: :func:`faq_settings` for the built-in
    FAQ, :class:`RouterSettings` for other intent data, :class:`MatchSettings` (a BPE tokenizer
    for an FAQ table, ``fmt="faq"``, characters for question pairs) and :class:`ReplySettings`.

    Examples:
        >>> default_settings("intent", builtin=True).ensemble, default_settings("match", fmt="faq").tokenizer
        (1, 'bpe')
    """
    if task == "intent":
        return faq_settings() if builtin else RouterSettings()
    if task == "match":
        if fmt == "faq":  # the Siamese bi-encoder on pairs made from the table, no pretraining
            return MatchSettings(tokenizer="bpe", epochs=3, pretrain_epochs=0)
        return MatchSettings()
    if task == "reply":
        return ReplySettings()
    raise ValueError(f"task: expected one of {list(TASKS)}, got {task!r}")


def pretrained_settings(task: str = "intent", *, builtin: bool = False,
                        fmt: str | None = None) -> RouterSettings | MatchSettings | ReplySettings:
    """The settings ``train(..., init_from=DIR)`` uses when it is given none: fine-tuning a
    pretrained checkpoint wants a small learning rate and few epochs (Devlin et al. 2019 fine-tune
    BERT for 2-4 epochs at 2e-5 to 5e-5), one model rather than an ensemble, and none of the
    from-scratch recipe's masked-token pretraining or token dropout. The intent router keeps
    :func:`default_settings`' choice of the linear n-gram expert.

    Examples:
        >>> pretrained_settings("intent").train.lr, pretrained_settings("reply").epochs
        (5e-05, 10)
    """
    if task == "intent":
        train = IntentSettings(epochs=5, batch_size=32, lr=5e-5, weight_decay=0.01, label_smoothing=0.0,
                               token_dropout=0.0, patience=2, pretrain_epochs=0)
        return dataclasses.replace(default_settings("intent", builtin=builtin), ensemble=1, train=train)
    if task == "match":
        return dataclasses.replace(default_settings("match", fmt=fmt), epochs=3, batch_size=32, lr=3e-5,
                                   pretrain_epochs=0)
    if task == "reply":
        return ReplySettings(epochs=10, batch_size=8, lr=5e-5, num_beams=1)
    raise ValueError(f"task: expected one of {list(TASKS)}, got {task!r}")
