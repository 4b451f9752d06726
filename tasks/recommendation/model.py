"""Sequential recommenders: SASRec (causal) and BERT4Rec (bidirectional, masked items).

Both are the same three pieces around the core :class:`~minitransformer.Encoder`:

    h_0 = Dropout(E[s_t] + P[t])            E: (N + 2, D) items, 0 = padding, N + 1 = [MASK]
    H   = Encoder(h_0)                       pre-norm, (B, T, D)
    score(t, i) = H_t · E[i]                 tied output: (B, T, N + 2)

The optional **transition prior** is part of the head (``prior_items`` D > 0): at inference ::

    score(t, i) = λ · H_t · E[i] + Σ_d Σ_table w[d, table] · log(1 + table[a_{t,d}, i])

with ``table`` the counts of how often item ``i`` came 1..K items after (or before) item ``a``
in the training sequences, ``a_{t,d}`` the d-th item before the predicted one
(:mod:`tasks.recommendation.transitions`; the counts are stored in the weights file). The
Transformer is trained alone (λ = 1, w = 0); λ and the 2·K·D weights ``w`` are then fitted on
the validation items (:mod:`tasks.recommendation.mixing`). The item-to-item baseline scores by
one of these tables, read from the last item, alone.

* **SASRec** (Kang & McAuley, ICDM 2018): the encoder is causal, so ``H_t`` sees ``s_1..s_t``
  and predicts ``s_{t+1}``. At inference the last position scores the next item.
* **BERT4Rec** (Sun et al., CIKM 2019): no causal mask; training hides random items behind
  ``[MASK]`` and predicts them from both sides. At inference ``[MASK]`` is appended to the
  history and its position scores the next item.

Sequences are **left-padded**: the most recent item is always at the last position, and the
learned position of an item counts from the right (``P[max_len - T + t]``), so a batch can be
cut to its longest sequence without changing any position. Padding keys are masked out.

The encoder is built from the config's nested :class:`~minitransformer.nn.config.EncoderConfig`
(``config.encoder``; :func:`~tasks.recommendation.config.encoder_config` gives the head's
pre-norm GELU encoder). :func:`load` reads a trained model folder back, with its item map.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from minitransformer import Encoder, LearnedPositionalEmbedding
from minitransformer.errors import CheckpointError
from minitransformer.files.model_folder import check_fits_in_memory, member_path
from minitransformer.nn.io import (
    CONFIG_NAME,
    WEIGHTS_NAME,
    PretrainedMixin,
    atomic_save_safetensors,
    load_weights,
)
from tasks.recommendation.config import RecommenderConfig, read_config
from tasks.recommendation.data import ITEM_MAP_NAME, ItemMap
from tasks.recommendation.transitions import (
    CountTable,
    add_log_counts,
    check_counts,
    count_transitions,
    table_rows,
)

__all__ = ["SequentialRecommender", "left_pad", "load", "parameter_count", "TRANSITIONS_NAME"]

TRANSITIONS_NAME = "transitions.safetensors"  # the prior's counts in a model folder


class SequentialRecommender(PretrainedMixin, nn.Module):
    """Item embeddings + learned positions + core Encoder + tied output layer.

    ``item_map`` (the shop's item ids, see :class:`~tasks.recommendation.data.ItemMap`) is set
    by :func:`load` and by ``train``; it is saved beside the weights as ``item_map.json``.
    """

    config_class = RecommenderConfig

    def __init__(self, config: RecommenderConfig):
        super().__init__()
        self.config = config
        width = config.encoder.d_model
        self.item_embedding = nn.Embedding(config.vocab_size, width, padding_idx=0)
        nn.init.normal_(self.item_embedding.weight, std=width ** -0.5)
        with torch.no_grad():
            self.item_embedding.weight[0].zero_()
        self.positions = LearnedPositionalEmbedding(config.max_len, width, config.encoder.dropout)
        self.encoder = Encoder.from_config(config.encoder)
        if config.prior_items:
            # fitted after training (tasks.recommendation.mixing), not by the trainer: buffers.
            # Until then the scores are the Transformer's alone (λ = 1, w = 0).
            self.register_buffer("transformer_weight", torch.tensor(1.0))  # λ
            weight = torch.zeros(config.prior_items, 2 * config.prior_lags)  # w: (D, 2K)
            self.register_buffer("prior_weight", weight)
            # the counts are saved in a file of their own (TRANSITIONS_NAME), not in the weights
            self.register_buffer("transition_keys", torch.zeros(0, dtype=torch.long), persistent=False)
            self.register_buffer("transition_counts", torch.zeros(0), persistent=False)
        self.item_map: ItemMap | None = None

    @classmethod
    def from_config(cls, config: RecommenderConfig) -> SequentialRecommender:
        return cls(dataclasses.replace(config, encoder=dataclasses.replace(config.encoder)))

    def save_pretrained(self, directory: str | Path) -> Path:
        """``config.json`` and ``model.safetensors``, and with the prior ``transitions.safetensors``
        (the counts)."""
        directory = super().save_pretrained(directory)
        if self.config.prior_items:
            atomic_save_safetensors(CountTable(self.transition_keys, self.transition_counts),
                                    Path(directory) / TRANSITIONS_NAME)
        return directory

    @classmethod
    def from_pretrained(cls, directory: str | Path, map_location: str | torch.device = "cpu"):
        model = super().from_pretrained(directory, map_location)
        model.load_transitions(member_path(Path(directory), TRANSITIONS_NAME))
        return model

    def load_transitions(self, path: Path) -> None:
        """Read the counts saved by :meth:`save_pretrained` (``config.prior_pairs`` of them),
        checked before use; a no-op without the prior."""
        if not self.config.prior_items:
            return
        pairs = self.config.prior_pairs
        table = CountTable(torch.zeros(pairs, dtype=torch.long), torch.zeros(pairs))
        load_weights(table, path)
        check_counts(table.keys, table.counts, self.config.vocab_size, self.config.prior_lags, path)
        device = self.item_embedding.weight.device
        self.transition_keys, self.transition_counts = table.keys.to(device), table.counts.to(device)

    @property
    def causal(self) -> bool:
        return self.config.kind == "sasrec"

    def forward(self, items: torch.Tensor) -> torch.Tensor:
        """``items`` (B, T) left-padded ids (T <= max_len) -> hidden states (B, T, D)."""
        if items.dim() != 2:
            raise ValueError(f"items must be (B, T), got shape {tuple(items.shape)}")
        length = items.size(1)
        if length > self.config.max_len:
            raise ValueError(f"items: length {length} exceeds max_len={self.config.max_len}; truncate first")
        x = self.item_embedding(items)  # (B, T, D)
        x = self.positions(x, offset=self.config.max_len - length)  # (B, T, D), right-aligned
        padding = items == 0  # (B, T) True = padding
        return self.encoder(x, key_padding_mask=padding, is_causal=self.causal)  # (B, T, D)

    def set_transitions(self, sequences: list[list[int]]) -> None:
        """Count the pairs of ``sequences`` into the prior (``config.prior_pairs`` follows); a
        no-op without the prior."""
        if not self.config.prior_items:
            return
        keys, counts = count_transitions(sequences, self.config.vocab_size, self.config.prior_lags)
        device = self.item_embedding.weight.device
        self.transition_keys, self.transition_counts = keys.to(device), counts.to(device)
        self.config.prior_pairs = int(keys.numel())

    def previous_items(self, items: torch.Tensor) -> torch.Tensor:
        """(B, T) inputs -> (B, T, D): the D items before the one each position predicts, the
        nearest first (0: none; D = ``config.prior_items``).

        SASRec's position t predicts s_{t+1}: the items before it are s_t, s_{t-1}, ...
        BERT4Rec's position t predicts the item under its [MASK]: s_{t-1}, s_{t-2}, ... (0 where
        that is itself masked)."""
        shift = 0 if self.causal else 1
        columns = [F.pad(items, (d + shift, 0))[:, : items.size(1)] for d in range(self.config.prior_items)]
        previous = torch.stack(columns, dim=-1) if columns else items.new_zeros(*items.shape, 0)  # (B, T, D)
        return previous.masked_fill(previous == self.config.mask_id, 0)

    def add_prior(self, scores: torch.Tensor, previous: torch.Tensor,
                  weight: torch.Tensor | None = None) -> torch.Tensor:
        """``scores`` (M, V') += Σ_d Σ_table w[d, table] · log(1 + table[a_d, i]) in place
        (V' <= N + 2 columns) for ``previous`` (M, D) from :meth:`previous_items`; ``weight``
        (D, 2K) replaces the model's ``prior_weight`` (to fit it). No-op without the prior."""
        weight = getattr(self, "prior_weight", None) if weight is None else weight
        for d in range(self.config.prior_items):
            for table in range(2 * self.config.prior_lags):
                rows = table_rows(table, previous[:, d], self.config.vocab_size)  # (M,)
                add_log_counts(scores, self.transition_keys, self.transition_counts, self.config.vocab_size,
                               rows, weight[d, table])
        return scores

    def item_scores(self, hidden: torch.Tensor, previous: torch.Tensor | None = None,
                    part: str = "all") -> torch.Tensor:
        """Hidden states (M, D) -> scores over the whole vocabulary (M, N + 2): ``H E^T`` alone
        when ``previous`` is None (training), else with the prior, ``λ H E^T + prior`` for
        ``previous`` (M, D_prior) from :meth:`previous_items`. ``part``: ``"transformer"`` (``H
        E^T`` alone) or ``"prior"`` (the prior alone) to see what each adds."""
        scores = hidden @ self.item_embedding.weight.t()  # (M, N + 2)
        if previous is None or not self.config.prior_items or part == "transformer":
            return scores
        if part == "prior":
            return self.add_prior(torch.zeros_like(scores), previous)
        return self.add_prior(self.transformer_weight * scores, previous)

    def prepare_history(self, histories: list[list[int]]) -> torch.Tensor:
        """Histories -> (B, T) left-padded input for next-item scoring; BERT4Rec appends [MASK]."""
        budget = self.config.max_len - (0 if self.causal else 1)
        rows = [h[-budget:] if budget > 0 else [] for h in histories]
        if not self.causal:
            rows = [r + [self.config.mask_id] for r in rows]
        return left_pad(rows, max(1, max((len(r) for r in rows), default=1)))

    def next_item_scores(self, histories: list[list[int]], part: str = "all") -> torch.Tensor:
        """Scores (B, N + 2) of the next item after each history (column 0 and [MASK] included;
        the evaluator excludes them); ``part``: see :meth:`item_scores`."""
        device = self.item_embedding.weight.device
        items = self.prepare_history(histories).to(device)  # (B, T)
        hidden = self(items)[:, -1]  # (B, D): the last position predicts the next item
        return self.item_scores(hidden, self.previous_items(items)[:, -1], part)  # (B, N + 2)


def left_pad(rows: list[list[int]], length: int) -> torch.Tensor:
    """Rows of ids -> (B, length) LongTensor, keeping the last ``length`` ids, zeros on the left."""
    out = torch.zeros(len(rows), length, dtype=torch.long)
    for i, row in enumerate(rows):
        row = row[-length:]
        if row:
            out[i, length - len(row):] = torch.tensor(row, dtype=torch.long)
    return out


def load(model_dir: str | Path) -> SequentialRecommender:
    """The trained recommender saved in ``model_dir`` (``config.json``, ``model.safetensors``,
    ``item_map.json``, and with the transition prior ``transitions.safetensors``), in eval mode,
    its ``item_map`` attached.

    Examples:
        >>> import tempfile
        >>> from pathlib import Path
        >>> import tasks.recommendation as rec
        >>> from tasks.recommendation.synthetic import ShopConfig, write_purchases
        >>> folder = Path(tempfile.mkdtemp())
        >>> _ = write_purchases(folder / "shop.csv", ShopConfig.for_items(48, users=150))
        >>> config = rec.RecommenderConfig(max_len=12, encoder=rec.encoder_config(d_model=16, num_layers=1))
        >>> settings = rec.TrainSettings(epochs=1, eval_users=50, final_epochs=0)
        >>> run = rec.train(folder / "shop.csv", folder / "model", config, settings=settings, verbose=False)
        >>> model = rec.load(folder / "model")
        >>> model.config.kind, model.config.num_items, len(model.item_map)
        ('sasrec', 48, 48)
    """
    directory = Path(model_dir)
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: model directory not found" if not directory.exists()
                                else f"{directory}: expected a model directory, got a file")
    item_map = ItemMap.load(member_path(directory, ITEM_MAP_NAME))
    config_path = member_path(directory, CONFIG_NAME)
    config = read_config(config_path)
    if config.num_items != len(item_map):
        raise CheckpointError(f"{directory / ITEM_MAP_NAME}: {len(item_map)} items, the model "
                              f"({config_path}) has {config.num_items}")
    check_fits_in_memory(parameter_count(config), config_path)
    model = SequentialRecommender.from_config(config)
    load_weights(model, member_path(directory, WEIGHTS_NAME))
    model.load_transitions(member_path(directory, TRANSITIONS_NAME))
    model.item_map = item_map
    return model.eval()


def parameter_count(config: RecommenderConfig) -> int:
    """About how many weights a model of ``config`` has (to check a size before allocating it):
    the encoder's, plus the item table (N + 2 rows), the positions (``max_len`` rows) and the
    transition prior's counts (two numbers a pair)."""
    return (config.encoder.approximate_parameters(config.vocab_size + config.max_len)
            + 2 * config.prior_pairs)
