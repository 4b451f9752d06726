"""Draw every figure the documentation uses, from the real code, into docs/assets/figures/.

    .venv/bin/python docs/make_figures.py            # all figures (what `make figures` runs)
    .venv/bin/python docs/make_figures.py masks rope # only these
    make figures FIGURES=architecture                # only these, through make

Everything is seeded, runs on the CPU in well under a minute, and writes small PNGs (dpi 100).
The attention pictures come from a small encoder–decoder trained for a few seconds on the
built-in digit-reversal task (:mod:`minitransformer.examples.digit_reversal`), read out with
:func:`minitransformer.record_attention`. The KV-cache plot is a timing, so its numbers change
a little from run to run; every other figure is identical on every run.

The map of the package (``architecture``) needs no model: it is drawn from the import statements
of the source, read by ``docs/package_map.py``, in a second or two.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display needed

import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run from anywhere, without installing the package
    sys.path.insert(0, str(ROOT))

from minitransformer import (  # noqa: E402
    Encoder,
    RotaryEmbedding,
    causal_mask,
    merge_masks,
    padding_mask,
    record_attention,
)
from minitransformer.nn.positional import sinusoidal_table  # noqa: E402

OUT = Path(__file__).resolve().parent / "assets" / "figures"
DPI = 100
BLUE, ORANGE, GREEN, GREY, RED = "#1f77b4", "#ff7f0e", "#2ca02c", "#7f7f7f", "#d62728"
plt.rcParams.update({"font.size": 9, "axes.titlesize": 10, "figure.dpi": DPI,
                     "savefig.dpi": DPI, "axes.spines.top": False, "axes.spines.right": False})


def save(fig, name: str) -> Path:
    path = OUT / f"{name}.png"
    fig.savefig(path, bbox_inches="tight", pil_kwargs={"optimize": True})
    plt.close(fig)
    return path


# ----------------------------------------------------------------------------- a trained model
_TRAINED = {}


def trained_reverser():
    """A small encoder–decoder trained on digit reversal (cached for the figures that need it)."""
    if "model" not in _TRAINED:
        from minitransformer.examples.digit_reversal import train_seq2seq

        model, tokenizer, metrics = train_seq2seq(steps=220, seed=0, quick=True, progress=False,
                                                  eval_size=200, warmup_steps=30, max_minutes=None)
        _TRAINED.update(model=model.eval(), tokenizer=tokenizer, metrics=metrics)
    return _TRAINED["model"], _TRAINED["tokenizer"], _TRAINED["metrics"]


SOURCE = "305917"  # the example string the attention pictures show


def reverser_attention():
    """Every attention map of the trained model on SOURCE, teacher-forced with its reversal."""
    model, tok, _ = trained_reverser()
    src = tok.encode_batch([SOURCE]).ids  # (1, S)
    tgt_in = tok.encode_batch([SOURCE[::-1]], add_bos=True).ids  # (1, T) <bos> y
    with torch.no_grad(), record_attention(model) as maps:
        model(src, tgt_in)
    src_labels = list(SOURCE)
    tgt_labels = ["<bos>", *SOURCE[::-1]]
    return maps, src_labels, tgt_labels


def heatmap(ax, weights, x_labels, y_labels, title, cmap="Blues", vmax=1.0):
    ax.imshow(weights, cmap=cmap, vmin=0.0, vmax=vmax)
    ax.set_xticks(range(len(x_labels)), x_labels)
    ax.set_yticks(range(len(y_labels)), y_labels)
    ax.set_title(title)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)


# ----------------------------------------------------------------------------- figures
def fig_attention_scaling():
    """Why divide by √d_k: without it the softmax saturates as the width grows."""
    gen = torch.Generator().manual_seed(0)
    widths = [4, 16, 64, 256, 1024]
    scaled, unscaled = [], []
    for d in widths:
        q = torch.randn(256, 1, d, generator=gen)  # 256 queries
        k = torch.randn(256, 16, d, generator=gen)  # 16 keys each
        scores = (q @ k.transpose(-2, -1)).squeeze(1)  # (256, 16), variance d
        unscaled.append(scores.softmax(-1).amax(-1).mean().item())
        scaled.append((scores / math.sqrt(d)).softmax(-1).amax(-1).mean().item())
    fig, ax = plt.subplots(figsize=(5.2, 2.8))
    ax.plot(widths, unscaled, "o-", color=RED, label="softmax(QKᵀ)")
    ax.plot(widths, scaled, "o-", color=BLUE, label="softmax(QKᵀ / √d_k)")
    ax.axhline(1 / 16, color=GREY, ls=":", lw=1)
    ax.text(widths[0], 1 / 16 + 0.02, "uniform over 16 keys", color=GREY, fontsize=8)
    ax.set_xscale("log", base=4)
    ax.set_xticks(widths, [str(w) for w in widths])
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("d_k (query/key width)")
    ax.set_ylabel("mean largest weight")
    ax.set_title("Random q, k: how peaked is the softmax?")
    ax.legend(frameon=False, loc="center right")
    return save(fig, "attention_scaling")


def fig_cross_attention():
    maps, src_labels, tgt_labels = reverser_attention()
    weights = maps["decoder.layers.1.cross_attn"][0].mean(0)  # (T, S), mean over heads
    fig, ax = plt.subplots(figsize=(3.6, 3.4))
    heatmap(ax, weights.numpy(), src_labels, tgt_labels,
            f"cross-attention, reversing {SOURCE}")
    ax.set_xlabel("source token (key)")
    ax.set_ylabel("decoder input (query)")
    return save(fig, "cross_attention")


def fig_masks():
    t = 5
    lengths = torch.tensor([5, 3])  # two sequences, the second padded by 2
    causal = causal_mask(t)  # (T, T) True = may attend
    pad = padding_mask(lengths, max_len=t)  # (B, T) True = padding
    merged = merge_masks(causal, pad)  # (B, 1, T, T) True = may attend
    panels = [
        (causal, "causal_mask(5)\nTrue = may attend"),
        (~pad[1].expand(t, t), "padding_mask: row 2 has\nlength 3 (keys 3, 4 blocked)"),
        (merged[1, 0], "merge_masks(causal, pad)\nrow 2 of the batch"),
    ]
    fig, axes = plt.subplots(1, 3, figsize=(7.6, 2.8))
    for ax, (mask, title) in zip(axes, panels):
        heatmap(ax, mask.float().numpy(), range(t), range(t), title, cmap="Greens", vmax=1.3)
        for i in range(t):
            for j in range(t):
                ax.text(j, i, "✓" if mask[i, j] else "·", ha="center", va="center", fontsize=9)
        ax.set_xlabel("key position j")
    axes[0].set_ylabel("query position i")
    fig.tight_layout()
    return save(fig, "masks")


def fig_heads():
    maps, src_labels, _ = reverser_attention()
    weights = maps["encoder.layers.0.self_attn"][0]  # (H, S, S)
    heads = weights.size(0)
    fig, axes = plt.subplots(1, heads, figsize=(2.0 * heads, 2.3))
    for h, ax in enumerate(axes):
        heatmap(ax, weights[h].numpy(), src_labels, src_labels, f"head {h}")
    fig.suptitle("Encoder layer 0: each head attends in its own way", y=1.02)
    fig.tight_layout()
    return save(fig, "heads")


def fig_sinusoidal():
    table = sinusoidal_table(64, 64).numpy()  # (T, D)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8, 2.9), gridspec_kw={"width_ratios": [1.3, 1]})
    im = ax1.imshow(table, cmap="RdBu", vmin=-1, vmax=1, aspect="auto")
    ax1.set_xlabel("feature (sin at even, cos at odd indices)")
    ax1.set_ylabel("position")
    ax1.set_title("sinusoidal_table(64, 64)")
    fig.colorbar(im, ax=ax1, fraction=0.04)
    for i, color in zip((2, 6, 14), (BLUE, ORANGE, GREEN)):
        ax2.plot(table[:, 2 * i], color=color, label=f"feature {2 * i} (i = {i})")
    ax2.set_xlabel("position")
    ax2.set_title("slower waves for larger i")
    ax2.set_ylim(-1.1, 1.6)
    ax2.legend(frameon=False, fontsize=7, loc="upper center", ncol=2)
    fig.tight_layout()
    return save(fig, "sinusoidal")


def fig_rope():
    """Left: one feature pair rotating with position. Right: scores depend on p - p' only."""
    head_dim = 16
    rope = RotaryEmbedding(head_dim)
    gen = torch.Generator().manual_seed(0)
    q = torch.randn(1, 1, 1, head_dim, generator=gen)
    k = torch.randn(1, 1, 1, head_dim, generator=gen)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(7.6, 3.0))
    x = torch.tensor([1.0, 0.3]).repeat(head_dim // 2).view(1, 1, 1, head_dim)
    for pos in range(8):
        pair = rope(x, offset=pos)[0, 0, 0, 2:4]  # feature pair i = 1
        ax1.annotate("", xy=(pair[0], pair[1]), xytext=(0, 0),
                     arrowprops=dict(arrowstyle="->", color=plt.cm.viridis(pos / 8)))
        ax1.text(1.12 * pair[0], 1.12 * pair[1], str(pos), fontsize=8, ha="center", va="center")
    ax1.set_xlim(-1.3, 1.3)
    ax1.set_ylim(-1.3, 1.3)
    ax1.set_aspect("equal")
    ax1.set_title("pair i = 1 of one vector\nat positions 0…7")
    for start, color in zip((0, 20, 45), (BLUE, ORANGE, GREEN)):
        qs = rope(q.expand(1, 1, 1, head_dim), offset=start + 12)  # query at position start + 12
        scores = []
        for rel in range(-12, 13):
            ks = rope(k, offset=start + 12 - rel)  # key rel positions before the query
            scores.append((qs * ks).sum().item())
        ax2.plot(range(-12, 13), scores, "o-", ms=3, color=color, alpha=0.8,
                 label=f"query at position {start + 12}")
    ax2.set_xlabel("p − p′ (query position − key position)")
    ax2.set_ylabel("q·k after RoPE")
    ax2.set_title("same curve wherever the pair sits")
    ax2.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return save(fig, "rope")


def _box(ax, x, y, text, color, w=1.6, h=0.42, fontsize=8):
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.08",
                                fc=color, ec="black", lw=0.8))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)


