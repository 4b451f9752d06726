"""Few labels, much text: the semi-supervised recipe for intent routing.

* ``recipe.py``      -- masked-token pretraining, three-view self-training and a distilled student
  (``semi_supervised``), the supervised-only baseline and the draw of the few labels
* ``propagation.py`` -- label spreading over a graph of similar questions (the third view)
"""
