"""Question matching: do two questions mean the same? A cross-encoder, a Siamese bi-encoder and FAQ retrieval.

* ``cross_encoder.py`` -- ``CrossPairMatcher``: both questions in one sequence (labelled pairs)
* ``matcher.py``       -- ``PairMatcher`` (the bi-encoder, for FAQ tables) and ``QuestionMatcher``
  (scores, retrieval from an FAQ table, save and load, for either model)
* ``blend.py``         -- the cross-encoder blended with the lexical baseline on validation
* ``pairs.py``         -- labelled pairs made from an FAQ table
* ``training.py``      -- ``train_matcher``: the training steps
"""