def _arrow(ax, start, end, **kw):
    ax.annotate("", xy=end, xytext=start, arrowprops=dict(arrowstyle="->", lw=1, **kw))


def _plus(ax, x, y):
    ax.add_patch(plt.Circle((x, y), 0.13, fc="white", ec="black", lw=0.8))
    ax.text(x, y, "+", ha="center", va="center", fontsize=10)


def fig_norm_placement():
    fig, axes = plt.subplots(1, 2, figsize=(6.4, 3.6))
    norm, sub = "#fde8c8", "#cfe2f3"
    for ax, title in zip(axes, ("post-norm (norm_first=False)", "pre-norm (norm_first=True)")):
        ax.set_xlim(-1.6, 1.6)
        ax.set_ylim(-0.2, 4.6)
        ax.axis("off")
        ax.set_title(title)
        ax.text(0, 0.0, "x", ha="center", va="center", fontsize=10)
    # post-norm: x -> sublayer -> + x -> LayerNorm -> y
    ax = axes[0]
    _box(ax, 0, 1.2, "sublayer\n(attention or FFN)", sub)
    _plus(ax, 0, 2.3)
    _box(ax, 0, 3.2, "LayerNorm", norm)
    ax.text(0, 4.2, "y", ha="center", va="center", fontsize=10)
    _arrow(ax, (0, 0.15), (0, 0.98))
    _arrow(ax, (0, 1.42), (0, 2.17))
    _arrow(ax, (0, 2.43), (0, 2.98))
    _arrow(ax, (0, 3.42), (0, 4.05))
    ax.plot([0, -1.2, -1.2], [0.5, 0.5, 2.3], color="black", lw=1)
    _arrow(ax, (-1.2, 2.3), (-0.13, 2.3))
    ax.text(-1.25, 1.4, "residual", rotation=90, ha="right", va="center", fontsize=8)
    # pre-norm: x -> LayerNorm -> sublayer -> + x -> y
    ax = axes[1]
    _box(ax, 0, 1.0, "LayerNorm", norm)
    _box(ax, 0, 2.0, "sublayer\n(attention or FFN)", sub)
    _plus(ax, 0, 3.1)
    ax.text(0, 4.2, "y", ha="center", va="center", fontsize=10)
    _arrow(ax, (0, 0.15), (0, 0.78))
    _arrow(ax, (0, 1.22), (0, 1.78))
    _arrow(ax, (0, 2.22), (0, 2.97))
    _arrow(ax, (0, 3.23), (0, 4.05))
    ax.plot([0, -1.2, -1.2], [0.45, 0.45, 3.1], color="black", lw=1)
    _arrow(ax, (-1.2, 3.1), (-0.13, 3.1))
    ax.text(-1.25, 1.8, "residual stream (never normalised)", rotation=90, ha="right",
            va="center", fontsize=8)
    fig.tight_layout()
    return save(fig, "norm_placement")


