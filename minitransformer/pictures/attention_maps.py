"""Capture the attention weights of every attention module in any model, for plots.

    with record_attention(model) as maps:
        model(x)
    maps["encoder.layers.0.self_attn"]   # (B, H, T_q, T_k)

Works for every model built from :class:`~minitransformer.MultiHeadAttention` (the core
models and all task heads) without changing their ``forward`` signatures.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

from minitransformer.nn.attention import MultiHeadAttention

__all__ = ["record_attention"]


@contextmanager
def record_attention(model: nn.Module) -> Iterator[dict[str, torch.Tensor]]:
    """Yield a dict that fills with ``{module name: weights (B, H, T_q, T_k)}`` on forward.

    A module called several times (step-by-step decoding) keeps the weights of its last call.
    """
    maps: dict[str, torch.Tensor] = {}
    modules = [(name, m) for name, m in model.named_modules() if isinstance(m, MultiHeadAttention)]
    if not modules:
        raise ValueError(f"model: {type(model).__name__} contains no MultiHeadAttention module")
    for name, module in modules:
        module.recorder = (maps, name or "self")
    try:
        yield maps
    finally:
        for _, module in modules:
            module.recorder = None
