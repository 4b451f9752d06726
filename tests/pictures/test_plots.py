"""The pictures (issue 11): every drawing function writes a real PNG, the ``plot`` command works on
model directories of each kind, and bad input gets a clear error.

Pictures are drawn with the Agg renderer into ``tmp_path``; no display is needed. The whole file
is skipped when matplotlib (the ``plot`` extra) is not installed.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("matplotlib")

from minitransformer import CausalLM, Encoder, record_attention  # noqa: E402
from minitransformer.cli.main import main  # noqa: E402
from minitransformer.errors import UsageError
from minitransformer.pictures import plotting  # noqa: E402
from minitransformer.pictures.plotting import plot_attention, plot_training_curves, read_metrics  # noqa: E402

# Machines without a Chinese font warn once that the characters are drawn as boxes; that is the
# documented fallback (tested below), not a problem of the test.
pytestmark = pytest.mark.filterwarnings("ignore:no font with Chinese characters")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def assert_png(path) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, f"{path} is not a PNG"
    assert len(data) > 2000, f"{path} is suspiciously small ({len(data)} bytes)"


@pytest.fixture(scope="module")
def encoder_maps():
    """Attention maps of a 2-layer, 2-head encoder on 5 tokens: {name: (1, 2, 5, 5)}."""
    torch.manual_seed(0)
    encoder = Encoder(d_model=8, nhead=2, num_layers=2, dim_feedforward=16, dropout=0.0).eval()
    with torch.no_grad(), record_attention(encoder) as maps:
        encoder(torch.randn(1, 5, 8))
    return dict(maps)


# ---------------------------------------------------------------------------- plot_attention
def test_attention_grid_with_chinese_token_labels(tmp_path, encoder_maps):
    out = plot_attention(encoder_maps, tmp_path / "deep" / "att.png", query_labels=list("我的退款呢"),
                         title="自注意力 self-attention")
    assert out == tmp_path / "deep" / "att.png"
    assert_png(out)


def test_attention_picks_layers_by_position_or_name_and_heads(tmp_path, encoder_maps):
    names = list(encoder_maps)
    assert plotting.select_layers(names, [-1]) == [names[1]]
    assert plotting.select_layers(names, ["layers.0"]) == [names[0]]
    assert plotting.select_layers(names, None) == names
    out = plot_attention(encoder_maps, tmp_path / "one.png", query_labels=list("abcde"), layers=[1],
                         heads=[0])
    assert_png(out)


def test_attention_accepts_a_single_tensor_and_a_numpy_array(tmp_path):
    weights = torch.softmax(torch.randn(2, 1, 3, 4), dim=-1)  # cross-attention: 3 queries, 4 keys
    assert_png(plot_attention(weights, tmp_path / "t.png", query_labels=["a", "b", "c"],
                              key_labels=["w", "x", "y", "z"], batch_index=1))
    assert_png(plot_attention({"m": weights.numpy()}, tmp_path / "n.png", query_labels=["a", "b", "c"],
                              key_labels=["w", "x", "y", "z"]))


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(maps={"m": torch.rand(2, 3, 3)}, query_labels=list("abc")), "(B, H, T_q, T_k)"),
    (dict(query_labels=list("abcd")), "query_labels: 4 labels"),
    (dict(query_labels=list("abcde"), key_labels=list("ab")), "key_labels: 2 labels"),
    (dict(query_labels=list("abcde"), heads=[2]), "heads: [2] out of range"),
    (dict(query_labels=list("abcde"), layers=["cross_attn"]), "layers: no attention map"),
    (dict(query_labels=list("abcde"), layers=[5]), "layers: 5 is out of range"),
    (dict(query_labels=list("abcde"), batch_index=1), "batch_index: 1 is out of range"),
    (dict(query_labels="abcde"), "expected a list of token labels"),
    (dict(maps={}, query_labels=[]), "no attention maps"),
])
def test_attention_bad_input_names_the_argument(tmp_path, encoder_maps, kwargs, fragment):
    kwargs.setdefault("maps", encoder_maps)
    with pytest.raises(ValueError) as err:
        plot_attention(kwargs.pop("maps"), tmp_path / "bad.png", **kwargs)
    assert fragment in str(err.value)
    assert not (tmp_path / "bad.png").exists()


def test_maps_of_different_sizes_must_be_drawn_separately(tmp_path):
    maps = {"encoder.self_attn": torch.rand(1, 1, 4, 4), "decoder.cross_attn": torch.rand(1, 1, 2, 4)}
    with pytest.raises(ValueError, match="draw maps with different labels separately"):
        plot_attention(maps, tmp_path / "x.png", query_labels=list("abcd"))
    assert_png(plot_attention(maps, tmp_path / "x.png", query_labels=["y1", "y2"], key_labels=list("abcd"),
                              layers=["cross"]))


def test_only_picture_file_names_are_accepted(tmp_path, encoder_maps):
    with pytest.raises(UsageError, match=r"\.png"):
        plot_attention(encoder_maps, tmp_path / "att.jpg", query_labels=list("abcde"))


def test_the_risk_models_tick_labels_are_short_and_all_different():
    """The risk model's three terminal-risk columns were all drawn as 'terminal_risk…'."""
    windows = ("1d", "7d", "30d")
    names = ["[CLS]", "hour", "amount", *(f"{group}_{w}" for group in ("customer_tx_count",
             "customer_avg_amount", "terminal_tx_count", "terminal_risk") for w in windows),
             "customer_amount_ratio_30d", *(f"prev_amount_{k}/prev_gap_{k}" for k in range(1, 9))]
    short = plotting._short_labels(names)
    assert len(set(short)) == len(names), short
    assert all(len(label) <= 14 for label in short), short
    assert short[:3] == ["[CLS]", "hour", "amount"]                  # short enough: unchanged
    assert [s for s, n in zip(short, names) if n.startswith("terminal_risk")] == [
        "term_risk_1d", "term_risk_7d", "term_risk_30d"]
    assert short[-1] == "prev_amount…_8"
    assert plotting._short_labels(["the", "cat", "the"]) == ["the", "cat", "the"]  # repeats stay repeats