def fig_residual_stream():
    """Size of the hidden state after each layer of a 12-layer stack at initialisation."""
    x = torch.randn(8, 16, 64, generator=torch.Generator().manual_seed(1))  # (B, T, D)
    fig, ax = plt.subplots(figsize=(5.2, 2.8))
    for norm_first, color, label in ((False, RED, "post-norm: every layer ends in LayerNorm"),
                                     (True, BLUE, "pre-norm: the residual stream keeps growing")):
        torch.manual_seed(0)
        encoder = Encoder(d_model=64, nhead=4, num_layers=12, dim_feedforward=256, dropout=0.0,
                          norm_first=norm_first, final_norm=False)
        h, sizes = x, [x.pow(2).mean().sqrt().item()]
        with torch.no_grad():
            for layer in encoder.layers:
                h = layer(h)
                sizes.append(h.pow(2).mean().sqrt().item())  # root mean square of (B, T, D)
        ax.plot(range(13), sizes, "o-", color=color, label=label)
    ax.set_xlabel("layers applied")
    ax.set_ylabel("RMS of the hidden state")
    ax.set_ylim(bottom=0)
    ax.set_title("12-layer Encoder at initialisation, input RMS 1")
    ax.legend(frameon=False, fontsize=8)
    return save(fig, "residual_stream")


def fig_encoder_layers():
    maps, src_labels, _ = reverser_attention()
    fig, axes = plt.subplots(1, 2, figsize=(5.0, 2.6))
    for i, ax in enumerate(axes):
        weights = maps[f"encoder.layers.{i}.self_attn"][0].mean(0)  # (S, S)
        heatmap(ax, weights.numpy(), src_labels, src_labels, f"encoder layer {i}\n(mean of heads)")
    axes[0].set_ylabel("query")
    fig.tight_layout()
    return save(fig, "encoder_layers")


def fig_decoder_attention():
    maps, src_labels, tgt_labels = reverser_attention()
    fig, axes = plt.subplots(1, 3, figsize=(8.2, 3.0))
    self_w = maps["decoder.layers.0.self_attn"][0].mean(0)  # (T, T)
    heatmap(axes[0], self_w.numpy(), tgt_labels, tgt_labels, "layer 0 masked self-attention")
    for ax, layer in zip(axes[1:], (0, 1)):
        cross = maps[f"decoder.layers.{layer}.cross_attn"][0].mean(0)  # (T, S)
        heatmap(ax, cross.numpy(), src_labels, tgt_labels, f"layer {layer} cross-attention")
        ax.set_xlabel("source (encoder memory)")
    axes[0].set_ylabel("decoder input")
    axes[0].tick_params(axis="x", labelrotation=90)
    fig.tight_layout()
    return save(fig, "decoder_attention")


def fig_encoder_decoder():
    fig, ax = plt.subplots(figsize=(7.2, 4.4))
    ax.set_xlim(0, 10)
    ax.set_ylim(0, 7.2)
    ax.axis("off")
    emb, enc, dec, out = "#e8e8e8", "#cfe2f3", "#d9ead3", "#fde8c8"
    w = 3.2
    _box(ax, 2.4, 0.5, "src ids (B, S)", "white", w)
    _box(ax, 2.4, 1.5, "embedding ·√D + positions", emb, w)
    _box(ax, 2.4, 3.0, "Encoder × N\nself-attention (padding mask)\nfeed-forward", enc, w, 1.1)
    _box(ax, 2.4, 4.6, "memory (B, S, D)", enc, w)
    _box(ax, 7.4, 0.5, "tgt_in = <bos> y₁ … (B, T)", "white", w)
    _box(ax, 7.4, 1.5, "embedding ·√D + positions", emb, w)
    _box(ax, 7.4, 3.4, "Decoder × N\nmasked (causal) self-attention\ncross-attention → memory\n"
         "feed-forward", dec, w, 1.5)
    _box(ax, 7.4, 5.2, "Linear D → V_tgt", out, w)
    _box(ax, 7.4, 6.3, "logits (B, T, V_tgt)", "white", w)
    for x in (2.4, 7.4):
        _arrow(ax, (x, 0.72), (x, 1.28))
    _arrow(ax, (2.4, 1.72), (2.4, 2.44))
    _arrow(ax, (2.4, 3.56), (2.4, 4.38))
    _arrow(ax, (7.4, 1.72), (7.4, 2.64))
    _arrow(ax, (7.4, 4.16), (7.4, 4.98))
    _arrow(ax, (7.4, 5.42), (7.4, 6.08))
    _arrow(ax, (4.0, 4.6), (5.8, 3.4), color=BLUE)
    ax.text(4.9, 4.25, "keys, values", color=BLUE, fontsize=8, rotation=-33, ha="center")
    ax.text(2.4, 5.3, "encode(): runs once per source", ha="center", fontsize=8, color=GREY)
    ax.text(7.4, 6.9, "decode(): teacher-forced, or one step at a time", ha="center", fontsize=8,
            color=GREY)
    return save(fig, "encoder_decoder")


def fig_training_curve():
    _, _, metrics = trained_reverser()
    steps, losses = zip(*metrics["losses"])
    fig, ax = plt.subplots(figsize=(4.6, 2.6))
    ax.plot(steps, losses, "o-", color=BLUE)
    ax.set_yscale("log")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("training loss")
    settings = metrics["settings"]
    ax.set_title(f"Reversing {settings['min_len']}–{settings['max_len']} digits, {metrics['steps']} steps: "
                 f"{100 * metrics['exact_match']:.0f}% held-out exact match", fontsize=9)
    return save(fig, "training_curve")


def fig_kv_cache():
    from minitransformer.generation import generate
    from minitransformer.nn.language_model import CausalLM

    torch.manual_seed(0)
    model = CausalLM(vocab_size=64, d_model=128, nhead=4, num_layers=2, dim_feedforward=512,
                     dropout=0.0, max_len=256).eval()
    prompt = torch.tensor([[1, 10, 11, 12]]).repeat(4, 1)  # (B=4, 4)
    generate(model, input_ids=prompt, max_new_tokens=8)  # warm-up: first calls are slow
    lengths = [24, 48, 96, 192]
    timings = {True: [], False: []}
    for n in lengths:
        for use_cache in (True, False):
            start = time.process_time()  # CPU time: steadier than wall time on a busy machine
            generate(model, input_ids=prompt, max_new_tokens=n, min_new_tokens=n, use_cache=use_cache)
            timings[use_cache].append(time.process_time() - start)
    fig, ax = plt.subplots(figsize=(5.0, 2.8))
    ax.plot(lengths, timings[False], "o-", color=RED, label="use_cache=False: whole prefix every step")
    ax.plot(lengths, timings[True], "o-", color=BLUE, label="use_cache=True: one new token per step")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(lengths, [str(n) for n in lengths])
    ax.set_xlabel("generated tokens")
    ax.set_ylabel("CPU seconds")
    speedup = timings[False][-1] / timings[True][-1]
    ax.set_title(f"Greedy generation, 2-layer CausalLM, D = 128:\n"
                 f"the cache is ×{speedup:.0f} faster at {lengths[-1]} tokens")
    ax.legend(frameon=False, fontsize=7)
    return save(fig, "kv_cache")


