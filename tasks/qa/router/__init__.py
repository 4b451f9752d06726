"""The intent router: which of N intents a question asks, or a hand-off to a person.

One concept per file, in reading order:

* ``classifier.py``  -- ``IntentClassifier``: the sentence encoder + a linear head (and an
  optional "wide" part on hashed n-grams); its fine-tuning in the core ``Trainer``
* ``ensemble.py``    -- K classifiers with different seeds, trained side by side in processes
* ``ngram_vocab.py`` -- the exact n-gram vocabulary of the training questions
* ``linear.py``      -- the linear n-gram expert (TF-IDF logistic regression by L-BFGS) and the
  weighted product of two experts
* ``oos.py``         -- the hand-off threshold and the routing metrics
* ``router.py``      -- ``IntentRouter``: everything above put together, saved and loaded
* ``training.py``    -- ``train_router``: the training steps, one function each
"""
