"""Label spreading over a graph of similar questions: the third view of the few-label recipe.

With ten labels per intent most questions have no label, but many have a near-twin that does, or
a twin of a twin. Label spreading (Zhou et al. 2004, "Learning with Local and Global
Consistency") lets the labels flow along such chains. Each question is a TF-IDF vector ``x_i``
(:func:`tfidf_vectors`), and the graph keeps each question's ``k`` most similar questions::

    W_ij = cos(x_i, x_j)  if j is among the k nearest of i, or i among those of j;  W_ii = 0   (N, N)
    S    = D^-1/2 W D^-1/2,   D = diag(Σ_j W_ij)                                             (N, N)
    F_0  = Y,   F_t = α S F_(t-1) + (1 - α) Y,   t = 1..T                                    (N, C)
    p(y | i) = F_Tiy / Σ_c F_Tic      (uniform where no label reaches i)

``Y`` is one-hot on the labelled rows and zero elsewhere. A label travels at most ``T`` edges;
``α`` close to 1 lets it travel with little loss. As ``T → ∞``, ``F_T → (1 - α)(I - α S)^-1 Y``,
but with the defaults (``α = 0.99``, ``T = 50``) the run stops far from that limit (the rest
shrinks like ``α^T ≈ 0.6``): read it as a 50-step diffusion, which is what was measured.

Alone it is weaker than a linear model on the same words (BANKING77, 10 labels per intent: 66%
vs 73% of the unlabelled questions right) but it errs elsewhere: multiplied with the
Transformer and the linear model of :mod:`.recipe` it labelled 75.6% right instead of 73.0%
(draw 0, measured 2026-11-29), and better pseudo-labels make a better self-trained model
(on draws 0-2 of ``benchmarks/qa.py --only fewshot``, +5.0 instead of +3.8 points over the
labels alone).

The vectors are two TF-IDF blocks, each of unit length, side by side and scaled by ``1/√2``:
words and word pairs, and character 2..5-grams inside each word padded with spaces. Counts are
damped (``1 + log tf``) and ``idf(t) = log((1 + N) / (1 + df(t))) + 1`` -- the settings of the
TF-IDF baseline in ``benchmarks/qa.py``, so the graph sees what that baseline sees.
"""

from __future__ import annotations

import math
import re
import warnings
from collections import Counter
from collections.abc import Sequence

import torch

__all__ = ["tfidf_vectors", "knn_graph", "label_spreading"]

_WORD = re.compile(r"\w+")


def _word_terms(text: str) -> list[str]:
    words = _WORD.findall(text.lower())
    return words + [f"{a} {b}" for a, b in zip(words, words[1:])]


def _char_terms(text: str) -> list[str]:
    terms = []
    for word in _WORD.findall(text.lower()):
        padded = f" {word} "
        terms += [padded[i:i + n] for n in range(2, 6) for i in range(len(padded) - n + 1)]
    return terms


def _tfidf_block(counts: list[Counter]) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Sparse entries ``(index (2, nnz), values (nnz,), width)`` of unit-length TF-IDF rows."""
    df = Counter(term for row in counts for term in row)
    column = {term: j for j, term in enumerate(sorted(df))}
    idf = {term: math.log((1 + len(counts)) / (1 + n)) + 1.0 for term, n in df.items()}
    rows, cols, values = [], [], []
    for i, row in enumerate(counts):
        weights = {t: (1.0 + math.log(c)) * idf[t] for t, c in row.items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        for term, w in weights.items():
            rows.append(i)
            cols.append(column[term])
            values.append(w / norm)
    return torch.tensor([rows, cols], dtype=torch.long).reshape(2, -1), torch.tensor(values), len(column)


def tfidf_vectors(texts: Sequence[str]) -> torch.Tensor:
    """Sparse ``(N, V)`` unit-length rows: ``[words+pairs block, char 2..5-gram block] / √2``."""
    if not texts:
        raise ValueError("texts must hold at least one question, got none")
    w_index, w_values, w_width = _tfidf_block([Counter(_word_terms(t)) for t in texts])
    c_index, c_values, c_width = _tfidf_block([Counter(_char_terms(t)) for t in texts])
    c_index = c_index + torch.tensor([[0], [w_width]])                 # the char block sits after
    index = torch.cat([w_index, c_index], dim=1)                       # (2, nnz)
    values = torch.cat([w_values, c_values]) / math.sqrt(2.0)          # each block weighs half
    return torch.sparse_coo_tensor(index, values, (len(texts), w_width + c_width),
                                   check_invariants=True).coalesce()


def knn_graph(vectors: torch.Tensor, k: int = 5) -> torch.Tensor:
    """Dense symmetric ``(N, N)`` weights from unit-length rows ``vectors`` (sparse or dense): the
    cosine similarity to each row's ``k`` nearest rows, kept if either end chose the edge."""
    n = vectors.shape[0]
    if not 0 < k < n:
        raise ValueError(f"k must be in 1..{n - 1} for {n} questions, got {k}")
    if vectors.is_sparse:
        with warnings.catch_warnings():  # torch calls its sparse kernels "beta"
            warnings.simplefilter("ignore", UserWarning)
            sims = torch.sparse.mm(vectors, vectors.t().coalesce()).to_dense()   # (N, N)
    else:
        sims = vectors @ vectors.T                                           # (N, N)
    sims.fill_diagonal_(-math.inf)                              # a question is not its own neighbour
    top, idx = sims.topk(k, dim=1)                              # (N, k)
    weights = torch.zeros(n, n).scatter_(1, idx, top.clamp_min(0.0))
    return torch.maximum(weights, weights.T)


def label_spreading(weights: torch.Tensor, labelled: torch.Tensor, labels: torch.Tensor,
                    num_labels: int, alpha: float = 0.99, iterations: int = 50) -> torch.Tensor:
    """``(N, C)`` label distributions spread from ``labels`` on rows ``labelled`` over the graph
    ``weights (N, N)``; rows that no label reaches get the uniform distribution."""
    if weights.dim() != 2 or weights.shape[0] != weights.shape[1]:
        raise ValueError(f"weights must be a square (N, N) matrix, got shape {tuple(weights.shape)}")
    if not 0.0 <= alpha < 1.0:
        raise ValueError(f"alpha must be in [0, 1), got {alpha}")
    if labelled.shape != labels.shape:
        raise ValueError(f"labelled rows {tuple(labelled.shape)} and labels {tuple(labels.shape)} "
                         "must have the same shape")
    scale = weights.sum(1).clamp_min(1e-12).rsqrt()                   # (N,) D^-1/2
    s = scale[:, None] * weights * scale[None, :]                     # (N, N)
    y = torch.zeros(weights.shape[0], num_labels)
    y[labelled, labels] = 1.0                                         # (N, C)
    f = y.clone()
    for _ in range(iterations):
        f = alpha * (s @ f) + (1 - alpha) * y
    total = f.sum(1, keepdim=True)                                    # (N, 1)
    return torch.where(total > 0, f / total.clamp_min(1e-30), torch.full_like(f, 1.0 / num_labels))