def fig_sampling():
    from minitransformer.generation import top_k_filter, top_p_filter

    logits = torch.tensor([3.0, 2.4, 2.0, 1.2, 0.8, 0.5, 0.1, -0.3, -0.8, -1.5])
    panels = [
        ("temperature 1", logits),
        ("temperature 0.5", logits / 0.5),
        ("temperature 2", logits / 2.0),
        ("top-k, k = 3", top_k_filter(logits, 3)),
        ("top-p, p = 0.8", top_p_filter(logits, 0.8)),
    ]
    fig, axes = plt.subplots(1, len(panels), figsize=(9.0, 2.0), sharey=True)
    for ax, (title, values) in zip(axes, panels):
        probs = values.softmax(-1).numpy()
        colors = [BLUE if p > 0 else GREY for p in probs]
        ax.bar(range(len(probs)), probs, color=colors)
        ax.set_title(title)
        ax.set_xticks([0, 9], ["0", "9"])
        ax.set_xlabel("token")
    axes[0].set_ylabel("probability")
    fig.tight_layout()
    return save(fig, "sampling")


def fig_objectives():
    from minitransformer.training.masking import mask_tokens

    words = ["the", "cat", "sat", "on", "a", "warm", "mat", "today"]
    vocab = ["<pad>", "<bos>", "<eos>", "<unk>", "<mask>", "<cls>", "<sep>", *words, "dog", "ran"]
    ids = torch.tensor([[vocab.index(w) for w in words]])  # (1, T)
    masked, labels = mask_tokens(ids, mask_id=4, vocab_size=len(vocab), mask_prob=0.4,
                                 special_ids=range(7), generator=torch.Generator().manual_seed(3))
    fig, axes = plt.subplots(2, 1, figsize=(7.6, 3.2))
    t = len(words)

    def row(ax, y, tokens, colors, label):
        ax.text(-0.6, y, label, ha="right", va="center", fontsize=8)
        for j, (tok, color) in enumerate(zip(tokens, colors)):
            _box(ax, j, y, tok, color, w=0.9, h=0.5, fontsize=8)

    ax = axes[0]
    ax.set_title("next-token (CausalLM, next_token_loss): the target is the input shifted left",
                 fontsize=9)
    row(ax, 1, words, ["#cfe2f3"] * t, "input")
    row(ax, 0, [*words[1:], "—"], ["#d9ead3"] * (t - 1) + ["white"], "target")
    for j in range(t - 1):
        _arrow(ax, (j + 0.9, 0.72), (j + 0.1, 0.28), color=GREY)  # target t = input t + 1
    ax = axes[1]
    ax.set_title("masked-token (mask_tokens): predict the original at the selected positions",
                 fontsize=9)
    tokens, colors = [], []
    for j in range(t):
        tokens.append(vocab[masked[0, j]])
        if labels[0, j] == -100:
            colors.append("#cfe2f3")
        elif masked[0, j] == 4:
            colors.append("#fde8c8")
        else:
            colors.append("#f4cccc")
    row(ax, 1, tokens, colors, "input")
    row(ax, 0, [vocab[i] if i != -100 else "·" for i in labels[0].tolist()],
        ["#d9ead3" if i != -100 else "white" for i in labels[0].tolist()], "label")
    ax.text(t - 0.5, -0.5, "orange: replaced by <mask>   red: replaced by a random token   "
            "·: not selected (label −100, ignored by the loss)", ha="right", fontsize=7, color=GREY)
    for ax in axes:
        ax.set_xlim(-2.2, t - 0.4)
        ax.set_ylim(-0.5, 1.5)
        ax.axis("off")
    fig.tight_layout()
    return save(fig, "objectives")


