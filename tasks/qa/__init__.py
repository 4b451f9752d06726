"""Customer-service QA: intent routing with a hand-off to a person, question matching, generated
replies and few-label learning, in English and Chinese.

Four verbs::

    import tasks.qa as qa

    run = qa.train("builtin", "runs/faq")                 # -> Run(model_dir, model, metrics, seconds)
    router = qa.load("runs/faq")                          # the model a folder holds
    qa.evaluate(router, "builtin")                        # {"accuracy": ..., "baselines": {...}}
    qa.predict(router, ["where is my order?"])            # [{"intent": ..., "answer": ..., ...}]

The head, one concept per file:

* ``config.py``     -- model configs (the core ``EncoderConfig`` nested) and training settings
* ``data.py``       -- intent CSVs, question pairs, FAQ tables; the stratified split
* ``synthetic.py``  -- the built-in bilingual FAQ of a fictional shop (``data="builtin"``)
* ``encoding.py``   -- the tokenizer, token ids, hashed n-grams, padding
* ``model.py``      -- the sentence encoder all QA models share (the core ``Encoder`` inside)
* ``pretrain.py``   -- masked-token pretraining of that encoder
* ``router/``       -- the intent router: classifier, seed ensemble, linear n-gram expert,
  hand-off threshold, training steps
* ``matching/``     -- the Siamese question matcher and FAQ retrieval
* ``replies/``      -- the encoder–decoder reply generator
* ``semi/``         -- few labels: pretraining, three-view self-training, label spreading
* ``pretrained/``   -- ``train(..., init_from=DIR)``: intents and matching on a BERT checkpoint,
  replies from a GPT-2 one (``qa train --init-from DIR``)
* ``bundle.py``     -- the model folder (``qa.json``)
* ``train.py``, ``evaluate.py``, ``inference.py`` -- the verbs (``load`` and ``predict`` in
  ``inference.py``)
* ``baselines.py``  -- TF-IDF nearest-centroid and nearest-neighbour intent baselines (NumPy)
* ``plot.py``       -- confusion matrix, confidence histogram, attention pictures
* ``cli.py``        -- ``minitransformer qa train|evaluate|predict|ask|chat``

**A verb's name stays the verb.** Python names every imported submodule on its package, so
importing the module ``tasks.qa.train`` (``from tasks.qa.train import ...``) would replace the
verb ``tasks.qa.train`` with that module; the package's class below refuses that one
replacement. Import the verbs from here (``from tasks.qa import train``) and the modules' other
names from the modules.
"""

from __future__ import annotations

from tasks.qa.evaluate import evaluate
from tasks.qa.inference import load, predict
from tasks.qa.train import train

__all__ = ["evaluate", "load", "predict", "train"]
