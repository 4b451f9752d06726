"""Self-supervised masked-token pretraining of the sentence encoder on unlabelled questions.

BERT's masked-language-model objective (Devlin et al. 2019), on the question text alone:

    ids (B, T)  --mask_tokens-->  corrupted (B, T), labels (B, T)  (-100 where not selected)
    loss = CE( encoder.mlm_logits(corrupted)[selected] (M, V),  labels[selected] )

15 % of the ordinary tokens are selected; of those 80 % become ``[MASK]``, 10 % a random token,
10 % stay (see :func:`minitransformer.training.masking.mask_tokens`). ``[CLS]`` and padding are never
selected. To fill a blank the encoder must learn which words go together in this domain ("card"
near "arrive", "花呗" near "还款"), which is exactly what a classifier trained on a few thousand
labelled questions cannot learn on its own. Pretraining runs *in place* on the encoder that the
classifier or matcher then fine-tunes.

On a terminal the pretraining shows a progress bar of its own, labelled ``pretraining`` (the
fine-tuning's bars that follow are the Trainer's, labelled ``training``).

**Whole words** (``words``: each token's word index, see :mod:`.words`): instead of each token,
each *word* is selected with probability 15 %, and all its tokens with it (Cui et al. 2021)::

    chosen (B, W) ~ Bernoulli(0.15)      selected[b, t] = chosen[b, word[b, t]]       (B, T)

so the share of masked tokens stays 15 % in expectation; the 80/10/10 split then runs on the
selected tokens as before.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F

from minitransformer.training import TrainConfig, Trainer
from minitransformer.training.masking import mask_tokens
from minitransformer.training.progress import make_bar, progress_enabled

from .encoding import CLS_ID, MASK_ID, PAD_ID, pad_ids
from .model import SentenceEncoder

__all__ = ["pretrain_mlm", "mlm_loss", "mask_whole_words"]


def mask_whole_words(ids: torch.Tensor, words: torch.Tensor, *, vocab_size: int, mask_prob: float = 0.15,
                     special_ids: Sequence[int] = (PAD_ID, CLS_ID)) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT masking by whole words: ``ids`` ``(B, T)``, ``words`` ``(B, T)`` (each token's word
    index, ``-1`` at special tokens and padding) -> ``(masked ids, labels)``, both ``(B, T)``.

    Each word is chosen with probability ``mask_prob``; the core's :func:`mask_tokens` then
    corrupts exactly the chosen words' tokens (it runs with ``mask_prob=1`` on a copy in which
    every other position is padding, which it never selects)."""
    chosen = torch.rand(ids.shape[0], int(words.max()) + 2) < mask_prob  # (B, W + 1)
    selected = chosen.gather(1, words.clamp_min(0)) & (words >= 0)  # (B, T)
    only_chosen = torch.where(selected, ids, torch.full_like(ids, PAD_ID))  # (B, T)
    corrupted, labels = mask_tokens(only_chosen, mask_id=MASK_ID, vocab_size=vocab_size, mask_prob=1.0,
                                    special_ids=tuple({PAD_ID, *special_ids}))
    return torch.where(selected, corrupted, ids), labels  # (B, T), (B, T)


def mlm_loss(encoder: SentenceEncoder, ids: torch.Tensor, mask_prob: float = 0.15,
             special_ids: Sequence[int] = (PAD_ID, CLS_ID),
             words: torch.Tensor | None = None) -> torch.Tensor:
    """The masked-token loss of one batch ``(B, T)`` (a fresh random mask every call); positions
    holding one of ``special_ids`` are never masked. ``words`` ``(B, T)``: mask whole words
    (:func:`mask_whole_words`)."""
    if words is None:
        masked, labels = mask_tokens(ids, mask_id=MASK_ID, vocab_size=encoder.config.vocab_size,
                                     mask_prob=mask_prob, special_ids=tuple(special_ids))
    else:
        masked, labels = mask_whole_words(ids, words, vocab_size=encoder.config.vocab_size,
                                          mask_prob=mask_prob, special_ids=special_ids)
    if not bool((labels != -100).any()):  # nothing selected in a tiny batch: mask one token
        labels = torch.full_like(ids, -100)
        labels[:, 1] = torch.where(ids[:, 1] != PAD_ID, ids[:, 1], -100)
        masked = ids.clone()
        masked[:, 1] = torch.where(ids[:, 1] != PAD_ID, MASK_ID, ids[:, 1])
    selected = labels != -100  # (B, T)
    logits = encoder.mlm_logits(masked, select=selected)  # (M, V): only the masked positions
    return F.cross_entropy(logits, labels[selected])


def pretrain_mlm(encoder: SentenceEncoder, token_ids: Sequence[Sequence[int]], *, epochs: int,
                 batch_size: int = 64, lr: float = 1e-3, seed: int = 0, device: str = "auto",
                 out_dir: str | Path | None = None, max_minutes: float | None = None,
                 verbose: bool = True, special_ids: Sequence[int] = (PAD_ID, CLS_ID),
                 what: str = "questions", words: Sequence[Sequence[int]] | None = None) -> float:
    """Train ``encoder`` in place with the MLM loss for ``epochs``; return the last epoch's loss.

    ``token_ids``: the encoded questions (``[CLS]`` first). ``out_dir``: where the trainer keeps
    its run folder (``None``: in memory only). ``encoder``: anything with ``mlm_logits(ids,
    select)`` and ``config.vocab_size`` (the sentence encoder, or the cross-encoder matcher, which
    pretrains on whole pairs and passes its ``[SEP]`` id among ``special_ids``); ``what``: the
    word the progress line uses for the rows; ``words``: each row's word index per token (``-1``
    at special tokens), to mask whole words.
    """
    if words is not None:
        if len(words) != len(token_ids) or any(len(w) != len(r) for w, r in zip(words, token_ids)):
            raise ValueError("pretraining: words must give one word index per token of every row")
        data = [(list(row), list(w)) for row, w in zip(token_ids, words) if len(row) > 1]
    else:
        data = [list(row) for row in token_ids if len(row) > 1]
    if not data:
        raise ValueError("pretraining: no question has any token")
    config = TrainConfig(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, device=device,
                         warmup_fraction=0.06, max_minutes=max_minutes, verbose=verbose,
                         progress=False, log_every=0)
    if verbose:
        print(f"pretraining the encoder (masked tokens) on {len(data)} {what}, {epochs} "
              f"epoch{'s' if epochs != 1 else ''}")
    bar = make_bar(verbose and progress_enabled(None), total=epochs * math.ceil(len(data) / batch_size),
                   desc="pretraining", unit="step", leave=False)

    def loss_fn(model, batch):  # one call per training step: the bar counts them
        bar.update(1)
        if words is None:
            return mlm_loss(model, batch, special_ids=special_ids)
        ids, word_index = batch  # (B, T), (B, T)
        return mlm_loss(model, ids, special_ids=special_ids, words=word_index)

    def collate(rows):
        if words is None:
            return pad_ids(rows)  # (B, T)
        return pad_ids([r for r, _ in rows]), pad_ids([w for _, w in rows], pad_id=-1)  # (B, T), (B, T)

    trainer = Trainer(encoder, config, loss_fn=loss_fn, train_data=data, collate_fn=collate,
                      out_dir=out_dir, task_config={"stage": "mlm_pretraining"})
    try:
        result = trainer.fit()
    finally:
        bar.close()
    return float(result.history[-1]["train_loss"]) if result.history else float("nan")
