"""The ``evaluate`` verb: a trained QA model's scores on labelled data, its baselines beside them.

What is measured depends on the model (``model.task``):

* **intent router** -- ``accuracy`` and ``macro_f1`` of its decisions; with out-of-scope rows
  (labelled ``oos_label``) also ``in_scope_accuracy`` (the right intent, a hand-off counts as
  wrong) and ``oos_recall`` (out-of-scope questions handed to a person); ``handoff_rate``.
  When the training questions are known (``data="builtin"``, or ``baseline_data``) the TF-IDF
  baselines of :mod:`tasks.qa.baselines` are fitted on them and scored on the same questions,
  under ``"baselines"``: ``{name: {"accuracy": ...}}``;
* **question matcher** -- ``accuracy`` at its threshold and ``roc_auc`` on labelled pairs, and
  ``majority_class_accuracy`` (always answering the commoner label) beside them; a matcher
  trained on labelled pairs also keeps the lexical baseline fitted on its training pairs
  (character TF-IDF + logistic regression, :class:`~tasks.qa.baselines.TfidfPairBaseline`),
  scored on the same pairs under ``"baselines"``, and a cross-encoder blended with it reports
  the Transformer's own ``transformer_roc_auc`` too;
* **reply generator** -- ``exact_match`` of the written replies.

``minitransformer qa evaluate`` prints this dictionary (and writes it with ``--json``).
"""

from __future__ import annotations

from pathlib import Path

from .baselines import intent_baselines
from .data import PAIR_FORMATS, is_builtin, read_faq, read_intents, read_pairs
from .inference import check_batch_size, load, predict
from .replies.generator import exact_match

__all__ = ["evaluate"]


def evaluate(model, data, *, fmt: str | None = None, text_col: str | None = None,
             label_col: str | None = None, oos_label: str | None = None, baseline_data=None,
             batch_size: int | None = None) -> dict:
    """Score ``model`` (a loaded model, or its folder) on ``data``; see the module docstring.

    ``data`` as for :func:`tasks.qa.train`; ``"builtin"`` means the built-in FAQ's held-out
    questions. ``fmt`` is the layout of the data: ``intent`` for an intent router (the default),
    question pairs for a matcher (``atec`` by default, ``afqmc``, ``csv``), ``faq`` for a reply
    generator. ``text_col``, ``label_col``: an intent CSV's columns, by default those the router
    was trained with (saved in its folder); a file without them is refused, its missing and extra
    columns named. ``oos_label``: the router's own out-of-scope label (None: read from the model).
    ``batch_size``: questions scored at a time (None: all at once).

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
    check_batch_size(batch_size)
    if isinstance(model, (str, Path)):
        model = load(model)
    if model.task == "intent":
        if fmt not in (None, "intent"):
            raise ValueError(f"format {fmt!r}: an intent router is evaluated on an intent CSV "
                             "(format 'intent')")
        if oos_label is not None and oos_label != model.oos_label:
            raise ValueError(f"oos_label: the model's out-of-scope label is {model.oos_label!r}, "
                             f"got {oos_label!r}")
        text_col = model.columns[0] if text_col is None else text_col
        label_col = model.columns[1] if label_col is None else label_col
        return _evaluate_router(model, data, text_col, label_col, baseline_data, batch_size)
    if text_col is not None or label_col is not None:
        raise ValueError(f"text_col, label_col: a {model.task!r} model reads fixed columns, not an "
                         "intent CSV's")
    if model.task == "match":
        fmt = fmt or "atec"
        if fmt not in PAIR_FORMATS:
            raise ValueError(f"format {fmt!r}: a matcher is evaluated on question pairs (atec, afqmc, csv)")
        return model.evaluate(read_pairs(data, fmt), batch_size or 256)
    if fmt not in (None, "faq"):
        raise ValueError(f"format {fmt!r}: a reply generator is evaluated on an FAQ table (format 'faq')")
    questions, answers = read_faq(data)
    replies = [reply["answer"] for reply in predict(model, questions, batch_size=batch_size)]
    return {"exact_match": exact_match(replies, answers)}


def _evaluate_router(router, data, text_col: str, label_col: str, baseline_data,
                     batch_size: int | None) -> dict:
    """The router's metrics on the held-out questions, and the baselines' when they can be fitted."""
    columns = dict(text_col=text_col, label_col=label_col, oos_label=router.oos_label)
    texts, labels = read_intents(data, split="test", trained=True, **columns)
    unknown = sorted({y for y in labels if y not in router.label_to_id and y != router.oos_label})
    if unknown:
        where = f"{data}: " if isinstance(data, (str, Path)) else "data: "
        shown = ", ".join(map(repr, unknown[:5])) + (" ..." if len(unknown) > 5 else "")
        raise ValueError(f"{where}label(s) {shown} not seen in training (the model knows "
                         f"{len(router.labels)} intents; out-of-scope rows must be labelled "
                         f"{router.oos_label!r})")
    metrics = router.evaluate(texts, labels, batch_size)
    if baseline_data is None and is_builtin(data):
        baseline_data = data
    if baseline_data is not None:
        train_texts, train_labels = read_intents(baseline_data, split="train", **columns)
        metrics["baselines"] = intent_baselines(train_texts, train_labels, texts, labels)
    return metrics
