"""Next-item recommendation: recommend to a shopper the items they are likely to want next.

The Python API, four verbs (the same work as ``minitransformer recommend ...``)::

    import tasks.recommendation as rec

    run = rec.train("Beauty.txt", "runs/beauty")            # SASRec with the defaults -> Run
    model = rec.load("runs/beauty")                          # the model, its item map attached
    rec.evaluate(model, "Beauty.txt")                        # {"sasrec": {...}, "most-popular": ...}
    rec.predict(model, "B0001 B0002", k=10)                  # [(item id, score), ...]

The head, file by file (each one concept):

* ``config.py``    -- :class:`RecommenderConfig` (the core's ``EncoderConfig`` nested as
  ``encoder``), :class:`TrainSettings` (the training recipe) and the defaults per data format
  and model.
* ``data.py``      -- loaders (``user item item ...``, ``user item`` pairs, CSV with
  ``user_id,item_id,timestamp``, the pre-split MovieLens-1M folder), the item-id map, and the
  leave-one-out split.
* ``model.py``     -- :class:`SequentialRecommender`: item embeddings + learned positions + the
  core :class:`~minitransformer.Encoder` + tied output; ``kind="sasrec"`` (causal) or
  ``kind="bert4rec"`` (bidirectional, masked items); ``load``.
* ``losses.py``    -- full-softmax cross-entropy (default), sampled BCE, gBCE.
* ``train.py``     -- training examples, length-bucketed batches, masking, the ``Trainer`` run;
  ``train``.
* ``evaluate.py``  -- full-ranking (history excluded) and sampled-negative protocols; ``evaluate``.
* ``predict.py``   -- the top-k items for one history, and what the model attended to; ``predict``.
* ``baselines.py`` -- most-popular and item-to-item transition scorers.
* ``synthetic.py`` -- a seeded shop simulator (tastes, bundles) for the demo, tutorial and tests.
* ``plot.py``      -- pictures: a history with its attention and the recommendations.
* ``cli.py``       -- ``minitransformer recommend train|evaluate|predict|simulate``.

Metrics live in :mod:`minitransformer.metrics.ranking`, the masking in
:mod:`minitransformer.training.masking` (shared with the QA head). Names are imported on first
use, so ``import tasks.recommendation`` does not load torch.

Three verbs share their name with the module that defines them (``train`` in ``train.py``, ...).
Python's import system sets a package attribute to a submodule when that submodule is first
loaded, which would hide the verb; this package's module type refuses that one assignment, so
``rec.train`` is always the function and ``tasks.recommendation.train`` stays importable as a
module by its full name (``from tasks.recommendation.train import bucketed_batches``).
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING

#: public name -> the module of this head that defines it
_EXPORTS = {
    "train": "train", "load": "model", "evaluate": "evaluate", "predict": "predict",
    "RecommenderConfig": "config", "TrainSettings": "config", "encoder_config": "config",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tasks.recommendation' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"tasks.recommendation.{_EXPORTS[name]}"), name)
    globals()[name] = value  # cache: the next access is a plain attribute lookup
    return value


def __dir__() -> list[str]:
    return __all__


class _Head(types.ModuleType):
    """The package's module type: a verb keeps its name when its submodule is loaded."""

    def __setattr__(self, name: str, value) -> None:
        if name in _EXPORTS and isinstance(value, types.ModuleType):
            return  # the submodule train.py (or evaluate.py, predict.py) never hides its verb
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Head


if TYPE_CHECKING:  # static analysers and IDEs see ordinary imports (the names of __all__)
    from tasks.recommendation.config import RecommenderConfig, TrainSettings, encoder_config  # noqa: F401
    from tasks.recommendation.evaluate import evaluate  # noqa: F401
    from tasks.recommendation.model import load  # noqa: F401
    from tasks.recommendation.predict import predict  # noqa: F401
    from tasks.recommendation.train import train  # noqa: F401
