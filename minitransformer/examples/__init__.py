"""Small complete programs built on the package (``python -m minitransformer.examples.NAME``).

* ``digit_reversal.py`` -- the encoder–decoder learns to reverse digit strings through
  cross-attention, in a couple of CPU minutes.
"""
