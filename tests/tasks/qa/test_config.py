"""The QA head's settings (tasks/qa/config.py): the defaults the benchmarks were measured with,
the nested encoder config and its JSON round trip."""

from __future__ import annotations

import json

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from minitransformer.nn.config import EncoderConfig
from tasks.qa.config import (
    BPE_MIN_VOCAB,
    IntentConfig,
    IntentSettings,
    MatchConfig,
    MatchSettings,
    ReplySettings,
    RouterSettings,
    SentenceConfig,
    check_settings,
    default_settings,
    faq_settings,
    few_label_settings,
    qa_encoder,
)
from tasks.qa.router.classifier import IntentClassifier
from tests.strategies import model_dims


def _encoder(settings) -> tuple:
    e = settings.encoder
    return e.d_model, e.nhead, e.num_layers, e.dim_feedforward, e.dropout, e.activation, e.norm_first


def test_the_defaults_are_the_measured_recipes():
    router = RouterSettings()
    assert _encoder(router) == (128, 4, 2, 512, 0.1, "gelu", True)
    assert (router.tokenizer, router.vocab_size, router.max_len, router.ngram_buckets, router.linear_expert,
            router.linear_c, router.ensemble, router.valid_fraction) == (
        "bpe", 4000, 64, 0, True, 30.0, 2, 0.1)
    assert (router.train.epochs, router.train.lr, router.train.pretrain_epochs, router.train.patience,
            router.train.label_smoothing, router.train.token_dropout) == (12, 1e-3, 3, 6, 0.1, 0.1)
    faq = faq_settings()
    assert _encoder(faq)[:3] == (128, 4, 1)
    assert (faq.ngram_buckets, faq.wide_ngrams, faq.linear_expert, faq.ensemble) == (16384, True, False, 1)
    assert (faq.train.epochs, faq.train.lr, faq.train.label_smoothing, faq.train.pretrain_epochs) == (
        25, 3e-3, 0.0, 0)
    few = few_label_settings()
    assert _encoder(few)[:3] == (128, 4, 2) and (few.linear_expert, few.train.epochs) == (False, 25)
    match = MatchSettings()
    assert _encoder(match)[:4] == (128, 4, 2, 512)
    assert (match.tokenizer, match.ngram_buckets, match.epochs, match.patience) == ("char", 16384, 4, 2)
    assert (match.architecture, match.pretrain_epochs, match.shared_tokens) == ("auto", 2, True)
    assert match.blend
    assert (match.consistency, match.whole_words) == (1.0, False)
    faq_match = default_settings("match", fmt="faq")  # the FAQ's bi-encoder keeps its recipe
    assert (faq_match.epochs, faq_match.pretrain_epochs) == (3, 0)
    assert ReplySettings() == ReplySettings(epochs=60, batch_size=32, lr=1e-3, d_model=128, num_layers=2,
                                            vocab_size=2000, num_beams=4)
    assert default_settings("intent", builtin=True) == faq
    assert default_settings("match", fmt="faq").tokenizer == "bpe"
    assert default_settings("match").tokenizer == "char"
    with pytest.raises(ValueError, match="task: expected one of"):
        default_settings("chat")


@st.composite
def intent_configs(draw) -> IntentConfig:
    dims = draw(model_dims())
    encoder = qa_encoder(d_model=dims.d_model, nhead=dims.nhead, num_layers=draw(st.integers(1, 3)),
                         dim_feedforward=draw(st.integers(1, 64)),
                         dropout=draw(st.sampled_from([0.0, 0.1])))
    return IntentConfig(vocab_size=draw(st.integers(8, 500)), encoder=encoder,
                        max_len=draw(st.integers(2, 64)), pooling=draw(st.sampled_from(["mean", "cls"])),
                        ngram_buckets=draw(st.integers(0, 99)),
                        num_labels=draw(st.integers(1, 9)), wide_ngrams=draw(st.booleans()))


@given(intent_configs())
@settings(max_examples=30, deadline=None)
def test_a_config_with_its_nested_encoder_round_trips_through_json(config):
    data = json.loads(json.dumps(config.to_dict()))
    assert data["model_type"] == "qa_intent" and data["encoder"]["d_model"] == config.encoder.d_model
    again = IntentConfig.from_dict(data)
    assert again == config and isinstance(again.encoder, EncoderConfig)


def test_a_saved_classifier_loads_from_its_config_json(tmp_path):
    encoder = qa_encoder(d_model=8, nhead=2, num_layers=1, dim_feedforward=16)
    config = IntentConfig(vocab_size=40, encoder=encoder, num_labels=3, ngram_buckets=16, wide_ngrams=True)
    model = IntentClassifier(config).eval()
    model.save_pretrained(tmp_path)
    again = IntentClassifier.from_pretrained(tmp_path).eval()
    assert again.config == config
    ids, grams = torch.tensor([[5, 9, 12]]), torch.tensor([[1, 4]])
    assert torch.equal(model(ids, grams), again(ids, grams))
    assert len(model.sentence.encoder.layers) == 1 and model.sentence.encoder.norm is not None  # pre-norm


