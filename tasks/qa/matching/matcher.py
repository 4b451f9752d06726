"""Question matching: do two questions ask the same thing? A bi-encoder, and FAQ retrieval with it.

(:class:`QuestionMatcher` also wraps the cross-encoder of :mod:`.cross_encoder`, the default for
labelled pairs; the bi-encoder below is the FAQ's, where questions must be encoded once.)

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

Trained by :func:`tasks.qa.matching.training.train_matcher` (labelled pairs, or pairs made from
an FAQ table by :func:`tasks.qa.matching.pairs.pairs_from_faq`); settings in
:class:`~tasks.qa.config.MatchSettings`, the model's in :class:`~tasks.qa.config.MatchConfig`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from minitransformer import PretrainedMixin
from minitransformer.errors import CheckpointError
from minitransformer.metrics.classification import accuracy, roc_auc, roc_auc_within
from minitransformer.nn.io import save_json

from ..bundle import QA_FILE, check_vocabulary, load_module, model_file, read_info, write_info
from ..config import MatchConfig
from ..encoding import Encoded, encode_questions, pad_ids
from ..model import SentenceEncoder
from .blend import blend_logits
from .overlap import overlap_bands

__all__ = ["PairMatcher", "QuestionMatcher", "pair_batches", "BASELINE_FILE"]

#: the lexical baseline fitted beside the matcher, scored beside it by ``evaluate``
BASELINE_FILE = "baseline.json"


class PairMatcher(PretrainedMixin, nn.Module):
    """Two questions ``(B, T)`` each -> ``(B,)`` same-meaning logits."""

    config_class = MatchConfig

    def __init__(self, config: MatchConfig):
        super().__init__()
        self.config = config
        self.sentence = SentenceEncoder(config.sentence_config())
        d = config.encoder.d_model
        self.head = nn.Sequential(nn.Dropout(config.encoder.dropout), nn.Linear(4 * d, d), nn.GELU(),
                                  nn.Linear(d, 1))

    @classmethod
    def from_config(cls, config: MatchConfig) -> PairMatcher:
        return cls(config)

    def pair_logits(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """Sentence vectors ``(B, D)`` x2 -> ``(B,)``."""
        return self.head(torch.cat([u, v, (u - v).abs(), u * v], dim=-1)).squeeze(-1)

    def forward(self, a_ids, a_grams, b_ids, b_grams) -> torch.Tensor:
        """``(B, T_a)``, ``(B, G_a)``, ``(B, T_b)``, ``(B, G_b)`` ids -> ``(B,)`` logits."""
        return self.pair_logits(self.sentence(a_ids, a_grams), self.sentence(b_ids, b_grams))


def pair_batches(rows: Sequence[tuple[Encoded, Encoded, int]]):
    """collate_fn: ``[((a_ids, a_grams), (b_ids, b_grams), y)]`` -> four padded id tensors and
    ``(B,)`` float labels."""
    return (pad_ids([r[0][0] for r in rows]), pad_ids([r[0][1] for r in rows]),
            pad_ids([r[1][0] for r in rows]), pad_ids([r[1][1] for r in rows]),
            torch.tensor([float(r[2]) for r in rows]))


class QuestionMatcher:
    """A trained pair matcher with its tokenizer, threshold and (optionally) an FAQ table."""

    task = "match"  # what qa.json says the folder holds

    def __init__(self, model: PairMatcher, tokenizer, threshold: float = 0.5,
                 faq: list[tuple[str, str]] | None = None):
        self.model, self.tokenizer, self.threshold, self.faq = model, tokenizer, threshold, list(faq or [])
        self.baseline = None  # the TF-IDF pair baseline fitted on the same training pairs, if kept
        self.baseline_threshold = 0.5  # its accuracy threshold, chosen on validation like ours
        self.blend = None  # (a, b, c): p = σ(a·model logit + b·baseline logit + c), see .blend

    @property
    def cross(self) -> bool:
        """True when the model reads both questions as one sequence (:mod:`.cross_encoder`)."""
        from .cross_encoder import CrossPairMatcher

        return isinstance(self.model, CrossPairMatcher)

    def encode(self, texts: Sequence[str]) -> list[Encoded]:
        """(token ids, n-gram ids) per question (a Siamese matcher's inputs)."""
        return encode_questions(self.tokenizer, texts, self.model.config)

    def encode_pairs(self, pairs: Sequence[tuple[str, str]]) -> list:
        """Each pair as the model reads it: ``(a, b)`` inputs of a Siamese matcher, or one
        :data:`~.cross_encoder.CrossEncoded` of a cross-encoder."""
        if self.cross:
            from .cross_encoder import encode_cross

            return encode_cross(self.tokenizer, pairs, self.model.config)
        a, b = self.encode([p[0] for p in pairs]), self.encode([p[1] for p in pairs])
        return list(zip(a, b))

    @torch.no_grad()
    def model_logits(self, pairs: Sequence[tuple[str, str]], batch_size: int = 256) -> torch.Tensor:
        """``(N,)`` the cross-encoder's own logits, the mean of both orders of each pair."""
        self.model.eval()
        rows = [(x, 0) for x in self.encode_pairs(pairs)]
        out = [self.model.symmetric_logits(rows[s:s + batch_size]).cpu()
               for s in range(0, len(rows), batch_size)]
        return torch.cat(out) if out else torch.zeros(0)

    @torch.no_grad()
    def scores(self, pairs: Sequence[tuple[str, str]], batch_size: int = 256) -> torch.Tensor:
        """``(N,)`` probabilities that each pair means the same. A cross-encoder's: the sigmoid
        of :meth:`model_logits`, or of its blend with the lexical baseline (:mod:`.blend`)."""
        self.model.eval()
        if self.cross:
            logits = self.model_logits(pairs, batch_size)
            if self.blend is not None and len(pairs):
                mixed = blend_logits(self.blend, logits.numpy(), self.baseline.logits(pairs))
                logits = torch.from_numpy(mixed).float()
            return torch.sigmoid(logits)
        device = next(self.model.parameters()).device
        a, b = self.encode([p[0] for p in pairs]), self.encode([p[1] for p in pairs])
        out = []
        for s in range(0, len(pairs), batch_size):
            batch = pair_batches([(x, y, 0) for x, y in zip(a[s:s + batch_size], b[s:s + batch_size])])
            out.append(torch.sigmoid(self.model(*[t.to(device) for t in batch[:4]])).cpu())
        return torch.cat(out) if out else torch.zeros(0)

    def evaluate(self, pairs: Sequence[tuple[str, str, int]], batch_size: int = 256) -> dict[str, float]:
        """``accuracy`` at the threshold and ``roc_auc`` on labelled pairs; ``same_overlap_roc_auc``:
        the ROC-AUC among pairs of equal character overlap (:mod:`.overlap`), for the baseline too."""
        texts = [(a, b) for a, b, _ in pairs]
        scores = self.scores(texts, batch_size)
        truth = [y for _, _, y in pairs]
        pred = (scores >= self.threshold).long().tolist()
        bands = overlap_bands(texts)  # (N,) which tenth of the character overlaps

        def both(values) -> dict[str, float]:
            out = {"roc_auc": roc_auc(truth, values)}
            if _mixed_band(truth, bands):  # else no positive has a negative of its overlap to compare with
                out["same_overlap_roc_auc"] = roc_auc_within(truth, values, bands)
            return out

        metrics = {"accuracy": accuracy(truth, pred), **both(scores.numpy()),
                   "majority_class_accuracy": max(sum(truth), len(truth) - sum(truth)) / len(truth)}
        if self.blend is not None:  # what the Transformer scores alone
            alone = both(self.model_logits(texts, batch_size).numpy())
            metrics.update({f"transformer_{k}": v for k, v in alone.items()})
        if self.baseline is not None:
            lexical = self.baseline.scores(texts)
            metrics["baselines"] = {self.baseline.name: {
                **both(lexical),
                "accuracy": accuracy(truth, [int(p >= self.baseline_threshold) for p in lexical])}}
        return metrics

    def retrieve(self, question: str, batch_size: int = 256) -> dict:
        """The FAQ entry most likely to mean the same as ``question`` (``answer`` None = human)."""
        if not self.faq:
            raise ValueError("this matcher was trained on pairs without an FAQ table; nothing to retrieve")
        scores = self.scores([(question, q) for q, _ in self.faq], batch_size)
        best = int(scores.argmax())
        confident = float(scores[best]) >= self.threshold
        return {"matched_question": self.faq[best][0], "score": float(scores[best]),
                "handoff": not confident, "answer": self.faq[best][1] if confident else None}

    def save(self, directory, extra=None) -> Path:
        """Write the matcher into ``directory`` (see :mod:`tasks.qa.bundle`); ``extra`` joins qa.json."""
        directory = Path(directory)
        self.model.save_pretrained(directory)
        self.tokenizer.save(directory)
        if self.baseline is not None:
            save_json(directory / BASELINE_FILE, {**self.baseline.to_dict(),
                                                  "threshold": self.baseline_threshold})
        if self.blend is not None:
            extra = {**(extra or {}), "blend": list(self.blend)}
        write_info(directory, {"task": "match", "threshold": self.threshold,
                               "faq": [list(row) for row in self.faq], **(extra or {})})
        return directory

    @classmethod
    def load(cls, directory, device: str = "cpu") -> QuestionMatcher:
        """Read a matcher written by :meth:`save`."""
        info = read_info(directory, task="match")
        from ..pretrained.checkpoint import load_qa_tokenizer
        from ..pretrained.matcher import BertMatchConfig, BertPairMatcher
        from .cross_encoder import CrossPairMatcher

        model_type = _model_type(directory)
        bert = model_type == BertMatchConfig.model_type
        kind = {BertMatchConfig.model_type: BertPairMatcher,
                CrossPairMatcher.config_class.model_type: CrossPairMatcher}.get(model_type, PairMatcher)
        model = load_module(kind, directory, device)
        tokenizer = load_qa_tokenizer(directory)
        config = model.config
        check_vocabulary(tokenizer, config.text_encoder.vocab_size if bert else config.vocab_size, directory)
        matcher = cls(model, tokenizer, float(info.get("threshold", 0.5)),
                      [tuple(row) for row in info.get("faq", [])])
        path = model_file(directory, BASELINE_FILE)
        if path.is_file():
            matcher.baseline, matcher.baseline_threshold = _read_baseline(path)
        elif "blend" in info:
            raise CheckpointError(f"{path}: missing; this matcher adds the lexical baseline's scores")
        if "blend" in info:
            matcher.blend = _read_blend(info["blend"], model_file(directory, QA_FILE))
        return matcher


def _mixed_band(truth: Sequence[int], bands) -> bool:
    """Whether some overlap band holds both a positive and a negative pair."""
    seen: dict[int, set] = {}
    for y, band in zip(truth, bands.tolist()):
        seen.setdefault(band, set()).add(int(y))
    return any(len(labels) == 2 for labels in seen.values())


def _read_blend(value, path: Path) -> tuple[float, float, float]:
    """qa.json's ``blend``: three finite numbers, else one line naming the file."""
    import math

    ok = isinstance(value, list) and len(value) == 3 and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value)
    if not ok:
        raise CheckpointError(f"{path}: blend: expected three finite numbers, got {str(value)[:60]}")
    return tuple(float(v) for v in value)


def _read_baseline(path: Path):
    """``(TfidfPairBaseline, its threshold)`` from a folder's ``baseline.json``; one line naming
    the file when it is not one."""
    import json
    import math

    from ..baselines import TfidfPairBaseline

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as err:
        raise CheckpointError(f"{path}: not readable JSON ({str(err).splitlines()[0][:80]})") from None
    try:
        baseline = TfidfPairBaseline.from_dict(data, path)
    except ValueError as err:
        raise CheckpointError(str(err)) from None
    threshold = data.get("threshold")
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not math.isfinite(threshold):
        raise CheckpointError(f"{path}: threshold: expected a finite number, got {str(threshold)[:40]!r}")
    return baseline, float(threshold)


def _model_type(directory) -> str | None:
    """``model_type`` of a saved model's ``config.json`` (None when unreadable: loading says why)."""
    import json

    try:
        return json.loads(model_file(directory, "config.json").read_text(encoding="utf-8")).get("model_type")
    except (OSError, ValueError, AttributeError, RecursionError):
        return None
