"""Switch a built model between the hand-written kernels and PyTorch's fused ones.

``attention_backend="manual"`` (the default) runs the code this package teaches;
``"sdpa"`` is the opt-in fast path: ``F.scaled_dot_product_attention`` for attention, one matmul
for the three self-attention projections, and ``F.layer_norm`` for layer norm. Both compute the
same function (the tests check it), so a model can be trained one way and run the other.
"""

from __future__ import annotations

from torch import nn

from minitransformer.nn.attention import BACKENDS, MultiHeadAttention
from minitransformer.nn.norm import LayerNorm

__all__ = ["set_attention_backend"]


def set_attention_backend(model: nn.Module, backend: str) -> nn.Module:
    """Set ``backend`` (``"manual"`` or ``"sdpa"``) on every attention and layer-norm module."""
    if backend not in BACKENDS:
        raise ValueError(f"backend: expected one of {BACKENDS}, got {backend!r}")
    for module in model.modules():
        if isinstance(module, MultiHeadAttention):
            module.attention_backend = backend
        elif isinstance(module, LayerNorm):
            module.fused = backend == "sdpa"
        config = getattr(module, "config", None)
        if config is not None and hasattr(config, "attention_backend"):
            config.attention_backend = backend
    return model
