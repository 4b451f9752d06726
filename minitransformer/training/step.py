"""Gradient clipping by global norm, the guard before every optimizer step.

Gradient clipping by global norm (Pascanu et al., 2013): treat all gradients as one long vector
g and shrink it when it is too long,

    ‖g‖ = √(Σ_p Σ_i g_{p,i}²)          g ← g · min(1, max_norm / (‖g‖ + ε))

so one bad batch cannot throw the weights far away. A non-finite norm means some gradient is
NaN or ±inf: the update is refused (the caller reports the step) instead of poisoning the model.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from minitransformer.errors import NonFiniteGradientError

__all__ = ["clip_grad_norm"]


@torch.no_grad()
def clip_grad_norm(parameters: Iterable[torch.nn.Parameter], max_norm: float,
                   eps: float = 1e-6) -> torch.Tensor:
    """Scale all gradients in place so their global L2 norm is at most ``max_norm``.

    Returns the norm *before* clipping (a 0-d tensor), like ``torch.nn.utils.clip_grad_norm_``.
    Raises :class:`NonFiniteGradientError` if the norm is NaN or infinite (nothing changes then).
    """
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.tensor(0.0)
    # BEGIN EXERCISE 6.1
    total_norm = torch.linalg.vector_norm(
        torch.stack([torch.linalg.vector_norm(g.detach(), 2.0) for g in grads]), 2.0)
    if not torch.isfinite(total_norm):
        raise NonFiniteGradientError(f"gradient norm is {total_norm.item()}: refusing to update")
    scale = torch.clamp(max_norm / (total_norm + eps), max=1.0)
    for g in grads:
        g.mul_(scale.to(g.device, g.dtype))
    # END EXERCISE
    return total_norm

