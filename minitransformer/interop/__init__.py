"""Our modules beside other implementations: the oracles the tests compare the core with.

* ``pytorch.py``         -- :func:`from_torch`: our module holding the weights of an
  ``nn.MultiheadAttention`` / ``nn.LayerNorm`` / ``nn.TransformerEncoder(Layer)`` /
  ``nn.TransformerDecoder(Layer)``, so that the two can be compared weight for weight;
* ``numpy_reference.py`` -- the same forward pass written in NumPy, for reading and as a second
  oracle;
* ``huggingface.py``     -- :func:`from_hf`: a GPT-2 or BERT checkpoint folder of the Hugging Face
  hub as our ``CausalLM`` / ``TextEncoder`` holding its weights, with its tokenizer.
"""

from minitransformer.interop.huggingface import from_hf
from minitransformer.interop.pytorch import from_torch

__all__ = ["from_hf", "from_torch"]