def test_bad_settings_are_refused_with_the_field_named():
    with pytest.raises(ValueError, match="pooling: expected one of"):
        SentenceConfig(pooling="max")
    with pytest.raises(ValueError, match="ngram_buckets: expected a non-negative integer"):
        MatchConfig(ngram_buckets=-1)
    with pytest.raises(ValueError, match="encoder: expected an EncoderConfig, got dict"):
        IntentConfig(encoder={"d_model": 8})
    with pytest.raises(ValueError, match="nhead: d_model=30 must be divisible by nhead=4"):
        qa_encoder(d_model=30)
    with pytest.raises(ValueError, match=r"encoder: unknown config key\(s\) \['heads'\]"):
        IntentConfig.from_dict({"model_type": "qa_intent", "encoder": {"heads": 4}})
    with pytest.raises(ValueError, match="this is a 'qa_match' model, expected 'qa_intent'"):
        IntentConfig.from_dict(MatchConfig().to_dict())


# ---------------------------------------------------------------------------- every count and rate checked
BAD_INTS = st.sampled_from([0, -1, -10**9, 1.5, float("nan"), True, "3", None])
BAD_RATES = st.sampled_from([0.0, -1e-3, float("nan"), float("inf"), -float("inf"), "1e-3", None])


@pytest.mark.parametrize("make, field", [
    (lambda v: IntentSettings(epochs=v), "epochs"), (lambda v: IntentSettings(batch_size=v), "batch_size"),
    (lambda v: MatchSettings(epochs=v), "epochs"), (lambda v: MatchSettings(batch_size=v), "batch_size"),
    (lambda v: ReplySettings(epochs=v), "epochs"), (lambda v: ReplySettings(num_layers=v), "num_layers"),
    (lambda v: ReplySettings(num_beams=v), "num_beams"), (lambda v: RouterSettings(ensemble=v), "ensemble"),
])
@given(value=BAD_INTS)
@settings(max_examples=8, deadline=None)
def test_a_count_of_zero_or_less_is_refused_naming_it(make, field, value):
    with pytest.raises(ValueError, match=f"^{field}: expected a positive integer"):
        make(value)


@pytest.mark.parametrize("make, field", [
    (lambda v: IntentSettings(lr=v), "lr"), (lambda v: IntentSettings(pretrain_lr=v), "pretrain_lr"),
    (lambda v: MatchSettings(lr=v), "lr"), (lambda v: ReplySettings(lr=v), "lr"),
    (lambda v: RouterSettings(linear_c=v), "linear_c"),
])
@given(value=BAD_RATES)
@settings(max_examples=7, deadline=None)
def test_a_rate_that_is_not_positive_and_finite_is_refused_naming_it(make, field, value):
    with pytest.raises(ValueError, match=f"^{field}: expected a finite number > 0"):
        make(value)


def test_shares_zero_counts_and_choices_are_checked():
    with pytest.raises(ValueError, match=r"valid_fraction: expected a number in \(0, 1\)"):
        RouterSettings(valid_fraction=1.0)
    with pytest.raises(ValueError, match=r"label_smoothing: expected a number in \[0, 1\)"):
        IntentSettings(label_smoothing=1.0)
    with pytest.raises(ValueError, match="pretrain_epochs: expected an integer >= 0"):
        MatchSettings(pretrain_epochs=-1)
    assert IntentSettings(pretrain_epochs=0).pretrain_epochs == 0  # 0 means none, not a default
    with pytest.raises(ValueError, match="patience: expected a positive integer or None"):
        IntentSettings(patience=0)
    with pytest.raises(ValueError, match=r"tokenizer: expected one of \['bpe', 'char'\]"):
        MatchSettings(tokenizer="word")
    with pytest.raises(ValueError, match="vocab_size: expected an integer >= 263"):
        RouterSettings(vocab_size=100)  # byte-level BPE needs the 256 bytes and the special tokens
    assert RouterSettings(tokenizer="char", vocab_size=100).vocab_size == 100
    with pytest.raises(ValueError, match="d_model: expected a multiple of the 4 attention heads"):
        ReplySettings(d_model=30)
    with pytest.raises(ValueError, match="train: expected an IntentSettings"):
        RouterSettings(train={"epochs": 3})
    with pytest.raises(ValueError, match="config: expected RouterSettings"):
        check_settings({"epochs": 3})


def test_the_smallest_bpe_vocabulary_is_the_cores():
    from minitransformer.tokenizers.bpe import MIN_VOCAB_SIZE

    assert BPE_MIN_VOCAB == MIN_VOCAB_SIZE


def test_the_few_label_recipe_checks_its_counts_before_any_training():
    from tasks.qa.semi.recipe import semi_supervised

    call = dict(texts=["a", "b"], labels=["x", "y"], unlabelled=[], valid=(["a"], ["x"]),
                settings=few_label_settings())
    for kwargs, message in [({"rounds": -1}, "rounds: expected an integer >= 0"),
                            ({"pretrain_epochs": 1.5}, "pretrain_epochs: expected an integer >= 0"),
                            ({"threshold": 1.5}, r"threshold: expected a probability in \[0, 1\]"),
                            ({"fraction": 0.0}, r"fraction: expected a share in \(0, 1\]"),
                            ({"max_per_class": 0}, "max_per_class: expected a positive integer")]:
        with pytest.raises(ValueError, match=message):
            semi_supervised(**call, **kwargs)
