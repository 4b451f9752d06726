"""The ``evaluate`` verb: a trained QA model's scores on labelled data, its baselines beside them.

What is measured depends on the model (``model.task``):

* **intent router** -- ``accuracy`` and ``macro_f1`` of its decisions; with out-of-scope rows
  (labelled ``oos_label``) also ``in_scope_accuracy`` (the right intent, a hand-off counts as
  wrong) and ``oos_recall`` (out-of-scope questions handed to a person); ``handoff_rate``.
  When the training questions are known (``data="builtin"``, or ``baseline_data``) the TF-IDF
  baselines of :mod:`tasks.qa.baselines` are fitted on them and scored on the same questions,
  under ``"baselines"``: ``{name: {"accuracy": ...}}``;
* **question matcher** -- ``accuracy`` at its threshold and ``roc_auc`` on labelled pairs;
* **reply generator** -- ``exact_match`` of the written replies.

``minitransformer qa evaluate`` prints this dictionary (and writes it with ``--json``).
"""

from __future__ import annotations

from pathlib import Path

from .baselines import intent_baselines
from .data import is_builtin, read_faq, read_intents, read_pairs

__all__ = ["evaluate"]


def evaluate(model, data, *, fmt: str | None = None, text_col: str = "text", label_col: str = "category",
             oos_label: str = "oos", baseline_data=None) -> dict:
    """Score ``model`` (a loaded model, or its folder) on ``data``; see the module docstring.

    ``data`` as for :func:`tasks.qa.train`; ``"builtin"`` means the built-in FAQ's held-out
    questions. ``fmt`` is the layout of question pairs (``atec`` by default) for a matcher.

    Examples:
        >>> import tempfile
        >>> from tasks.qa import evaluate, train
        >>> from tasks.qa.config import tiny_settings
        >>> router = train("builtin", tempfile.mkdtemp(), tiny_settings(), device="cpu", verbose=False).model
        >>> scores = evaluate(router, "builtin")
        >>> sorted(scores)
        ['accuracy', 'baselines', 'handoff_rate', 'in_scope_accuracy', 'macro_f1', 'oos_recall']
        >>> sorted(scores["baselines"])
        ['TF-IDF nearest centroid', 'TF-IDF nearest neighbour']
    """
    if isinstance(model, (str, Path)):
        from .inference import load

        model = load(model)
    if model.task == "intent":
        return _evaluate_router(model, data, text_col, label_col, oos_label, baseline_data)
    if model.task == "match":
        fmt = fmt or "atec"
        if fmt in ("intent", "faq"):
            raise ValueError(f"format {fmt!r}: a matcher is evaluated on question pairs (atec, afqmc, csv)")
        return model.evaluate(read_pairs(data, fmt))
    return model.evaluate(*read_faq(data))


def _evaluate_router(router, data, text_col: str, label_col: str, oos_label: str, baseline_data) -> dict:
    """The router's metrics on the held-out questions, and the baselines' when they can be fitted."""
    columns = dict(text_col=text_col, label_col=label_col, oos_label=oos_label)
    texts, labels = read_intents(data, split="test", **columns)
    metrics = router.evaluate(texts, labels)
    if baseline_data is None and is_builtin(data):
        baseline_data = data
    if baseline_data is not None:
        train_texts, train_labels = read_intents(baseline_data, split="train", **columns)
        metrics["baselines"] = intent_baselines(train_texts, train_labels, texts, labels)
    return metrics