def fig_pseudo_labels():
    from minitransformer.training.semi_supervised import select_pseudo_labels, self_train

    gen = torch.Generator().manual_seed(0)
    n = 200
    angle = torch.rand(n, generator=gen) * math.pi
    moon_a = torch.stack([angle.cos(), angle.sin()], 1)
    moon_b = torch.stack([1 - angle.cos(), 0.5 - angle.sin()], 1)
    points = torch.cat([moon_a, moon_b]) + 0.12 * torch.randn(2 * n, 2, generator=gen)  # (400, 2)
    truth = torch.cat([torch.zeros(n, dtype=torch.long), torch.ones(n, dtype=torch.long)])
    labelled = torch.tensor([3, 50, 120, 190, 210, 260, 330, 399])  # 8 labelled rows
    unlabelled = torch.tensor([i for i in range(2 * n) if i not in set(labelled.tolist())])

    def features(x):  # a small fixed feature map so a linear classifier can bend
        return torch.cat([x, x**2, x[:, :1] * x[:, 1:], torch.sin(2 * x)], 1)

    def train_fn(rows, row_labels, previous):
        torch.manual_seed(0)
        model = torch.nn.Linear(7, 2)
        optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
        for _ in range(200):
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(features(points[rows])), row_labels)
            loss.backward()
            optimizer.step()
        return model

    def predict_fn(model, rows):
        with torch.no_grad():
            return model(features(points[rows])).softmax(-1)

    boundaries = []

    def recording_train(rows, row_labels, previous):
        model = train_fn(rows, row_labels, previous)
        boundaries.append(model)
        return model

    result = self_train(recording_train, predict_fn, labelled, truth[labelled], unlabelled,
                        rounds=2, threshold=0.9, class_balance=True)
    xx, yy = torch.meshgrid(torch.linspace(-1.5, 2.5, 120), torch.linspace(-1.0, 1.6, 80), indexing="xy")
    grid = torch.stack([xx.flatten(), yy.flatten()], 1)
    fig, axes = plt.subplots(1, 2, figsize=(8.0, 2.9), sharey=True)
    for ax, model, title in ((axes[0], boundaries[0], "labelled rows only"),
                             (axes[1], boundaries[-1], "after 2 rounds of self-training")):
        with torch.no_grad():
            p = model(features(grid)).softmax(-1)[:, 1].view(xx.shape)
        accuracy = (predict_fn(model, unlabelled).argmax(-1) == truth[unlabelled]).float().mean()
        ax.contourf(xx, yy, p, levels=[0, 0.5, 1], colors=["#dbe9f6", "#fde8c8"], alpha=0.8)
        ax.scatter(points[unlabelled, 0], points[unlabelled, 1], s=5, c=GREY, alpha=0.5)
        ax.scatter(points[labelled, 0], points[labelled, 1], s=60, marker="*",
                   c=[BLUE if y == 0 else ORANGE for y in truth[labelled]], edgecolors="black")
        ax.set_title(f"{title}\n{100 * accuracy:.0f}% correct on the unlabelled rows", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    rows, pseudo = select_pseudo_labels(predict_fn(boundaries[-2], unlabelled), 0.9, class_balance=True)
    axes[1].scatter(points[unlabelled[rows], 0], points[unlabelled[rows], 1], s=6,
                    c=[BLUE if y == 0 else ORANGE for y in pseudo])
    counts = ", ".join(str(r["pseudo_labels"]) for r in result.rounds)
    axes[1].text(-1.4, -0.9, f"pseudo-labels per round: {counts} (coloured dots: the last round's)",
                 fontsize=7)
    fig.tight_layout()
    return save(fig, "pseudo_labels")



# ----------------------------------------------------------------------------- task tutorials
CORE_COLOUR, TASK_COLOUR, DATA_COLOUR = "#cfe2f3", "#fde8c8", "white"


def _task_diagram(stages, also_core, height=4.6):
    """A bottom-to-top data flow of one task head: which boxes are the core's, which the task's.

    ``stages``: rows from the input (bottom) to the output (top); a row is ``(text, colour)`` or
    a list of them (boxes side by side). ``also_core``: lines for the side note listing the
    core pieces used around the model (training, metrics...).
    """
    fig, ax = plt.subplots(figsize=(9.0, height))
    rows = len(stages)
    top = rows * 1.0 + 0.3
    ax.set_xlim(0, 10.6)
    ax.set_ylim(0, top + 0.6)
    ax.axis("off")
    centre, width = 3.55, 6.9
    previous = None
    for i, stage in enumerate(stages):
        boxes = stage if isinstance(stage, list) else [stage]
        y = 0.5 + i * 1.0
        w = (width - 0.2 * (len(boxes) - 1)) / len(boxes)
        xs = [centre - width / 2 + w / 2 + k * (w + 0.2) for k in range(len(boxes))]
        for x, (text, colour) in zip(xs, boxes):
            _box(ax, x, y, text, colour, w, 0.66, fontsize=7.5 if len(boxes) == 1 else 7)
        if previous is not None:
            for x0 in previous[0]:
                for x1 in xs:
                    if len(previous[0]) == 1 or len(xs) == 1 or x0 == x1:
                        _arrow(ax, (x0, previous[1] + 0.33), (x1, y - 0.33))
        previous = (xs, y)
    ax.add_patch(FancyBboxPatch((7.25, 0.2), 3.3, top - 0.4, boxstyle="round,pad=0.02,rounding_size=0.1",
                                fc=CORE_COLOUR, ec=GREY, lw=0.6, alpha=0.5))
    ax.text(8.9, top - 0.45, "also from the core", ha="center", va="center", fontsize=8, weight="bold")
    lines = [line if line.startswith(" ") else f"• {line}" for line in also_core]  # "  ...": continued
    ax.text(7.4, top - 0.75, "\n".join(lines), ha="left", va="top",
            fontsize=7.2, linespacing=1.45)
    for k, (colour, label) in enumerate(((CORE_COLOUR, "core (minitransformer/)"),
                                         (TASK_COLOUR, "task head (tasks/...)"))):
        ax.add_patch(FancyBboxPatch((0.3 + 3.2 * k, top + 0.12), 0.35, 0.25, boxstyle="round,pad=0.01",
                                    fc=colour, ec="black", lw=0.6))
        ax.text(0.75 + 3.2 * k, top + 0.245, label, va="center", fontsize=8)
    return fig


def fig_risk_model():
    fig = _task_diagram([
        ("a table row: numbers, categories, month-by-month column groups", DATA_COLOUR),
        [("numeric column $j$\n$z_j W_j + b_j$", TASK_COLOUR),
         ("categorical column $j$\n$E_j[\\mathrm{id}_j] + b_j$ (0: unknown)", TASK_COLOUR),
         ("history step $t$\n$\\Sigma_g (z_{g,t} W_g + b_g) + P_t$", TASK_COLOUR)],
        ("tokens [CLS], columns, steps   (B, T, D)", TASK_COLOUR),
        ("Encoder × 3 (pre-norm): every feature attends to every other", CORE_COLOUR),
        ("[CLS] output → ReLU → Linear → logit   (B,)", TASK_COLOUR),
        ("score ≥ threshold? (chosen on validation: cost, precision or F1)", CORE_COLOUR),
    ], ["Trainer: early stopping, checkpoints,", "   time budget", "save_pretrained / from_pretrained",
        "roc_auc, average_precision,", "   choose_threshold, expected_cost",
        "distill / self_train (pseudo-labels)", "record_attention (explain)"])
    return save(fig, "risk_model")


def fig_qa_model():
    fig = _task_diagram([
        ("a question, in English or Chinese", DATA_COLOUR),
        ("BPETokenizer → [CLS] t₁ … tₙ   (B, T)", CORE_COLOUR),
        ("TokenEmbedding · √D + LearnedPositionalEmbedding", CORE_COLOUR),
        ("Encoder (pre-norm, padding mask)   (B, T, D)", CORE_COLOUR),
        ("mean pooling + bag of hashed n-grams → sentence vector   (B, D)", TASK_COLOUR),
        [("intent: Linear → softmax;\nmax p ≤ τ → a human", TASK_COLOUR),
         ("matching: [u, v, |u−v|, u⊙v]\n→ MLP: same question?", TASK_COLOUR)],
    ], ["Trainer: early stopping, best epoch", "mask_tokens (masked-token", "   pretraining)",
        "self_train (few labels)", "accuracy, macro_f1, roc_auc,", "   choose_threshold",
        "CharTokenizer (Chinese matching)", "Transformer + generate: the replies",
        "   head, its own encoder–decoder", "   with beam search"], height=4.9)
    return save(fig, "qa_model")


def fig_forecast_model():
    fig = _task_diagram([
        ("a product's last C weekly sales (padded with a mask when shorter)", DATA_COLOUR),
        ("instance normalisation: z = (x − μ) / s, undone on the output", TASK_COLOUR),
        ("patches of 8 weeks → Linear → tokens   (B, C/8, D)", TASK_COLOUR),
        ("+ LearnedPositionalEmbedding", CORE_COLOUR),
        ("Encoder × 2 (pre-norm, empty patches masked)", CORE_COLOUR),
        ("flatten → Linear → all H weeks at once (P10, P50, P90 optional)", TASK_COLOUR),
        ("median of 3 members (different seeds and contexts)", TASK_COLOUR),
    ], ["Trainer: early stopping,", "   checkpoints, time budget", "mae, rmse, smape, mase, owa,",
        "   pinball_loss (metrics.forecasting)", "save_pretrained / from_pretrained",
        "masked patch pretraining uses", "   the same Encoder"], height=5.3)
    return save(fig, "forecast_model")


def fig_recommendation_model():
    fig = _task_diagram([
        ("a shopper's history: item ids, oldest first, left-padded   (B, T)", DATA_COLOUR),
        ("item embedding E (0 = padding, N+1 = [MASK])", TASK_COLOUR),
        ("+ LearnedPositionalEmbedding (counted from the most recent item)", CORE_COLOUR),
        [("Encoder × 2, causal mask\n(SASRec: predicts the next item)", CORE_COLOUR),
         ("Encoder × 2, no mask, [MASK] items\n(BERT4Rec: fills in the blanks)", CORE_COLOUR)],
        ("scores = H_last · Eᵀ (tied): one score per item   (B, N)", TASK_COLOUR),
        ("top-k, items already bought left out", TASK_COLOUR),
    ], ["Trainer: early stopping on", "   validation NDCG@10", "causal_mask, mask_tokens",
        "hit_rate_at_k, ndcg_at_k, mrr", "   (metrics.ranking)", "save_pretrained / from_pretrained",
        "record_attention (why this item?)"], height=5.0)
    return save(fig, "recommendation_model")



def trained_risk_model():
    """The small simulated-fraud model of docs/tasks/risk.md (same data, settings and seed), with
    its scores on the ten test days (cached)."""
    if "risk" not in _TRAINED:
        import tempfile

        import tasks.risk
        from tasks.risk.config import RiskTrainConfig, risk_encoder
        from tasks.risk.data import Table, read_table
        from tasks.risk.synthetic import SimulatorConfig, write_transactions

        with tempfile.TemporaryDirectory() as tmp:
            write_transactions(Path(tmp) / "tx.csv", SimulatorConfig(customers=200, days=40, seed=0))
            table = read_table(Path(tmp) / "tx.csv")
            day = table.columns.index("day")
            train = Table(table.columns, [row for row in table.rows if int(row[day]) < 30])
            test = Table(table.columns, [row for row in table.rows if int(row[day]) >= 30])
            drop = ["transaction_id", "fraud_scenario", "customer_id", "terminal_id", "day"]
            config = RiskTrainConfig(encoder=risk_encoder(d_model=32, nhead=4, num_layers=1), epochs=6,
                                     batch_size=128, lr=3e-3)
            model = tasks.risk.train(train, Path(tmp) / "run", config, target="is_fraud", drop=drop,
                                     device="cpu", verbose=False).model
            data = model.encode(test, require_target=True)
            _TRAINED["risk"] = (data.labels, model.score(data), model.threshold)
    return _TRAINED["risk"]


def fig_risk_pr_curve():
    from tasks.risk.plot import plot_pr_roc

    labels, scores, threshold = trained_risk_model()
    return plot_pr_roc(OUT / "risk_pr_curve.png", labels, scores, threshold,
                       title="Simulated card fraud, days 30-39 (the tutorial's small model)")


def trained_faq_router():
    """``qa train --data builtin`` (the CLI preset, seed 0) and its decisions on the held-out
    questions of the built-in FAQ (cached)."""
    if "faq" not in _TRAINED:
        import tempfile

        import tasks.qa as qa
        from tasks.qa.config import faq_settings
        from tasks.qa.synthetic import faq_split

        _, test = faq_split()
        router = qa.train("builtin", tempfile.mkdtemp(), faq_settings(), seed=0, device="cpu",
                          verbose=False).model
        _TRAINED["faq"] = (router, test, qa.predict(router, [q for q, _ in test]))
    return _TRAINED["faq"]


def fig_qa_confusion():
    from tasks.qa.plot import plot_confusion

    router, test, decisions = trained_faq_router()
    shop = [i for i, (_, intent) in enumerate(test) if intent != "oos"]
    return plot_confusion(OUT / "qa_confusion.png", [test[i][1] for i in shop],
                          [decisions[i]["intent"] for i in shop], router.labels, top=12,
                          title="Built-in FAQ: the 192 held-out shop questions (qa train --data builtin)")


def fig_qa_confidence():
    from tasks.qa.plot import plot_confidence

    router, test, decisions = trained_faq_router()
    # shop questions only: an out-of-scope question whose top class is "oos" is handed off
    # whatever its confidence, which a histogram of confidences cannot show
    shop = [(d, intent) for d, (_, intent) in zip(decisions, test) if intent != "oos"]
    return plot_confidence(OUT / "qa_confidence.png", [d["confidence"] for d, _ in shop],
                           [d["top_intent"] == intent for d, intent in shop], router.threshold,
                           title="Built-in FAQ, the 192 held-out shop questions: where the hand-off cuts")



def fig_recommendation_attention():
    """The small SASRec of docs/tasks/recommendation.md (same shop, settings and seed) on its
    example shopper: the attention of the last position in layer 0 and the top five items."""
    import tempfile

    import tasks.recommendation as rec
    from tasks.recommendation.data import load_split
    from tasks.recommendation.plot import plot_history_attention
    from tasks.recommendation.synthetic import ShopConfig, bundle_partner, write_purchases

    shop = ShopConfig(users=1500, seed=0)
    config = rec.RecommenderConfig(max_len=25, encoder=rec.encoder_config(d_model=64, nhead=2, num_layers=2,
                                                                          dim_feedforward=128, dropout=0.1))
    settings = rec.TrainSettings(epochs=12, lr=5e-3, warmup_steps=20, patience=None, batch_size=64,
                                 eval_users=500, final_epochs=0)
    with tempfile.TemporaryDirectory() as tmp:
        write_purchases(Path(tmp) / "purchases.csv", shop)
        split = load_split(Path(tmp) / "purchases.csv")
        model = rec.train(split, Path(tmp) / "model", config, settings=settings, device="cpu",
                          verbose=False).model
    config = model.config
    name = split.item_map.token
    for history, target in zip(split.test.inputs, split.test.targets):
        if len(history) >= 5 and bundle_partner(name(history[-2]), shop) == (name(history[-1]), name(target)):
            break
    with torch.no_grad(), record_attention(model) as maps:
        scores = model.next_item_scores([history])[0]  # (N + 2,)
    scores[0] = scores[config.mask_id] = float("-inf")
    scores[torch.tensor(history)] = float("-inf")
    top = torch.topk(scores, 5)
    shown = history[-config.max_len:]
    weights = maps["encoder.layers.0.self_attn"][0, :, -1].mean(0)  # (T,) last position, mean of heads
    return plot_history_attention(
        OUT / "recommendation_attention.png", [name(i) for i in shown], weights,
        [(name(int(i)), float(v)) for v, i in zip(top.values, top.indices)],
        title=f"Simulated shop: what comes after {name(shown[-2])}, {name(shown[-1])}? "
              f"(bought next: {name(target)}; attention of layer 0)")



def fig_forecast_band():
    """The model of docs/tasks/forecasting.md (same simulated shop, settings and seed) on the best
    seller among the Christmas products (the winter season profile), whose peak is held out."""
    import tempfile

    import numpy as np

    import tasks.forecasting
    from tasks.forecasting.config import ForecastSettings
    from tasks.forecasting.data import load_series
    from tasks.forecasting.plot import plot_forecast
    from tasks.forecasting.synthetic import SalesConfig, simulate_sales, write_sales

    shop = SalesConfig(products=100, weeks=156, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_sales(folder / "sales.csv", shop, holdout=13)
        train, test = load_series(folder / "sales.csv"), load_series(folder / "sales_test.csv")
        settings = ForecastSettings(horizon=13, context=104, members=1, epochs=3, lr=3e-3, refit=False,
                                    quantiles=[0.1, 0.5, 0.9])
        run = tasks.forecasting.train(train, folder / "model", settings, seed=0, device="cpu", verbose=False)
    future = dict(zip(test.ids, test.covariates))
    quantiles = tasks.forecasting.predict(run.model, train, future=future).values  # (S, H, Q)
    winter = [k for k, profile in enumerate(simulate_sales(shop)["profile"]) if profile == "winter"]
    i = max(winter, key=lambda k: train.values[k][-52:].mean())
    return plot_forecast(OUT / "forecast_band.png", train.ids[i], train.values[i], quantiles[i, :, 1],
                         quantiles[i, :, 0], quantiles[i, :, 2], np.asarray(test.values[i]), show_last=104)


# ----------------------------------------------------------------------------- the package
ARCH_COLOURS = {"cli": "#e0e0e0", "demo": "#e8dcf2", "head": TASK_COLOUR, "core": "#d9ead3",
                "nn": CORE_COLOUR}
ARCH_INK = {"cli": "#555555", "demo": "#7d4fa8", "head": "#c77a1c", "core": "#3f7f32"}  # by where they start
ARCH_WIDTH, ARCH_BOX_W, ARCH_BOX_H, ARCH_ROW_H = 11.0, 1.8, 0.6, 1.3
ARCH_LANE, ARCH_PORT = 0.09, 0.12  # least distance between arrows passing a gap / leaving a box


def _arch_order(rows, arrows, sweeps=4):
    """Order the boxes of each row so that fewer arrows cross: each box moves to the mean position
    of the boxes it is linked with in the row above (then, next sweep, below): the barycentre
    heuristic of layered drawings."""
    rows = [sorted(row) for row in rows]

    def slot(box, row):  # 0..1 across the row
        return (row.index(box) + 0.5) / len(row)

    def pull(box, row, near):
        linked = [slot(other, near) for a, b in arrows for this, other in ((a, b), (b, a))
                  if this == box and other in near]
        return sum(linked) / len(linked) if linked else slot(box, row)

    for sweep in range(sweeps):
        downwards = sweep % 2 == 0
        for r in range(len(rows) - 2, -1, -1) if downwards else range(1, len(rows)):
            row, near = rows[r], rows[r + 1] if downwards else rows[r - 1]
            rows[r] = sorted(row, key=lambda box, row=row, near=near: pull(box, row, near))
    return rows


def _arch_y(row: int) -> float:
    return 0.6 + row * ARCH_ROW_H


def _arch_layout(rows):
    """``{box: (x centre, y centre, width)}``: equal slots across the figure; the command line wide."""
    place = {}
    for r, row in enumerate(rows):
        for i, box in enumerate(row):
            width = ARCH_WIDTH - 0.4 if box == "cli" else ARCH_BOX_W
            place[box] = ((i + 0.5) * ARCH_WIDTH / len(row), _arch_y(r), width)
    return place


def _arch_lanes(arrows, rows, place):
    """Where each arrow passes the rows between its two boxes: ``{arrow: {row: x}}``, in the free
    space of the row nearest to the straight line between the box centres; arrows that share a
    space keep their order and at least ``ARCH_LANE`` between them."""
    row_of = {box: r for r, row in enumerate(rows) for box in row}
    wanted = {}  # (row, gap) -> [(ideal x, arrow)]
    for a, b in arrows:
        (xa, ya, _), (xb, yb, _) = place[a], place[b]
        top, bottom = max(row_of[a], row_of[b]), min(row_of[a], row_of[b])
        for r in range(top - 1, bottom, -1):
            ideal = xa + (xb - xa) * (ya - _arch_y(r)) / (ya - yb)  # on the straight line
            edges = [0.0] + [place[box][0] + side * place[box][2] / 2 for box in rows[r]
                             for side in (-1, 1)] + [ARCH_WIDTH]
            gaps = list(zip(edges[::2], edges[1::2]))  # (left, right) of the free spaces of row r
            gap = min(gaps, key=lambda g: max(g[0] - ideal, ideal - g[1], 0.0))  # 0 inside
            wanted.setdefault((r, gap), []).append((ideal, (a, b)))
    lanes = {arrow: {} for arrow in arrows}
    for (r, (left, right)), users in wanted.items():
        users.sort()
        inset = min(0.25, (right - left) / 4)
        xs = _spread([x for x, _ in users], left + inset, right - inset, ARCH_LANE)
        for x, (_, arrow) in zip(xs, users):
            lanes[arrow][r] = x
    return lanes


def _spread(ideal, low, high, gap):
    """``ideal`` (sorted) moved as little as this simple rule allows to lie in ``[low, high]`` and
    ``gap`` apart (closer when they do not fit): pushed right past their left neighbours, then
    left where that ran past ``high``."""
    if len(ideal) > 1:
        gap = min(gap, (high - low) / (len(ideal) - 1))
    xs = []
    for x in ideal:
        xs.append(max(min(max(x, low), high), xs[-1] + gap if xs else low))
    for k in range(len(xs) - 1, -1, -1):
        xs[k] = min(xs[k], xs[k + 1] - gap if k + 1 < len(xs) else high)
    return xs


def _arch_ports(arrows, place, lanes, row_of):
    """Where each arrow leaves and enters its boxes: ``{(arrow, "out" or "in"): x}``, spread
    along the edge (bottom going down, top going up) in the order of where the arrows go."""
    ends = {}  # (box, "top" or "bottom") -> [(x the arrow heads for, arrow, "out" or "in")]
    for a, b in arrows:
        down = row_of[a] > row_of[b]
        passed = [lanes[(a, b)][r] for r in sorted(lanes[(a, b)], reverse=down)]  # in travel order
        ends.setdefault((a, "bottom" if down else "top"), []).append(
            (passed[0] if passed else place[b][0], (a, b), "out"))
        ends.setdefault((b, "top" if down else "bottom"), []).append(
            (passed[-1] if passed else place[a][0], (a, b), "in"))
    ports = {}
    for (box, _), users in ends.items():
        x, _, width = place[box]
        users.sort()
        xs = _spread([goal for goal, _, _ in users], x - 0.4 * width, x + 0.4 * width, ARCH_PORT)
        for port, (_, arrow, end) in zip(xs, users):
            ports[arrow, end] = port
    return ports


def _arch_path(points):
    """A smooth path through ``points`` (top to bottom or bottom to top), vertical at each point."""
    from matplotlib.path import Path as MplPath

    vertices, codes = [points[0]], [MplPath.MOVETO]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        bend = (y1 - y0) / 2
        vertices += [(x0, y0 + bend), (x1, y1 - bend), (x1, y1)]
        codes += [MplPath.CURVE4] * 3
    return MplPath(vertices, codes)


def fig_architecture():
    """The package's parts in layers and the import arrows between them, as docs/package_map.py
    reads them from the source: every arrow that exists is drawn, routed through the gaps of the
    rows it passes; one pointing up (it should not) is red and dashed."""
    from docs.package_map import CAPTIONS, import_arrows, is_head, layers, upward_arrows

    arrows = import_arrows(ROOT)
    rows = _arch_order(layers(arrows, ROOT), arrows)
    place = _arch_layout(rows)
    row_of = {box: r for r, row in enumerate(rows) for box in row}
    up = {tuple(arrow.split(" -> ")) for arrow in upward_arrows(arrows, ROOT)}
    lanes = _arch_lanes(list(arrows), rows, place)
    ports = _arch_ports(list(arrows), place, lanes, row_of)
    top = _arch_y(len(rows) - 1) + 0.7
    fig, ax = plt.subplots(figsize=(ARCH_WIDTH, top + 1.1))
    ax.set_xlim(0, ARCH_WIDTH)
    ax.set_ylim(-1.1, top)
    ax.axis("off")

    def group(box):
        if box in ("cli", "demo", "nn"):
            return box
        return "head" if is_head(box, ROOT) else "core"

    for box, (x, y, width) in place.items():
        ax.add_patch(FancyBboxPatch((x - width / 2, y - ARCH_BOX_H / 2), width, ARCH_BOX_H,
                                    boxstyle="round,pad=0.02,rounding_size=0.08", fc=ARCH_COLOURS[group(box)],
                                    ec="black", lw=1.4 if box == "nn" else 0.8, zorder=3))
        ax.text(x, y, CAPTIONS.get(box, box), ha="center", va="center", fontsize=8, zorder=4,
                weight="bold" if box == "nn" else None)
    for (a, b), weight in arrows.items():
        (_, ya, _), (_, yb, _) = place[a], place[b]
        down = row_of[a] > row_of[b]
        sign = -1 if down else 1  # leave through the bottom edge going down, the top going up
        points = [(ports[(a, b), "out"], ya + sign * ARCH_BOX_H / 2)]
        for r in sorted(lanes[(a, b)], reverse=down):  # through the gaps of the rows passed
            x, y = lanes[(a, b)][r], _arch_y(r)
            points += [(x, y - sign * ARCH_BOX_H / 2), (x, y + sign * ARCH_BOX_H / 2)]
        points.append((ports[(a, b), "in"], yb - sign * ARCH_BOX_H / 2))
        bad = (a, b) in up
        ax.add_patch(FancyArrowPatch(path=_arch_path(points), arrowstyle="-|>", mutation_scale=9,
                                     lw=0.6 + 0.4 * math.log2(weight), linestyle="--" if bad else "-",
                                     color=RED if bad else ARCH_INK[group(a)], alpha=0.9 if bad else 0.6,
                                     zorder=2 if bad else 1))
    note = ("A → B: a module of A imports a module of B (thicker: more modules); arrows take the colour "
            "of the box they leave.\nOrange: the task heads (tasks/); green and blue: the core "
            "(minitransformer/). Drawn from the import statements by docs/package_map.py.")
    if up:
        note += f"\nRed, dashed: pointing up ({', '.join(sorted(f'{a} → {b}' for a, b in up))})."
    ax.text(0.2, -0.2, note, fontsize=8, color="#444444", va="top", linespacing=1.5)
    ax.set_title("How the package is built: who imports whom", fontsize=11)
    return save(fig, "architecture")


FIGURES = {
    "attention_scaling": fig_attention_scaling,
    "cross_attention": fig_cross_attention,
    "masks": fig_masks,
    "heads": fig_heads,
    "sinusoidal": fig_sinusoidal,
    "rope": fig_rope,
    "norm_placement": fig_norm_placement,
    "residual_stream": fig_residual_stream,
    "encoder_layers": fig_encoder_layers,
    "decoder_attention": fig_decoder_attention,
    "encoder_decoder": fig_encoder_decoder,
    "training_curve": fig_training_curve,
    "kv_cache": fig_kv_cache,
    "sampling": fig_sampling,
    "objectives": fig_objectives,
    "pseudo_labels": fig_pseudo_labels,
    "risk_model": fig_risk_model,
    "qa_model": fig_qa_model,
    "risk_pr_curve": fig_risk_pr_curve,
    "qa_confusion": fig_qa_confusion,
    "qa_confidence": fig_qa_confidence,
    "recommendation_model": fig_recommendation_model,
    "recommendation_attention": fig_recommendation_attention,
    "forecast_model": fig_forecast_model,
    "forecast_band": fig_forecast_band,
    "architecture": fig_architecture,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"figures to draw (default all): {', '.join(FIGURES)}")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(FIGURES))
    if unknown:
        parser.error(f"unknown figure(s) {unknown}; known: {', '.join(FIGURES)}")
    torch.set_num_threads(1)  # small models: one thread is fastest and shares the machine
    OUT.mkdir(parents=True, exist_ok=True)
    total = time.perf_counter()
    for name in args.names or FIGURES:
        start = time.perf_counter()
        path = FIGURES[name]()
        size = path.stat().st_size / 1024
        print(f"{path.relative_to(ROOT)}  {size:5.1f} KB  {time.perf_counter() - start:5.1f}s", flush=True)
    print(f"done in {time.perf_counter() - total:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
