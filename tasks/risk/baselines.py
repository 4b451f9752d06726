"""Baselines printed beside every risk model: the class prior and logistic regression.

* **Class prior**: every row gets the training positive rate as its score. ROC-AUC 0.5, AUPRC
  = the positive rate: the floor any model must clear.
* **Logistic regression** on standardised numbers and one-hot categories::

      features  x = [(x_num - mean) / std, onehot(id_1), ..., onehot(id_F)]      (B, F_num + sum K_j+1)
      p(y=1|x)  = sigmoid(w . x + b)
      loss      = mean BCE + l2 / 2 * |w|^2

  fitted full-batch with L-BFGS (the problem is convex, so a few dozen steps reach the optimum).
  It is the classic credit-scoring model; the gap between it and the Transformer is what the
  non-linear interactions are worth.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from torch.nn import functional as F

from minitransformer.errors import CheckpointError
from minitransformer.nn.io import atomic_save_safetensors

__all__ = ["LogisticRegression", "class_prior_scores"]


def class_prior_scores(train_labels: np.ndarray, n: int) -> np.ndarray:
    """The training positive rate, repeated for ``n`` rows."""
    return np.full(n, float(np.mean(train_labels)))


class LogisticRegression:
    """Logistic regression on standardised numeric + one-hot categorical features (torch)."""

    def __init__(self, cardinalities: list[int], l2: float = 1e-4):
        self.cardinalities, self.l2 = list(cardinalities), l2
        self.mean = self.std = self.weight = self.bias = None

    def features(self, numeric: np.ndarray, categorical: np.ndarray) -> torch.Tensor:
        """``(N, F_num + sum_j K_j)`` design matrix."""
        x = (torch.as_tensor(numeric, dtype=torch.float64) - self.mean) / self.std
        onehots = [F.one_hot(torch.as_tensor(categorical[:, k]), size).double()
                   for k, size in enumerate(self.cardinalities)]
        return torch.cat([x, *onehots], dim=1)

    def fit(self, numeric: np.ndarray, categorical: np.ndarray, labels: np.ndarray,
            max_iter: int = 100) -> LogisticRegression:
        self.mean = torch.as_tensor(numeric, dtype=torch.float64).mean(0)
        self.std = torch.as_tensor(numeric, dtype=torch.float64).std(0, unbiased=False).clamp_min(1e-8)
        x = self.features(numeric, categorical)
        y = torch.as_tensor(labels, dtype=torch.float64)
        self.weight = torch.zeros(x.shape[1], dtype=torch.float64, requires_grad=True)
        self.bias = torch.zeros((), dtype=torch.float64, requires_grad=True)
        optimizer = torch.optim.LBFGS([self.weight, self.bias], max_iter=max_iter,
                                      line_search_fn="strong_wolfe")

        def closure():
            optimizer.zero_grad()
            loss = F.binary_cross_entropy_with_logits(x @ self.weight + self.bias, y)
            loss = loss + 0.5 * self.l2 * (self.weight ** 2).sum()
            loss.backward()
            return loss

        optimizer.step(closure)
        self.weight, self.bias = self.weight.detach(), self.bias.detach()
        return self

    def predict_proba(self, numeric: np.ndarray, categorical: np.ndarray) -> np.ndarray:
        if self.weight is None:
            raise RuntimeError("LogisticRegression: call fit() first")
        x = self.features(numeric, categorical)
        return torch.sigmoid(x @ self.weight + self.bias).numpy()

    def save(self, path: str | Path) -> None:
        """Write the fitted tensors to ``path`` (safetensors), atomically."""
        holder = torch.nn.Module()
        for name, tensor in (("mean", self.mean), ("std", self.std), ("weight", self.weight),
                             ("bias", self.bias.reshape(1))):
            holder.register_buffer(name, tensor)
        atomic_save_safetensors(holder, path)

    @classmethod
    def load(cls, path: str | Path, cardinalities: list[int],
             num_numeric: int | None = None) -> LogisticRegression:
        """The baseline saved at ``path``; with ``num_numeric`` every tensor's shape is checked
        against the model's columns. Problems are one line naming the file."""
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: baseline weights not found")
        try:
            tensors = load_file(str(path))
        except (SafetensorError, OSError, ValueError) as err:
            raise CheckpointError(f"{path}: not a readable safetensors file ({err})") from None
        width = None if num_numeric is None else num_numeric + sum(cardinalities)
        expected = {"mean": num_numeric, "std": num_numeric, "weight": width, "bias": 1}
        for name, size in expected.items():
            tensor = tensors.get(name)
            if tensor is None or tensor.ndim != 1 or (size is not None and len(tensor) != size):
                got = "missing" if tensor is None else f"shape {tuple(tensor.shape)}"
                raise CheckpointError(f"{path}: tensor {name!r}: expected shape ({size},), got {got}")
        model = cls(cardinalities)
        model.mean, model.std, model.weight = (tensors[k].double() for k in ("mean", "std", "weight"))
        model.bias = tensors["bias"].double().reshape(())
        return model
