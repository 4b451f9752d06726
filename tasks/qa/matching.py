"""Question matching: do two questions ask the same thing? A bi-encoder, and FAQ retrieval with it.

Both questions go through the *same* sentence encoder (a "Siamese" bi-encoder), and a small head
reads the pair (Sentence-BERT's classification objective, Reimers and Gurevych 2019):

    u = SentenceEncoder(a),  v = SentenceEncoder(b)                 (B, D) each
    f = [u, v, |u - v|, u ⊙ v]                                      (B, 4D)
    logit = w₂ · GELU(W₁ f + b₁) + b₂                               (B,)
    loss = BCE(σ(logit), y)     y = 1 when the questions mean the same

``|u - v|`` and ``u ⊙ v`` make the head symmetric in spirit and let it compare dimension by
dimension; because each question is encoded alone, FAQ questions can be encoded **once** and a
new question compared with all of them (:meth:`QuestionMatcher.retrieve`). Chinese uses a
character tokenizer by default (ATEC/AFQMC are Alipay questions, ~13 characters each).

The Trainer selects the epoch by validation ROC-AUC; the accuracy threshold is then chosen on
validation too (fewest errors), since the share of positives differs between data sets.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import nn

from minitransformer import PretrainedMixin
from minitransformer.metrics.classification import accuracy, choose_threshold, roc_auc
from minitransformer.tokenizers import load_tokenizer
from minitransformer.training import TrainConfig, Trainer, resolve_device, seed_everything

from .bundle import read_info, write_info
from .sentence import SentenceConfig, SentenceEncoder, encode_questions, pad_ids

__all__ = ["MatchConfig", "PairMatcher", "MatchSettings", "QuestionMatcher", "pairs_from_faq"]


@dataclass
class MatchConfig(SentenceConfig):
    model_type: ClassVar[str] = "qa_match"


class PairMatcher(PretrainedMixin, nn.Module):
    """Two questions ``(B, T)`` each -> ``(B,)`` same-meaning logits."""

    config_class = MatchConfig

    def __init__(self, config: MatchConfig):
        super().__init__()
        self.config = config
        fields = {f.name for f in dataclasses.fields(SentenceConfig)}
        self.sentence = SentenceEncoder(SentenceConfig(**{k: v for k, v in dataclasses.asdict(config).items()
                                                          if k in fields}))
        d = config.d_model
        self.head = nn.Sequential(nn.Dropout(config.dropout), nn.Linear(4 * d, d), nn.GELU(), nn.Linear(d, 1))

    @classmethod
    def from_config(cls, config: MatchConfig) -> PairMatcher:
        return cls(config)

    def pair_logits(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Sentence vectors ``(B, D)`` x2 -> ``(B,)``."""
        return self.head(torch.cat([u, v, (u - v).abs(), u * v], dim=-1)).squeeze(-1)

    def forward(self, a_ids, a_grams, b_ids, b_grams) -> torch.Tensor:
        return self.pair_logits(self.sentence(a_ids, a_grams), self.sentence(b_ids, b_grams))


def _collate(rows):
    """``[((a_ids, a_grams), (b_ids, b_grams), y)]`` -> padded tensors and float labels."""
    return (pad_ids([r[0][0] for r in rows]), pad_ids([r[0][1] for r in rows]),
            pad_ids([r[1][0] for r in rows]), pad_ids([r[1][1] for r in rows]),
            torch.tensor([float(r[2]) for r in rows]))


@dataclass
class MatchSettings:
    """The CLI defaults of ``qa train --task match``."""

    tokenizer: str = "char"
    vocab_size: int = 4000
    d_model: int = 128
    nhead: int = 4
    num_layers: int = 2
    dim_feedforward: int = 512
    dropout: float = 0.1
    max_len: int = 64
    ngram_buckets: int = 16384
    epochs: int = 3  # ATEC (35k pairs): ~4-5 min an epoch on one CPU thread
    batch_size: int = 64
    lr: float = 1e-3
    patience: int | None = 2
    pretrain_epochs: int = 0
    valid_fraction: float = 0.1
    extra: dict = field(default_factory=dict)


def pairs_from_faq(questions: Sequence[str], answers: Sequence[str], negatives: int = 2,
                   seed: int = 0) -> list[tuple[str, str, int]]:
    """Labelled pairs from an FAQ table: questions sharing an answer are positives, and each
    question is paired with ``negatives`` random questions of other answers."""
    rng = random.Random(seed)
    by_answer: dict[str, list[str]] = {}
    for q, a in zip(questions, answers):
        by_answer.setdefault(a, []).append(q)
    pairs = []
    for q, a in zip(questions, answers):
        pairs += [(q, other, 1) for other in by_answer[a] if other != q]
        others = [i for i, b in enumerate(answers) if b != a]
        pairs += [(q, questions[i], 0) for i in rng.sample(others, min(negatives, len(others)))]
    return pairs