@settings(max_examples=50)
@given(st.text(min_size=0, max_size=40), st.integers(min_value=5, max_value=30))
def test_a_shortened_label_fits_its_width_and_a_short_one_is_unchanged(label, width):
    short = plotting._short(label, width)
    assert len(short) <= width
    assert short == label or len(label) > width


@settings(max_examples=50)
@given(st.from_regex(r"[a-z]{3,9}(_[a-z]{3,9}){1,3}", fullmatch=True),
       st.sets(st.integers(min_value=0, max_value=999), min_size=2, max_size=8))
def test_names_that_differ_only_at_the_end_stay_apart(prefix, numbers):
    names = [f"{prefix}_{n}d" for n in sorted(numbers)]
    short = plotting._short_labels(names)
    assert len(set(short)) == len(names), (names, short)
    assert all(len(label) <= 14 for label in short)


# ---------------------------------------------------------------------------- fonts
def test_a_cjk_font_is_chosen_from_the_installed_fonts(monkeypatch):
    from matplotlib import font_manager

    def installed(*names):
        fonts = [SimpleNamespace(name=n, fname=f"/fonts/{n}.ttf") for n in names]
        monkeypatch.setattr(font_manager.fontManager, "ttflist", fonts)
        monkeypatch.setattr(font_manager, "findSystemFonts", lambda *args, **kwargs: [])  # no other file
        plotting.cjk_font.cache_clear()
        return plotting.cjk_font()

    try:
        assert installed("DejaVu Sans", "WenQuanYi Zen Hei", "Noto Sans CJK SC") == "Noto Sans CJK SC"
        assert installed("DejaVu Sans", "Some Hei Font") == "Some Hei Font"  # found by its name
        assert installed("DejaVu Sans", "STIXGeneral") is None
    finally:
        plotting.cjk_font.cache_clear()


