"""QA models that start from a pretrained checkpoint (``qa train --init-from DIR``).

* ``checkpoint.py`` -- what a checkpoint folder holds (GPT-2 or BERT), refusals before training,
  loading it with :func:`minitransformer.interop.from_hf`, reading a saved model's tokenizer
* ``sentence.py``   -- the BERT sentence encoder (the loaded ``TextEncoder`` + pooling)
* ``intent.py``     -- the intent classifier on it (the router's Transformer)
* ``matcher.py``    -- the pair matcher on it
* ``replies.py``    -- the GPT-2 reply model: fine-tuned on ``question <separator> answer``,
  decoded with ``generate`` and its KV cache

The trained models are saved in our own format (``config.json`` + ``model.safetensors``, the
checkpoint's tokenizer files beside them): the model folder answers without the checkpoint.
"""
