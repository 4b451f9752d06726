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

__all__ = ["pretrain_mlm", "mlm_loss"]


def mlm_loss(encoder: SentenceEncoder, ids: torch.Tensor, mask_prob: float = 0.15,
             special_ids: Sequence[int] = (PAD_ID, CLS_ID)) -> torch.Tensor:
    """The masked-token loss of one batch ``(B, T)`` (a fresh random mask every call); positions
    holding one of ``special_ids`` are never masked."""
    masked, labels = mask_tokens(ids, mask_id=MASK_ID, vocab_size=encoder.config.vocab_size,
                                 mask_prob=mask_prob, special_ids=tuple(special_ids))
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
                 what: str = "questions") -> float:
    """Train ``encoder`` in place with the MLM loss for ``epochs``; return the last epoch's loss.

    ``token_ids``: the encoded questions (``[CLS]`` first). ``out_dir``: where the trainer keeps
    its run folder (``None``: in memory only). ``encoder``: anything with ``mlm_logits(ids,
    select)`` and ``config.vocab_size`` (the sentence encoder, or the cross-encoder matcher, which
    pretrains on whole pairs and passes its ``[SEP]`` id among ``special_ids``); ``what``: the
    word the progress line uses for the rows.
    """
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

    def loss_fn(model, ids):  # one call per training step: the bar counts them
        bar.update(1)
        return mlm_loss(model, ids, special_ids=special_ids)

    trainer = Trainer(encoder, config, loss_fn=loss_fn, train_data=data, collate_fn=pad_ids,
                      out_dir=out_dir, task_config={"stage": "mlm_pretraining"})
    try:
        result = trainer.fit()
    finally:
        bar.close()
    return float(result.history[-1]["train_loss"]) if result.history else float("nan")
