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
  core :class:`~minitransformer.Encoder` + tied output (+ the transition prior);
  ``kind="sasrec"`` (causal) or ``kind="bert4rec"`` (bidirectional, masked items); ``load``.
* ``transitions.py`` -- the transition prior's item-to-item counts (items 1..K after and
  before each item), stored sparsely and added to the scores.
* ``mixing.py``    -- fitting the mix of the Transformer and the counts on the validation items.
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
:mod:`minitransformer.training.masking` (shared with the QA head).
"""

from __future__ import annotations

from tasks.recommendation.config import RecommenderConfig, TrainSettings, encoder_config
from tasks.recommendation.evaluate import evaluate
from tasks.recommendation.model import load
from tasks.recommendation.predict import predict
from tasks.recommendation.train import train

__all__ = ["RecommenderConfig", "TrainSettings", "encoder_config", "evaluate", "load", "predict", "train"]
