"""A feature-tokenizer Transformer for tables (FT-Transformer, Gorishniy et al. 2021), with history.

Each row becomes a short sequence of tokens, one per feature, and the core :class:`Encoder`
lets every feature attend to every other; the class comes from a ``[CLS]`` token::

    numeric column j      z_j = views(x_j) in R^V           token = z_j W_j + b_j     W_j: (V, D), b_j: (D,)
    categorical column j  id_j in 0..K_j (0 = unknown)      token = E_j[id_j] + b_j
    history step t        token = sum_g (z_{g,t} W_g + b_g) + P_t                     (one per step)
    sequence              [CLS, numeric tokens, categorical tokens, step tokens]      (B, T, D)
    logit                 Linear(ReLU(Encoder(sequence)[:, 0]))                        (B,)

**The sequence view.** When columns form a history (``PAY_0, PAY_2..PAY_6``,
``BILL_AMT1..6``, ``PAY_AMT1..6``: the same quantities month after month), step ``t`` of every
group is summed into one time-step token with a learned position ``P_t``; each group ``g``
shares one embedding ``(W_g, b_g)`` across steps ("a bill is a bill, whatever the month").
Attention then compares months directly, and the sequence is shorter (18 columns -> 6 tokens).

**Two views of a number** (``numeric_transform="both"``, the default): ``z_j`` holds the
quantile-normal rank and the clipped standardised value (see :mod:`tasks.risk.normalize`);
the rank is robust to skew, the standardised value keeps how extreme a value is -- what a
"5 times the usual amount" fraud rule needs.

**The encoder** is the core's, built from ``config.encoder`` (:func:`tasks.risk.config.risk_encoder`:
pre-norm, GELU, ``d_ff = 2D``), with the hand-written attention and layer norm unless the
config asks for ``attention_backend="sdpa"``.

**Masking** (for pretraining, :mod:`tasks.risk.pretrain`): a boolean ``mask (B, F_num + F_cat)``
replaces the value part of the masked cells (``z_j W_j`` or ``E_j[id]``) by a learned mask
vector of that column, keeping the column's identity (``b_j``, ``P_t``) so the encoder knows
what to reconstruct.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from minitransformer import Encoder, PretrainedMixin
from tasks.risk.config import RiskModelConfig
from tasks.risk.normalize import NumericNormalizer

__all__ = ["TabularTransformer", "approximate_parameters"]


def approximate_parameters(config: RiskModelConfig) -> int:
    """About how many numbers a :class:`TabularTransformer` of ``config`` allocates, to check a
    configuration (from a user's options or a model folder) before building it: the encoder,
    plus a ``D``-wide row for every category, column weight, bias, mask and step, plus the
    ``Q + 2`` normalisation statistics of every numeric column::

        encoder + D (sum_j (K_j + 1) + F_num (V + 2) + 2 F_cat + T_h + G (V + 1) + 2) + F_num (Q + 2)
    """
    schema = config.schema
    numeric, categorical = len(schema["numeric"]), len(schema["categorical"])
    categories = sum(len(schema["vocab"][name]) + 1 for name in schema["categorical"])
    history = config.history
    views = 2 if config.numeric_transform == "both" else 1
    rows = (categories + numeric * (views + 2) + 2 * categorical + (len(history[0]) if history else 0)
            + len(history) * (views + 1) + 2)
    return config.encoder.approximate_parameters(rows) + numeric * (config.num_quantiles + 2)


class TabularTransformer(PretrainedMixin, nn.Module):
    """``(numeric (B, F_num) raw floats, categorical (B, F_cat) ids) -> logits (B,)``."""

    config_class = RiskModelConfig

    def __init__(self, config: RiskModelConfig):
        super().__init__()
        self.config = config
        d = config.encoder.d_model
        numeric, categorical = config.schema["numeric"], config.schema["categorical"]
        self.num_numeric, self.num_categorical = len(numeric), len(categorical)
        self.normalizer = NumericNormalizer(len(numeric), config.num_quantiles, config.numeric_transform)

        # where each numeric column goes: its own token, or step t of history group g
        position = {name: j for j, name in enumerate(numeric)}
        history = config.history
        in_history = {name for group in history for name in group}
        self.static_columns = [position[n] for n in numeric if n not in in_history]
        self.num_steps = len(history[0]) if history else 0
        steps = torch.tensor([[position[n] for n in group] for group in history], dtype=torch.long)
        self.register_buffer("history_columns", steps.reshape(len(history), self.num_steps),
                             persistent=False)                                   # (G, T_h)

        def param(*shape):
            return nn.Parameter(torch.randn(*shape) * d ** -0.5)

        views = self.normalizer.num_views                                        # V
        self.numeric_weight = param(len(self.static_columns), views, d)          # W_j
        self.numeric_bias = param(len(self.static_columns), d)                   # b_j
        self.history_weight = param(len(history), views, d)                      # W_g
        self.history_bias = param(len(history), d)                               # b_g
        self.step_position = param(self.num_steps, d)                            # P_t
        cardinalities = [len(config.schema["vocab"][name]) + 1 for name in categorical]
        offsets = torch.tensor([0, *cardinalities[:-1]], dtype=torch.long).cumsum(0)
        self.register_buffer("category_offsets", offsets, persistent=False)      # (F_cat,)
        self.category_embedding = nn.Embedding(max(sum(cardinalities), 1), d)    # all E_j stacked
        nn.init.normal_(self.category_embedding.weight, std=d ** -0.5)
        self.category_bias = param(len(categorical), d)
        self.numeric_mask = param(len(numeric), d)                               # mask vectors
        self.category_mask = param(len(categorical), d)
        self.cls = param(1, 1, d)
        self.encoder = Encoder.from_config(config.encoder)
        self.head = nn.Sequential(nn.ReLU(), nn.Linear(d, 1))

    @classmethod
    def from_config(cls, config: RiskModelConfig) -> TabularTransformer:
        return cls(config)

    @torch.no_grad()
    def init_prior(self, positive_rate: float) -> None:
        """Start the output bias at ``logit(positive_rate)``: with rare positives the first
        steps then refine a sensible prior instead of unlearning a 50/50 guess (Lin et al. 2017)."""
        rate = min(max(positive_rate, 1e-6), 1 - 1e-6)
        self.head[-1].bias.fill_(float(torch.logit(torch.tensor(rate))))

    @property
    def num_tokens(self) -> int:
        return 1 + len(self.static_columns) + self.num_categorical + self.num_steps

    def column_tokens(self) -> tuple[list[int], list[int]]:
        """Token position (in the encoder's output) of every numeric and categorical column."""
        numeric = [0] * self.num_numeric
        for k, j in enumerate(self.static_columns):
            numeric[j] = 1 + k
        first_step = 1 + len(self.static_columns) + self.num_categorical
        for group in self.history_columns.tolist():
            for t, j in enumerate(group):
                numeric[j] = first_step + t
        categorical = [1 + len(self.static_columns) + k for k in range(self.num_categorical)]
        return numeric, categorical

    def token_names(self) -> list[str]:
        """A readable name for every input token: ``[CLS]``, the columns, the history steps."""
        numeric, categorical = self.config.schema["numeric"], self.config.schema["categorical"]
        steps = ["/".join(numeric[j] for j in step) for step in self.history_columns.t().tolist()]
        return ["[CLS]", *(numeric[j] for j in self.static_columns), *categorical, *steps]

    def tokens(self, numeric: Tensor, categorical: Tensor, mask: Tensor | None = None) -> Tensor:
        """The input sequence ``(B, T, D)``; ``mask (B, F_num + F_cat)`` True = hide the value."""
        batch = numeric.shape[0]
        values = self.normalizer.views(numeric)                                  # (B, F_num, V)
        num_mask = cat_mask = None
        if mask is not None:
            num_mask = mask[:, : self.num_numeric].unsqueeze(-1)                 # (B, F_num, 1)
            cat_mask = mask[:, self.num_numeric:].unsqueeze(-1)                  # (B, F_cat, 1)
        parts = [self.cls.expand(batch, 1, -1)]
        static = self.static_columns
        value_part = torch.einsum("bfv,fvd->bfd", values[:, static], self.numeric_weight)  # (B, F_s, D)
        if num_mask is not None:
            value_part = torch.where(num_mask[:, static], self.numeric_mask[static], value_part)
        parts.append(value_part + self.numeric_bias)
        if self.num_categorical:
            ids = categorical + self.category_offsets                            # (B, F_cat)
            value_part = self.category_embedding(ids)                            # (B, F_cat, D)
            if cat_mask is not None:
                value_part = torch.where(cat_mask, self.category_mask, value_part)
            parts.append(value_part + self.category_bias)
        if self.num_steps:
            cols = self.history_columns                                          # (G, T_h)
            hist = torch.einsum("bgtv,gvd->bgtd", values[:, cols], self.history_weight)  # (B, G, T_h, D)
            if num_mask is not None:
                hist = torch.where(num_mask[:, cols], self.numeric_mask[cols], hist)
            hist = hist + self.history_bias[:, None]
            parts.append(hist.sum(dim=1) + self.step_position)                   # (B, T_h, D)
        return torch.cat(parts, dim=1)                                           # (B, T, D)

    def encode(self, numeric: Tensor, categorical: Tensor, mask: Tensor | None = None) -> Tensor:
        """Encoder output ``(B, T, D)``; position 0 is ``[CLS]``."""
        return self.encoder(self.tokens(numeric, categorical, mask))

    def forward(self, numeric: Tensor, categorical: Tensor) -> Tensor:
        return self.head(self.encode(numeric, categorical)[:, 0]).squeeze(-1)    # (B,)

    @torch.no_grad()
    def predict_proba(self, numeric: Tensor, categorical: Tensor, batch_size: int = 2048) -> Tensor:
        """Probability of the positive class for every row, ``(N,)``, in eval mode."""
        was_training = self.training
        self.eval()
        device = next(self.parameters()).device
        out = [torch.sigmoid(self(numeric[i:i + batch_size].to(device),
                                  categorical[i:i + batch_size].to(device))).cpu()
               for i in range(0, len(numeric), batch_size)]
        self.train(was_training)
        return torch.cat(out) if out else torch.zeros(0)