def test_a_font_installed_after_matplotlib_built_its_font_cache_is_found(monkeypatch):
    """matplotlib lists the fonts once and caches the list: a font installed later is on disk but
    not in the list. Stand-in for the CJK font: matplotlib's own DejaVu Sans Mono, taken out of
    the list; cjk_font finds its file among the system's fonts and adds it."""
    from matplotlib import font_manager

    mono = font_manager.findfont("DejaVu Sans Mono", fallback_to_default=False)
    stale = [font for font in font_manager.fontManager.ttflist if font.name == "DejaVu Sans"]
    monkeypatch.setattr(font_manager.fontManager, "ttflist", stale)  # the list from before the install
    monkeypatch.setattr(font_manager, "findSystemFonts", lambda *args, **kwargs: [mono])
    monkeypatch.setattr(plotting, "CJK_FONTS", ("DejaVu Sans Mono",))
    plotting.cjk_font.cache_clear()
    try:
        assert plotting.cjk_font() == "DejaVu Sans Mono"
        assert mono in {font.fname for font in font_manager.fontManager.ttflist}
    finally:
        plotting.cjk_font.cache_clear()


def _cjk_font_files() -> set[str]:
    """The font files on disk with Chinese characters (Noto CJK, WenQuanYi, ...), by file name."""
    from matplotlib import font_manager

    names = ("cjk", "wqy", "droidsansfallback", "sourcehan", "uming", "ukai")
    return {path for path in font_manager.findSystemFonts()
            if any(name in Path(path).name.lower() for name in names)}


def test_chinese_labels_are_drawn_with_a_cjk_font_installed_after_the_font_cache(tmp_path, monkeypatch,
                                                                                 encoder_maps):
    """With a Chinese font on disk (e.g. 'sudo apt-get install fonts-noto-cjk') that matplotlib's
    cached font list predates, Chinese labels are drawn with it: no missing-glyph warning."""
    from matplotlib import font_manager

    paths = _cjk_font_files()
    if not paths:
        pytest.skip("no font file with Chinese characters on this machine (e.g. fonts-noto-cjk)")
    stale = [font for font in font_manager.fontManager.ttflist if font.fname not in paths]
    monkeypatch.setattr(font_manager.fontManager, "ttflist", stale)
    monkeypatch.setattr(plotting, "_cjk_warned", False)
    plotting.cjk_font.cache_clear()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            assert_png(plot_attention(encoder_maps, tmp_path / "zh.png", query_labels=list("我的退款呢")))
        assert plotting.cjk_font() is not None
        assert not [str(w.message) for w in caught if "font" in str(w.message).lower()]
    finally:
        plotting.cjk_font.cache_clear()


