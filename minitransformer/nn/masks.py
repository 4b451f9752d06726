"""Masks: which keys a query may look at.

Two conventions meet in a Transformer, and this package keeps each where PyTorch users expect it:

* **Attention masks** ``(T_q, T_k)`` or ``(B, H, T_q, T_k)``: boolean, **True = may attend**
  (the convention of ``F.scaled_dot_product_attention``). :func:`causal_mask` builds one.
* **Padding masks** ``(B, T)``: boolean, **True = padding** (the convention of PyTorch's
  ``key_padding_mask``). :func:`padding_mask` builds one.

:func:`merge_masks` is the single place where the two meet: it flips the padding mask and
combines both into one "may attend" mask of shape ``(B, 1, T_q, T_k)``.

Careful when porting code written for ``nn.Transformer``: its *boolean* ``attn_mask``/``tgt_mask``
means True = **blocked**, the opposite of ours. Float masks (0 = keep, -inf = block, e.g. from
``nn.Transformer.generate_square_subsequent_mask``) mean the same thing in both.
"""

from __future__ import annotations

import math

import torch

from minitransformer.nn.validation import check_rank

__all__ = ["causal_mask", "padding_mask", "merge_masks"]


def causal_mask(
    t_q: int, t_k: int | None = None, device: torch.device | str | None = None
) -> torch.Tensor:
    """Lower-triangular "may attend" mask: query i sees keys j ≤ i.

    When ``t_k > t_q`` the queries are the *last* ``t_q`` positions of a length-``t_k`` sequence
    (incremental decoding with a KV cache), so query i sits at position ``t_k - t_q + i``.

    Returns:
        bool tensor ``(t_q, t_k)``; True = may attend.
    """
    t_k = t_q if t_k is None else t_k
    if t_k < t_q:
        raise ValueError(f"causal_mask: expected t_k >= t_q, got t_q={t_q}, t_k={t_k}")
    # BEGIN EXERCISE 1.3
    query_pos = torch.arange(t_k - t_q, t_k, device=device).unsqueeze(1)  # (t_q, 1)
    key_pos = torch.arange(t_k, device=device).unsqueeze(0)  # (1, t_k)
    return key_pos <= query_pos  # (t_q, t_k)
    # END EXERCISE


def padding_mask(
    lengths_or_ids: torch.Tensor, pad_id: int | None = None, max_len: int | None = None
) -> torch.Tensor:
    """Key-padding mask, **True = padding** (PyTorch's ``key_padding_mask`` meaning).

    Two ways to call it:

    * ``padding_mask(ids, pad_id)`` with token ids ``(B, T)``: True where ``ids == pad_id``.
    * ``padding_mask(lengths)`` with lengths ``(B,)``: True at positions ``>= lengths[b]``;
      the width is ``max_len`` or ``lengths.max()``.

    Returns:
        bool tensor ``(B, T)``.
    """
    if pad_id is not None:
        check_rank("ids", lengths_or_ids, 2, "(B, T)")
        return lengths_or_ids == pad_id  # EXERCISE 1.3
    check_rank("lengths", lengths_or_ids, 1, "(B,)")
    lengths = lengths_or_ids
    width = int(lengths.max()) if max_len is None else max_len
    # BEGIN EXERCISE 1.3
    positions = torch.arange(width, device=lengths.device).unsqueeze(0)  # (1, T)
    return positions >= lengths.unsqueeze(1)  # (B, T)
    # END EXERCISE


def merge_masks(
    attn_mask: torch.Tensor | None,
    key_padding_mask: torch.Tensor | None,
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor | None:
    """Combine an attention mask and a key-padding mask into one "may attend" mask.

    Args:
        attn_mask: ``None``, bool ``(T_q, T_k)``/``(B, H, T_q, T_k)`` with True = may attend, or
            an additive float mask (0 = keep, -inf = block).
        key_padding_mask: ``None`` or bool ``(B, T_k)`` with **True = padding**; a float
            padding mask is added like PyTorch does.
        dtype: the float dtype to use if a float mask has to be produced.

    Returns:
        ``None`` if both are ``None``; a bool mask (True = may attend) if both are boolean;
        otherwise an additive float mask. Padding masks come out as ``(B, 1, 1, T_k)`` so they
        broadcast over heads and queries.
    """
    if key_padding_mask is None:
        return attn_mask
    check_rank("key_padding_mask", key_padding_mask, 2, "(B, T_k)")
    if key_padding_mask.dtype == torch.bool:
        keep = ~key_padding_mask[:, None, None, :]  # (B, 1, 1, T_k)
        if attn_mask is None:
            return keep
        if attn_mask.dtype == torch.bool:
            return attn_mask & keep
        return attn_mask.masked_fill(~keep, -math.inf)
    additive = key_padding_mask[:, None, None, :].to(dtype)
    if attn_mask is None:
        return additive
    if attn_mask.dtype == torch.bool:
        attn_mask = torch.zeros(attn_mask.shape, dtype=dtype, device=attn_mask.device).masked_fill(
            ~attn_mask, -math.inf
        )
    return attn_mask + additive

