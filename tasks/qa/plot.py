"""Pictures of the QA head: where intents get confused, how sure the router is, what it reads.

* :func:`plot_confusion` — the confusion matrix cut to the intents with the most mistakes.
* :func:`plot_confidence` — histograms of the top probability for right, wrong and
  out-of-scope questions, with the hand-off threshold.
* :func:`attention_views` — the attention of a QA model directory on one question (used by
  ``minitransformer plot attention --model DIR --input "..."``).

matplotlib is optional (``pip install minitransformer[plot]``); it is imported only when a
picture is drawn.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from minitransformer.pictures.plotting import new_figure, save_figure, text_style

__all__ = ["plot_confusion", "plot_confidence", "attention_views", "HANDOFF_LABEL"]

#: label shown for a question the router handed to a person (``intent`` None)
HANDOFF_LABEL = "(hand-off)"


def _names(values: Sequence, labels: Sequence[str], name: str) -> list[str]:
    """Intent names from names or indices into ``labels``; None = handed off."""
    out = []
    for value in values:
        if value is None:
            out.append(HANDOFF_LABEL)
        elif isinstance(value, (int, np.integer)) and not isinstance(value, bool):
            if not 0 <= value < len(labels):
                raise ValueError(f"{name}: index {value} is outside labels (0..{len(labels) - 1})")
            out.append(labels[value])
        else:
            out.append(str(value))
    return out


def plot_confusion(path: str | Path, y_true: Sequence, y_pred: Sequence, labels: Sequence[str], *,
                   top: int = 12, title: str | None = None) -> Path:
    """The confusion matrix of the ``top`` intents involved in the most mistakes, counts written in.

    Row = true intent, column = predicted intent; the diagonal holds the questions answered
    right, every other cell a confusion (``(hand-off)`` is the column of questions the router
    passed to a person). With 77 intents the full matrix is unreadable; the intents that take
    part in the most confusions (as truth or as prediction) show where the model goes wrong.

    Args:
        y_true, y_pred: per question an intent name or an index into ``labels``; ``y_pred`` may
            hold None for a hand-off.
        labels: the intent names.
        top: how many intents to show.
    """
    labels = [str(label) for label in labels]
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true has {len(y_true)} values but y_pred has {len(y_pred)}")
    if len(y_true) == 0:
        raise ValueError("y_true: no questions to count")
    if top < 1:
        raise ValueError(f"top: expected a positive number of intents, got {top}")
    truth, pred = _names(y_true, labels, "y_true"), _names(y_pred, labels, "y_pred")
    involved: Counter[str] = Counter()
    for t, p in zip(truth, pred):
        if t != p:
            involved[t] += 1
            involved[p] += 1
    shown = [name for name, _ in involved.most_common(top)]
    if len(shown) < top:  # few mistakes: fill up with the most frequent intents
        shown += [name for name, _ in Counter(truth).most_common() if name not in shown][: top - len(shown)]
    index = {name: i for i, name in enumerate(shown)}
    counts = np.zeros((len(shown), len(shown)), dtype=np.int64)  # (true, predicted)
    for t, p in zip(truth, pred):
        if t in index and p in index:
            counts[index[t], index[p]] += 1
    errors = sum(t != p for t, p in zip(truth, pred))
    side = 1.6 + 0.45 * len(shown)
    with text_style([*shown, title or ""]):
        fig = new_figure(side + 1.5, side)
        ax = fig.subplots()
        image = ax.imshow(counts, cmap="Blues")
        for (i, j), count in np.ndenumerate(counts):
            if count:
                dark = count > counts.max() / 2
                ax.text(j, i, str(count), ha="center", va="center", fontsize=7,
                        color="white" if dark else ("tab:red" if i != j else "black"))
        ax.set_xticks(range(len(shown)), shown, rotation=60, ha="right", fontsize=7)
        ax.set_yticks(range(len(shown)), shown, fontsize=7)
        ax.set_xlabel("predicted intent")
        ax.set_ylabel("true intent")
        ax.set_title(title or f"most confused intents ({errors} of {len(truth)} questions wrong)", fontsize=9)
        fig.colorbar(image, ax=ax, shrink=0.8, label="questions")
        return save_figure(fig, path)


def plot_confidence(path: str | Path, confidence: Sequence[float], correct: Sequence[bool],
                    threshold: float, *, oos: Sequence[bool] | None = None,
                    handed_off: Sequence[bool] | None = None, title: str | None = None) -> Path:
    """Histograms of the router's confidence (its top probability) with the hand-off threshold.

    Questions it got right should sit right of the threshold, wrong and out-of-scope ones left
    of it: what falls left is handed to a person, so the picture shows what the threshold buys
    (wrong answers avoided) and costs (right answers handed off).

    Args:
        confidence: the top probability per question, in [0, 1].
        correct: whether the top intent was right, per question.
        threshold: the hand-off threshold (answers below it go to a person).
        oos: optional, per question whether it is out of scope (no intent is right); drawn as
            a third group.
        handed_off: optional, per question whether the router handed it to a person; default
            ``confidence < threshold``. Give it when the router also hands off for other reasons
            (a router trained with ``oos`` rows hands off whenever ``oos`` is its top intent).
    """
    conf = np.asarray(confidence, dtype=np.float64)
    right = np.asarray(correct, dtype=bool)
    if conf.ndim != 1 or right.shape != conf.shape:
        raise ValueError(f"confidence and correct: expected two 1-D arrays of the same length, got shapes "
                         f"{conf.shape} and {right.shape}")
    if conf.size == 0:
        raise ValueError("confidence: no questions to draw")
    if not np.isfinite(conf).all() or conf.min() < 0 or conf.max() > 1:
        raise ValueError("confidence: expected probabilities in [0, 1]")
    out_of_scope = np.zeros_like(right) if oos is None else np.asarray(oos, dtype=bool)
    if out_of_scope.shape != conf.shape:
        raise ValueError(f"oos: expected {conf.size} values, got shape {out_of_scope.shape}")
    handed_mask = conf < threshold if handed_off is None else np.asarray(handed_off, dtype=bool)
    if handed_mask.shape != conf.shape:
        raise ValueError(f"handed_off: expected {conf.size} values, got shape {handed_mask.shape}")
    groups = [("right", right & ~out_of_scope, "tab:green"), ("wrong", ~right & ~out_of_scope, "tab:red")]
    if oos is not None:
        groups.append(("out of scope", out_of_scope, "tab:grey"))
    bins = np.linspace(0.0, 1.0, 26)
    with text_style([title or ""]):
        fig = new_figure(6.5, 3.6)
        ax = fig.subplots()
        for name, mask, colour in groups:
            if mask.any():
                handed = int(handed_mask[mask].sum())
                ax.hist(conf[mask], bins=bins, alpha=0.55, color=colour,
                        label=f"{name}: {int(mask.sum())} ({handed} handed off)")
        ax.axvline(threshold, color="black", linestyle="--", label=f"hand-off threshold {threshold:.2f}")
        ax.set_xlabel("confidence (top intent probability)")
        ax.set_ylabel("questions")
        ax.set_xlim(0, 1)
        ax.legend(fontsize=8, loc="upper left")
        ax.set_title(title or "router confidence", fontsize=10)
        return save_figure(fig, path)


def attention_views(model_dir: str | Path, text: str):
    """The attention of a QA model directory on the question ``text``.

    Intent and matching heads: the sentence encoder's self-attention over ``[CLS]`` and the
    question's tokens (the title gives the routed intent). Reply heads: the encoder–decoder's
    three kinds of attention on the reply it writes.
    """
    import torch

    from minitransformer import record_attention
    from minitransformer.pictures.attention_views import (
        AttentionView,
        causal_lm_views,
        token_labels,
        transformer_views,
    )

    from .encoding import pad_ids
    from .inference import load

    model_dir = Path(model_dir)
    if not text.strip():
        raise ValueError("--input: the question is empty")
    head = load(model_dir)
    if head.task == "reply" and hasattr(head, "separator"):  # GPT-2 fine-tuned: it reads the prompt
        return causal_lm_views(head.model, head.tokenizer, text.strip() + head.separator)
    if head.task == "reply":
        return transformer_views(head.model, head.tokenizer, text)
    # intent: the classifier reads the question; match: its sentence encoder does
    encoder = head.model if head.task == "intent" else head.model.sentence
    model = head.model
    ids, grams = head.encode([text])[0]
    with torch.no_grad(), record_attention(model) as maps:
        out = encoder(pad_ids([ids]), pad_ids([grams]))  # intent: (1, C) logits; match: (1, D)
    labels = token_labels(head.tokenizer, ids)
    title = f"{head.task} model: {text!r}"
    if head.task == "intent":
        probs = torch.softmax(out[0].float(), dim=-1)
        title += f" -> {head.labels[int(probs.argmax())]} ({float(probs.max()):.2f})"
    return [AttentionView("encoder", dict(maps), labels, labels, title)]
