"""Question matching: do two questions mean the same? A Siamese bi-encoder and FAQ retrieval.

* ``matcher.py``  -- ``PairMatcher`` (the model) and ``QuestionMatcher`` (scores,
  retrieval from an FAQ table, save and load)
* ``pairs.py``    -- labelled pairs made from an FAQ table
* ``training.py`` -- ``train_matcher``: the training steps
"""