def test_without_a_cjk_font_chinese_labels_give_one_warning_not_one_per_glyph(tmp_path, monkeypatch,
                                                                              encoder_maps):
    monkeypatch.setattr(plotting, "cjk_font", lambda: None)
    monkeypatch.setattr(plotting, "_cjk_warned", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        plot_attention(encoder_maps, tmp_path / "a.png", query_labels=list("我的退款呢"))
        plot_attention(encoder_maps, tmp_path / "b.png", query_labels=list("再来一次吧"))
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and "no font with Chinese characters" in messages[0], messages
    assert_png(tmp_path / "b.png")


def test_with_a_cjk_font_it_follows_the_base_font(monkeypatch):
    import matplotlib

    monkeypatch.setattr(plotting, "cjk_font", lambda: "Noto Sans CJK SC")
    with plotting.text_style(["退款"]):
        assert list(matplotlib.rcParams["font.family"]) == ["DejaVu Sans", "Noto Sans CJK SC"]
    assert list(matplotlib.rcParams["font.family"]) != ["DejaVu Sans", "Noto Sans CJK SC"]  # restored


# ---------------------------------------------------------------------------- training curves
@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    """A real 3-epoch Trainer run of a linear model: its directory holds metrics.jsonl."""
    from minitransformer.training import TrainConfig, Trainer

    torch.manual_seed(0)
    x = torch.randn(32, 3)
    rows = list(zip(x, x @ torch.tensor([1.0, -2.0, 0.5])))
    run = tmp_path_factory.mktemp("run")

    def loss_fn(model, batch):
        inputs, targets = batch
        return torch.nn.functional.mse_loss(model(inputs).squeeze(-1), targets)

    def evaluate_fn(model, data):
        inputs, targets = zip(*data)
        error = model(torch.stack(inputs)).squeeze(-1) - torch.stack(targets)
        return {"loss": float((error ** 2).mean()), "mae": float(error.abs().mean())}

    config = TrainConfig(epochs=3, batch_size=8, lr=0.05, device="cpu", verbose=False, progress=False,
                         log_every=0)
    Trainer(torch.nn.Linear(3, 1), config, loss_fn=loss_fn, train_data=rows, valid_data=rows,
            evaluate_fn=evaluate_fn, out_dir=run).fit()
    return run


def test_training_curves_from_a_run_directory(tmp_path, trained_run):
    records = read_metrics(trained_run)
    assert [r["epoch"] for r in records] == [1, 2, 3]
    assert_png(plot_training_curves(trained_run, tmp_path / "curves.png", title="线性模型"))
    assert_png(plot_training_curves(trained_run / "metrics.jsonl", tmp_path / "loss.png",
                                    keys=["train_loss"]))


def test_training_curves_keep_epochs_only_and_the_last_record_of_a_repeated_epoch(tmp_path):
    lines = [{"event": "epoch", "epoch": 1, "train_loss": 2.0, "lr": 1e-3},
             {"event": "epoch", "epoch": 2, "train_loss": 9.0, "lr": 1e-3},   # interrupted, resumed:
             {"event": "epoch", "epoch": 2, "train_loss": 1.5, "lr": 5e-4},   # epoch 2 again
             {"event": "final", "best_epoch": 2}]
    path = tmp_path / "metrics.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    assert [r["train_loss"] for r in read_metrics(path)] == [2.0, 1.5]
    assert [r["train_loss"] for r in read_metrics(lines)] == [2.0, 1.5]  # a list of dicts works too
    assert_png(plot_training_curves(tmp_path, tmp_path / "c.png"))


def test_training_curves_bad_input(tmp_path):
    with pytest.raises(FileNotFoundError, match="no metrics.jsonl"):
        plot_training_curves(tmp_path, tmp_path / "c.png")
    bad = tmp_path / "metrics.jsonl"
    bad.write_text('{"epoch": 1, "train_loss": 1.0}\nnot json\n')
    with pytest.raises(ValueError, match=r"metrics.jsonl:2: not a JSON line"):
        plot_training_curves(bad, tmp_path / "c.png")
    bad.write_text('{"epoch": 1, "train_loss": 1.0}\n')
    with pytest.raises(ValueError, match=r"keys: \['valid_auc'\] not in the metrics; available: \['train_"):
        plot_training_curves(bad, tmp_path / "c.png", keys=["valid_auc"])
    bad.write_text('{"event": "final"}\n')
    with pytest.raises(ValueError, match="no epoch records"):
        plot_training_curves(bad, tmp_path / "c.png")


# ---------------------------------------------------------------------------- task pictures
def test_recommendation_history_attention(tmp_path):
    from tasks.recommendation.plot import plot_history_attention

    history = ["口红 lipstick", "面霜", "B00ABC", "B00XYZ"]
    out = plot_history_attention(tmp_path / "rec.png", history, [0.1, 0.2, 0.3, 0.4],
                                 [("B01", 3.2), ("眼霜", 2.9), ("B03", 1.0)], title="shopper 42")
    assert_png(out)
    with pytest.raises(ValueError, match="weights: expected one weight per history item"):
        plot_history_attention(tmp_path / "bad.png", history, [0.5, 0.5], [("B01", 1.0)])
    with pytest.raises(ValueError, match="recommendations"):
        plot_history_attention(tmp_path / "bad.png", history, [0.25] * 4, [])


def test_risk_curves_and_histogram(tmp_path):
    from tasks.risk.plot import plot_pr_roc, plot_score_histogram

    rng = np.random.default_rng(0)
    y = (rng.random(400) < 0.1).astype(int)  # 10 % fraud
    scores = rng.normal(size=400) + 2.0 * y
    assert_png(plot_pr_roc(tmp_path / "pr_roc.png", y, scores, threshold=1.5, title="fraud"))
    assert_png(plot_score_histogram(tmp_path / "hist.png", y, torch.tensor(scores), threshold=1.5))
    with pytest.raises(ValueError, match="both classes"):
        plot_pr_roc(tmp_path / "bad.png", np.zeros(10, dtype=int), scores[:10], 0.5)
    with pytest.raises(ValueError, match="same length"):
        plot_score_histogram(tmp_path / "bad.png", y, scores[:10], 0.5)


def test_qa_confusion_and_confidence(tmp_path):
    from tasks.qa.plot import plot_confidence, plot_confusion

    labels = ["refund", "退货", "shipping", "password"]
    y_true = ["refund", "refund", "退货", "shipping", "password", "shipping", "退货"]
    y_pred = ["refund", "退货", "退货", "shipping", None, "refund", 1]  # None: handed off, 1: an index
    assert_png(plot_confusion(tmp_path / "confusion.png", y_true, y_pred, labels, top=3))
    confidence = [0.9, 0.4, 0.8, 0.95, 0.2, 0.5, 0.7]
    correct = [t == p for t, p in zip(y_true, ["refund", "退货", "退货", "shipping", None, "refund", "退货"])]
    assert_png(plot_confidence(tmp_path / "confidence.png", confidence, correct, threshold=0.45,
                               oos=[False] * 6 + [True]))
    assert_png(plot_confidence(tmp_path / "handed.png", confidence, correct, threshold=0.45,
                               oos=[False] * 6 + [True], handed_off=[False] * 6 + [True]))
    with pytest.raises(ValueError, match="handed_off: expected 7 values"):
        plot_confidence(tmp_path / "bad.png", confidence, correct, 0.45, handed_off=[True])
    with pytest.raises(ValueError, match="y_true has 7 values but y_pred has 2"):
        plot_confusion(tmp_path / "bad.png", y_true, y_pred[:2], labels)
    with pytest.raises(ValueError, match="index 9 is outside labels"):
        plot_confusion(tmp_path / "bad.png", [9], [0], labels)
    with pytest.raises(ValueError, match="probabilities in"):
        plot_confidence(tmp_path / "bad.png", [1.5], [True], 0.5)


def test_forecast_picture(tmp_path):
    from tasks.forecasting.plot import plot_forecast

    history = np.sin(np.arange(60) / 4.0) + 5
    forecast = np.full(8, 5.0)
    assert_png(plot_forecast(tmp_path / "f.png", "S1", history, forecast, forecast - 1, forecast + 1,
                             actual=np.full(8, 5.2)))


# ---------------------------------------------------------------------------- the plot command
@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory):
    """Tiny untrained model directories of each kind the plot command knows, built directly."""
    from minitransformer.examples.digit_reversal import build_model, make_tokenizer
    from minitransformer.tokenizers import CharTokenizer
    from tasks.qa.config import IntentConfig, qa_encoder
    from tasks.qa.router.classifier import IntentClassifier
    from tasks.qa.router.router import IntentRouter
    from tasks.recommendation.config import RecommenderConfig, encoder_config
    from tasks.recommendation.data import ITEM_MAP_NAME, ItemMap
    from tasks.recommendation.model import SequentialRecommender

    root = tmp_path_factory.mktemp("models")
    torch.manual_seed(0)
    tokenizer = CharTokenizer().fit(["我的退款呢", "where is my order"])
    encoder = qa_encoder(d_model=8, nhead=2, num_layers=1, dim_feedforward=16)
    config = IntentConfig(vocab_size=tokenizer.vocab_size, encoder=encoder, num_labels=2)
    IntentRouter(IntentClassifier(config), tokenizer, ["refund", "order"]).save(root / "qa")
    recommender = SequentialRecommender(RecommenderConfig(
        num_items=5, max_len=6, encoder=encoder_config(d_model=8, nhead=2, num_layers=2, dim_feedforward=16)))
    recommender.save_pretrained(root / "rec")
    items = ItemMap()
    for token in ["A", "B", "C", "D", "E"]:
        items.add(token)
    items.save(root / "rec" / ITEM_MAP_NAME)
    digits = make_tokenizer()
    build_model(digits, d_model=8, nhead=2, num_layers=1, dim_feedforward=16).save_pretrained(root / "s2s")
    digits.save(root / "s2s")
    CausalLM(vocab_size=20, d_model=8, nhead=2, num_layers=1, dim_feedforward=16).save_pretrained(root / "lm")
    (root / "risk").mkdir()
    (root / "risk" / "config.json").write_text('{"model_type": "risk_ft_transformer"}')
    return root


