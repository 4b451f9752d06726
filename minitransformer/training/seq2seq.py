"""Teacher forcing for encoder–decoder models: batches and the loss.

    src     = tokens(source)                      (B, S)
    tgt_in  = <bos> y_1 … y_n                     (B, T)   what the decoder reads
    tgt_out = y_1 … y_n <eos>                     (B, T)   what each position must predict
    loss    = CE( Transformer(src, tgt_in), tgt_out )      pad positions ignored

Used by the digit-reversal example (:mod:`minitransformer.examples.digit_reversal`) and by any
head that writes text from text (the QA head's generated replies).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from minitransformer.nn.transformer import Transformer
from minitransformer.tokenizers.special import Tokenizer

__all__ = ["collate", "build_model", "seq2seq_loss"]


def collate(examples: Sequence[tuple[str, str]], tokenizer: Tokenizer) -> dict[str, torch.Tensor]:
    """Pad a list of examples into the tensors of one teacher-forced training step.

    Returns ``src`` ``(B, S)``, ``tgt_in`` ``(B, T)`` = ``<bos> y_1 … y_n`` (the decoder input)
    and ``tgt_out`` ``(B, T)`` = ``y_1 … y_n <eos>`` (what each position must predict), all
    right-padded with ``pad_id``.
    """
    targets = [t for _, t in examples]
    return {
        "src": tokenizer.encode_batch([s for s, _ in examples]).ids,  # (B, S)
        "tgt_in": tokenizer.encode_batch(targets, add_bos=True).ids,  # (B, T) <bos> y_1 … y_n
        "tgt_out": tokenizer.encode_batch(targets, add_eos=True).ids,  # (B, T) y_1 … y_n <eos>
    }


def build_model(tokenizer: Tokenizer, d_model: int = 64, nhead: int = 4, num_layers: int = 2,
                dim_feedforward: int = 256, dropout: float = 0.0, max_len: int = 64) -> Transformer:
    """A small pre-norm encoder–decoder with shared source/target vocabulary and tied embeddings."""
    vocab = tokenizer.vocab_size
    return Transformer(vocab, vocab, d_model, nhead, num_layers, num_layers, dim_feedforward,
                       dropout, norm_first=True, max_len=max_len, tie_embeddings=True,
                       pad_id=tokenizer.pad_id, bos_id=tokenizer.bos_id, eos_id=tokenizer.eos_id)


def seq2seq_loss(model: Transformer, batch: dict[str, torch.Tensor],
                 label_smoothing: float = 0.0) -> torch.Tensor:
    """Teacher-forced cross-entropy, ``loss_fn(model, batch)`` as the Trainer expects it.

        logits = model(src, tgt_in)                       (B, T, V)
        loss = mean over non-pad t of −log softmax(logits_t)[tgt_out_t]
    """
    pad_id = model.config.pad_id
    src, tgt_in, tgt_out = batch["src"], batch["tgt_in"], batch["tgt_out"]
    logits = model(src, tgt_in, src_padding_mask=src == pad_id,
                   tgt_padding_mask=tgt_in == pad_id)  # (B, T, V)
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), tgt_out.reshape(-1),
                           ignore_index=pad_id, label_smoothing=label_smoothing)
