"""Next-item recommendation: recommend to a shopper the items they are likely to want next.

The head, file by file (each one concept):

* ``data.py``      -- loaders (``user item item ...``, ``user item`` pairs, CSV with
  ``user_id,item_id,timestamp``, the pre-split MovieLens-1M folder), the item-id map, and the
  leave-one-out split.
* ``models.py``    -- :class:`SequentialRecommender`: item embeddings + learned positions + the
  core :class:`~minitransformer.Encoder` + tied output; ``kind="sasrec"`` (causal) or
  ``kind="bert4rec"`` (bidirectional, masked items).
* ``losses.py``    -- full-softmax cross-entropy (default), sampled BCE, gBCE.
* ``train.py``     -- training examples, length-bucketed batches, masking, the ``Trainer`` run.
* ``evaluate.py``  -- full-ranking (history excluded) and sampled-negative protocols.
* ``baselines.py`` -- most-popular and item-to-item transition scorers.
* ``synthetic.py`` -- a seeded shop simulator (tastes, bundles) for the demo, tutorial and tests.
* ``cli.py``       -- ``minitransformer recommend train|evaluate|predict|simulate``.

Metrics live in :mod:`minitransformer.metrics.ranking`, the masking in
:mod:`minitransformer.training.masking` (shared with the QA head).
"""