def test_plot_attention_command_on_a_qa_model(tmp_path, model_dirs, capsys):
    out = tmp_path / "qa.png"
    assert main(["plot", "attention", "--model", str(model_dirs / "qa"), "--input", "我的退款呢?",
                 "--out", str(out)]) == 0
    assert_png(out)
    assert "1 attention map(s), 7 x 7 tokens" in capsys.readouterr().out  # [CLS] + 5 characters + "?"


def test_plot_attention_command_on_a_recommender(tmp_path, model_dirs, capsys):
    out = tmp_path / "rec.png"
    assert main(["plot", "attention", "--model", str(model_dirs / "rec"), "--input", "A C unknown B",
                 "--out", str(out), "--layers", "-1", "--heads", "1"]) == 0
    assert_png(out)
    assert "1 attention map(s), 3 x 3 tokens" in capsys.readouterr().out  # the unknown item left out


def test_plot_attention_command_on_an_encoder_decoder_writes_one_picture_per_kind(tmp_path, model_dirs):
    out = tmp_path / "s2s.png"
    assert main(["plot", "attention", "--model", str(model_dirs / "s2s"), "--input", "2038",
                 "--out", str(out)]) == 0
    for kind in ("encoder", "decoder", "cross"):
        assert_png(tmp_path / f"s2s-{kind}.png")
    assert main(["plot", "attention", "--model", str(model_dirs / "s2s"), "--input", "2038",
                 "--out", str(tmp_path / "only.png"), "--layers", "cross_attn"]) == 0
    assert sorted(p.name for p in tmp_path.glob("only*")) == ["only-cross.png"]


