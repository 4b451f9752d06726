"""The intent classifier on a BERT checkpoint (``qa train --task intent --init-from DIR``).

    pooled = BertSentenceEncoder(ids)      (B, D)   the loaded BERT, mean-pooled (sentence.py)
    logits = W · Dropout(pooled) + b       (B, C)   a new linear layer, W ~ N(0, 0.02²)

It takes the place of :class:`~tasks.qa.router.classifier.IntentClassifier` in the router: the
same ``(ids, grams) -> logits`` call, the same ``config.num_labels`` / ``max_len``, fine-tuned by
the same :func:`~tasks.qa.router.classifier.fit_intent_classifier` (the Trainer). The recipe's
parts that assume our own tokenizer's special ids are switched off for it: masked-token
pretraining (the checkpoint is pretrained already) and token dropout. The router's linear n-gram
expert is unchanged -- it reads the raw text, not the encoder -- so ``linear_expert=True`` mixes
it with the fine-tuned BERT exactly as with the from-scratch Transformer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from minitransformer import PretrainedMixin

from .sentence import BertSentenceConfig, BertSentenceEncoder

__all__ = ["BertIntentConfig", "BertIntentClassifier"]


@dataclass
class BertIntentConfig(BertSentenceConfig):
    """The BERT sentence encoder's settings plus the number of intents."""

    model_type: ClassVar[str] = "qa_bert_intent"
    num_labels: int = 2

    def __post_init__(self):
        super().__post_init__()
        self._check_positive("num_labels")


class BertIntentClassifier(PretrainedMixin, nn.Module):
    """``(B, T)`` WordPiece ids -> ``(B, C)`` intent logits."""

    config_class = BertIntentConfig

    def __init__(self, config: BertIntentConfig):
        super().__init__()
        self.config = config
        self.sentence = BertSentenceEncoder(config)
        self.dropout = nn.Dropout(config.text_encoder.dropout)
        self.head = nn.Linear(config.d_model, config.num_labels)
        nn.init.normal_(self.head.weight, std=0.02)  # BERT's initialisation of a new layer
        nn.init.zeros_(self.head.bias)

    @classmethod
    def from_config(cls, config: BertIntentConfig) -> BertIntentClassifier:
        return cls(config)

    def forward(self, ids: torch.Tensor, grams: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, T)`` ids (``grams`` ignored) -> ``(B, C)`` logits."""
        return self.head(self.dropout(self.sentence(ids)))  # (B, C)
