"""The pair matcher on a BERT checkpoint (``qa train --task match --init-from DIR``).

    u = BertSentenceEncoder(a),  v = BertSentenceEncoder(b)     (B, D) each, one shared BERT
    logit = w₂ · GELU(W₁ [u, v, |u - v|, u ⊙ v] + b₁) + b₂      (B,)

The head and the loss are the ones of :class:`~tasks.qa.matching.matcher.PairMatcher` (whose
``pair_logits`` and ``forward`` it inherits); only the sentence encoder is the loaded BERT
(mean-pooled, see :mod:`.sentence`). :class:`~tasks.qa.matching.matcher.QuestionMatcher` uses it
unchanged (FAQ questions encoded once, retrieval, the threshold).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from torch import nn

from ..matching.matcher import PairMatcher
from .sentence import BertSentenceConfig, BertSentenceEncoder

__all__ = ["BertMatchConfig", "BertPairMatcher"]


@dataclass
class BertMatchConfig(BertSentenceConfig):
    """The BERT sentence encoder's settings (the head's size follows its width)."""

    model_type: ClassVar[str] = "qa_bert_match"


class BertPairMatcher(PairMatcher):
    """Two questions ``(B, T)`` each -> ``(B,)`` same-meaning logits, on a BERT encoder."""

    config_class = BertMatchConfig

    def __init__(self, config: BertMatchConfig):
        nn.Module.__init__(self)  # PairMatcher's own __init__ builds the from-scratch encoder
        self.config = config
        self.sentence = BertSentenceEncoder(config)
        d = config.d_model
        self.head = nn.Sequential(nn.Dropout(config.text_encoder.dropout), nn.Linear(4 * d, d), nn.GELU(),
                                  nn.Linear(d, 1))

    @classmethod
    def from_config(cls, config: BertMatchConfig) -> BertPairMatcher:
        return cls(config)