def test_plot_attention_command_on_a_causal_lm_without_tokenizer_reads_token_ids(tmp_path, model_dirs,
                                                                                  capsys):
    out = tmp_path / "lm.png"
    assert main(["plot", "attention", "--model", str(model_dirs / "lm"), "--input", "3 4 5 9",
                 "--out", str(out)]) == 0
    assert_png(out)
    assert main(["plot", "attention", "--model", str(model_dirs / "lm"), "--input", "hello"]) == 2
    assert "the input must be token ids" in capsys.readouterr().err


@pytest.mark.parametrize("argv, fragment", [
    (["--model", "{risk}", "--input", "x"], "its config.json is a 'risk_ft_transformer' model"),
    (["--model", "{tmp}", "--input", "x"], "it has no config.json"),
    (["--model", "{tmp}/missing", "--input", "x"], "model directory not found"),
    (["--model", "{rec}", "--input", "nothing known"], "none of its 2 item id(s) is known"),
    (["--model", "{qa}", "--input", "hi", "--layers", "cross_attn"], "matches none of the attention maps"),
    (["--model", "{qa}", "--input", "hi", "--out", "{tmp}/a.jpg"], "--out: expected a file name ending in"),
])
def test_plot_attention_command_errors_are_one_line(tmp_path, model_dirs, capsys, argv, fragment):
    names = dict(risk=model_dirs / "risk", tmp=tmp_path, rec=model_dirs / "rec", qa=model_dirs / "qa")
    assert main(["plot", "attention", *[a.format(**names) for a in argv]]) == 2
    err = capsys.readouterr().err
    assert err.startswith("minitransformer: error:") and err.count("\n") == 1, err
    assert fragment in err


def test_plot_curves_command(tmp_path, trained_run, capsys):
    out = tmp_path / "curves.png"
    assert main(["plot", "curves", "--run", str(trained_run), "--out", str(out)]) == 0
    assert_png(out)
    assert main(["plot", "curves", "--run", str(tmp_path)]) == 2
    assert "no metrics.jsonl in this run directory" in capsys.readouterr().err
