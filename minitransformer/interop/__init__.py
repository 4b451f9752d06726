"""Our modules beside other implementations: the oracles the tests compare the core with.

* ``pytorch.py``         -- :func:`from_torch`: our module holding the weights of an
  ``nn.MultiheadAttention`` / ``nn.LayerNorm`` / ``nn.TransformerEncoder(Layer)`` /
  ``nn.TransformerDecoder(Layer)``, so that the two can be compared weight for weight;
* ``numpy_reference.py`` -- the same forward pass written in NumPy, for reading and as a second
  oracle.
"""

from minitransformer.interop.pytorch import from_torch

__all__ = ["from_torch"]
