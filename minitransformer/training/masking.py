"""BERT-style token masking for masked-language / masked-item modelling.

Masked modelling (Devlin et al. 2019, BERT; Sun et al. 2019, BERT4Rec) trains a bidirectional
encoder to reconstruct corrupted positions. For every position ``t`` that is not a special token
(padding, ``[CLS]``, ...), draw ``u_t ~ U(0, 1)``; the position is *selected* when
``u_t < mask_prob``. A selected position is then replaced with

* the ``[MASK]`` id with probability ``1 - random_prob - keep_prob``   (80 % by default),
* a uniformly random token id with probability ``random_prob``          (10 % by default),
* itself (kept unchanged) with probability ``keep_prob``                (10 % by default).

The loss is computed on selected positions only, so the labels hold the original id there and
``-100`` (PyTorch's ``ignore_index``) everywhere else::

    masked_ids, labels = mask_tokens(ids, mask_id=MASK, vocab_size=V)
    logits = model(masked_ids)                                   # (B, T, V)
    loss = F.cross_entropy(logits.transpose(1, 2), labels)       # ignores -100

BERT4Rec uses *mask only* (``random_prob = keep_prob = 0``): every selected item becomes
``[MASK]``. The random/keep share exists in BERT so that the encoder cannot rely on "a visible token
is never a target"; for item sequences it brings nothing measurable.

Random replacement ids are drawn from ``[0, vocab_size)`` excluding ``special_ids`` and ``mask_id``
so a random replacement is always an ordinary token.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

IGNORE_INDEX = -100


def mask_tokens(
    ids: torch.LongTensor,
    mask_id: int,
    vocab_size: int,
    mask_prob: float = 0.15,
    special_ids: Sequence[int] = (0,),
    generator: torch.Generator | None = None,
    random_prob: float = 0.1,
    keep_prob: float = 0.1,
) -> tuple[torch.LongTensor, torch.LongTensor]:
    """Corrupt ``ids`` (B, T) BERT-style; return ``(masked_ids, labels)``, both (B, T).

    ``labels`` is the original id at selected positions and ``-100`` elsewhere. Special ids are
    never selected. ``generator`` makes the draw reproducible. ``ids`` is not modified.
    """
    if ids.dim() != 2:
        raise ValueError(f"ids must be (B, T), got shape {tuple(ids.shape)}")
    if not 0.0 <= mask_prob <= 1.0:
        raise ValueError(f"mask_prob must be in [0, 1], got {mask_prob}")
    if random_prob < 0 or keep_prob < 0 or random_prob + keep_prob > 1.0:
        raise ValueError("need random_prob, keep_prob >= 0 and their sum <= 1, "
                         f"got {random_prob}, {keep_prob}")
    # BEGIN EXERCISE 7.4
    special = torch.zeros_like(ids, dtype=torch.bool)  # (B, T)
    for special_id in special_ids:
        special |= ids == special_id
    draw = torch.rand(ids.shape, generator=generator, device=ids.device)  # (B, T)
    selected = (draw < mask_prob) & ~special  # (B, T) positions the loss looks at
    labels = torch.where(selected, ids, torch.full_like(ids, IGNORE_INDEX))

    # a second uniform draw splits the selected positions into mask / random / keep
    action = torch.rand(ids.shape, generator=generator, device=ids.device)  # (B, T)
    to_mask = selected & (action < 1.0 - random_prob - keep_prob)
    to_random = selected & (action >= 1.0 - random_prob - keep_prob) & (action < 1.0 - keep_prob)

    # random replacements: ordinary tokens only (no special ids, no [MASK])
    excluded = torch.tensor(sorted({*special_ids, mask_id}), dtype=torch.long, device=ids.device)
    ordinary = torch.ones(vocab_size, dtype=torch.bool, device=ids.device)
    ordinary[excluded[(excluded >= 0) & (excluded < vocab_size)]] = False
    candidates = ordinary.nonzero().squeeze(1)  # (V',)
    masked = ids.clone()
    masked[to_mask] = mask_id
    if candidates.numel() > 0 and bool(to_random.any()):
        pick = torch.randint(candidates.numel(), (int(to_random.sum()),), generator=generator,
                             device=ids.device)
        masked[to_random] = candidates[pick]
    # END EXERCISE
    return masked, labels