class QuestionMatcher:
    """A trained pair matcher with its tokenizer, threshold and (optionally) an FAQ table."""

    def __init__(self, model: PairMatcher, tokenizer, threshold: float = 0.5,
                 faq: list[tuple[str, str]] | None = None):
        self.model, self.tokenizer, self.threshold, self.faq = model, tokenizer, threshold, list(faq or [])

    def encode(self, texts):
        return encode_questions(self.tokenizer, texts, self.model.config)

    @torch.no_grad()
    def scores(self, pairs: Sequence[tuple[str, str]], batch_size: int = 256) -> torch.Tensor:
        """``(N,)`` probabilities that each pair means the same."""
        self.model.eval()
        device = next(self.model.parameters()).device
        a, b = self.encode([p[0] for p in pairs]), self.encode([p[1] for p in pairs])
        out = []
        for s in range(0, len(pairs), batch_size):
            batch = _collate([(x, y, 0) for x, y in zip(a[s:s + batch_size], b[s:s + batch_size])])
            out.append(torch.sigmoid(self.model(*[t.to(device) for t in batch[:4]])).cpu())
        return torch.cat(out) if out else torch.zeros(0)

    def evaluate(self, pairs: Sequence[tuple[str, str, int]]) -> dict[str, float]:
        scores = self.scores([(a, b) for a, b, _ in pairs])
        truth = [y for _, _, y in pairs]
        pred = (scores >= self.threshold).long().tolist()
        return {"accuracy": accuracy(truth, pred), "roc_auc": roc_auc(truth, scores.numpy())}

    def retrieve(self, question: str) -> dict:
        """The FAQ entry most likely to mean the same as ``question`` (``answer`` None = human)."""
        if not self.faq:
            raise ValueError("this matcher was trained on pairs without an FAQ table; nothing to retrieve")
        scores = self.scores([(question, q) for q, _ in self.faq])
        best = int(scores.argmax())
        confident = float(scores[best]) >= self.threshold
        return {"matched_question": self.faq[best][0], "score": float(scores[best]),
                "handoff": not confident, "answer": self.faq[best][1] if confident else None}

    @classmethod
    def train(cls, pairs: Sequence[tuple[str, str, int]], *, out_dir=None,
              settings: MatchSettings | None = None, valid: Sequence[tuple[str, str, int]] | None = None,
              faq=None, seed: int = 0, device: str = "auto", max_minutes: float | None = None,
              verbose: bool = True) -> QuestionMatcher:
        from .data import stratified_split
        from .pretrain import pretrain_mlm
        from .router import build_tokenizer

        s = settings or MatchSettings()
        if valid is None:
            tr, va = stratified_split([y for _, _, y in pairs], s.valid_fraction, seed)
            pairs, valid = [pairs[i] for i in tr], [pairs[i] for i in va]
        seed_everything(seed)
        texts = sorted({t for a, b, _ in pairs for t in (a, b)})
        tokenizer = build_tokenizer(s.tokenizer, texts, s.vocab_size)
        config = MatchConfig(vocab_size=tokenizer.vocab_size, d_model=s.d_model, nhead=s.nhead,
                             num_layers=s.num_layers, dim_feedforward=s.dim_feedforward, dropout=s.dropout,
                             max_len=s.max_len, ngram_buckets=s.ngram_buckets)
        model = PairMatcher(config)
        matcher = cls(model, tokenizer, 0.5, faq)
        if s.pretrain_epochs:
            pretrain_mlm(model.sentence, [ids for ids, _ in matcher.encode(texts)], epochs=s.pretrain_epochs,
                         batch_size=s.batch_size, seed=seed, device=device, verbose=verbose,
                         out_dir=None if out_dir is None else Path(out_dir) / "pretrain")

        def encode_pairs(rows):
            a, b = matcher.encode([r[0] for r in rows]), matcher.encode([r[1] for r in rows])
            return [(x, y, r[2]) for x, y, r in zip(a, b, rows)]

        def loss_fn(m, batch):
            return F.binary_cross_entropy_with_logits(m(*batch[:4]), batch[4])

        def evaluate_fn(m, data):
            logits = torch.cat([m(*[t.to(next(m.parameters()).device) for t in _collate(data[i:i + 256])[:4]])
                                .cpu() for i in range(0, len(data), 256)])
            truth = [r[2] for r in data]
            return {"roc_auc": roc_auc(truth, logits.numpy()),
                    "accuracy": accuracy(truth, (logits >= 0).long().tolist())}

        train_cfg = TrainConfig(epochs=s.epochs, batch_size=s.batch_size, lr=s.lr, patience=s.patience,
                                monitor="roc_auc", mode="max", seed=seed, device=device,
                                max_minutes=max_minutes, verbose=verbose, progress=False, log_every=0)
        result = Trainer(model, train_cfg, loss_fn=loss_fn, train_data=encode_pairs(pairs),
                         valid_data=encode_pairs(valid), evaluate_fn=evaluate_fn, collate_fn=_collate,
                         out_dir=out_dir, task_config={"task": "qa_match"}).fit()
        model.eval()
        valid_scores = matcher.scores([(a, b) for a, b, _ in valid])
        matcher.threshold = choose_threshold([y for _, _, y in valid], valid_scores.numpy(),
                                             cost_fn=1.0, cost_fp=1.0)
        matcher.fit_result = result
        if out_dir is not None:
            matcher.save(out_dir, extra={"settings": dataclasses.asdict(s), "best_epoch": result.best_epoch,
                                         "valid_roc_auc": result.best_metric})
        return matcher

    def save(self, directory, extra=None) -> Path:
        directory = Path(directory)
        self.model.save_pretrained(directory)
        self.tokenizer.save(directory)
        write_info(directory, {"task": "match", "threshold": self.threshold,
                               "faq": [list(row) for row in self.faq], **(extra or {})})
        return directory

    @classmethod
    def load(cls, directory, device: str = "cpu") -> QuestionMatcher:
        info = read_info(directory, task="match")
        model = PairMatcher.from_pretrained(directory, map_location=resolve_device(device)).eval()
        return cls(model, load_tokenizer(directory), float(info.get("threshold", 0.5)),
                   [tuple(row) for row in info.get("faq", [])])
