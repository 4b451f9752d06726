"""Small random Hugging Face checkpoints, built in the tests: no download, no network.

The ``transformers`` library builds GPT-2 and BERT models from configs written here, with random
weights, and saves them as the hub does (``config.json``, ``model.safetensors``); their
vocabularies are trained here with the ``tokenizers`` library on :data:`CORPUS`, and
``transformers``' own tokenizer classes write ``tokenizer.json`` beside them. Both libraries are
test-only dependencies (the ``dev`` extra): callers skip when they are missing.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

#: Made-up shop sentences, English and Chinese, to train the tiny vocabularies on.
CORPUS = [
    "Where is my order? It's been three days and the parcel hasn't arrived.",
    "I'd like a refund for the blue phone case, it doesn't fit my phone.",
    "We've shipped your order #10234 on 2024-05-01; you'll get it soon.",
    "The charger is out of stock. Can I pre-order it? They're cheaper online!",
    "Please change my delivery address to 42 Baker Street, London.",
    "Thanks a lot -- the headphones work great, 5 stars.",
    "How do I use a coupon code at checkout (e.g. SAVE10)?",
    "我的订单什么时候发货？已经三天了还没有物流信息。",
    "请问这个手机壳有蓝色的吗？我想退款，尺寸不合适。",
    "花呗怎么还款？可以分期付款吗？",
    "快递到了，但是包装破损了，怎么办？",
    "优惠券在结算的时候怎么使用？满一百减十元。",
    "Mixed: 我想买 iPhone 15 的 case，多少钱？about ¥99.",
    "Café crème, naïve façade, Über-cool résumé — ÀÉÎÕÜ.",
]


def corpus_lines(repeat: int = 8) -> list[str]:
    return CORPUS * repeat


def _quiet() -> None:
    """No progress bars from ``save_pretrained`` (tests read stderr)."""
    from transformers.utils import logging

    logging.disable_progress_bar()


def write_gpt2(folder: Path, n_positions: int = 64, n_embd: int = 32, n_layer: int = 2, n_head: int = 4,
               vocab_size: int = 500, seed: int = 0, perturb: float = 0.1) -> Path:
    """A random ``GPT2LMHeadModel`` and a byte-level BPE trained on :data:`CORPUS`, in ``folder``.

    ``perturb`` adds noise of that size to every weight, so that layer norms and biases are not
    the ones and zeros of a fresh model (a loader that forgets one of them fails the tests).
    """
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPT2Config, GPT2LMHeadModel, GPT2Tokenizer

    _quiet()
    folder.mkdir(parents=True, exist_ok=True)
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(corpus_lines(), vocab_size=vocab_size, min_frequency=2,
                            special_tokens=["<|endoftext|>"], show_progress=False)
    bpe.save_model(str(folder))  # vocab.json, merges.txt
    GPT2Tokenizer(vocab=str(folder / "vocab.json"), merges=str(folder / "merges.txt")).save_pretrained(folder)
    vocab = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
    eos = vocab["<|endoftext|>"]
    torch.manual_seed(seed)
    config = GPT2Config(vocab_size=len(vocab), n_positions=n_positions, n_embd=n_embd, n_layer=n_layer,
                        n_head=n_head, bos_token_id=eos, eos_token_id=eos)
    model = GPT2LMHeadModel(config).eval()
    _perturb(model, perturb)
    model.save_pretrained(folder)
    return folder


def write_bert(folder: Path, lowercase: bool = True, architecture: str = "BertForMaskedLM",
               hidden: int = 32, layers: int = 2, heads: int = 4, max_positions: int = 64,
               vocab_size: int = 400, seed: int = 0, perturb: float = 0.1) -> Path:
    """A random BERT (``BertForMaskedLM`` or ``BertModel``) and a WordPiece vocabulary trained on
    :data:`CORPUS` (uncased with ``lowercase=True``, cased like ``bert-base-chinese`` without)."""
    import transformers
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertConfig, BertTokenizer

    _quiet()
    folder.mkdir(parents=True, exist_ok=True)
    wordpiece = BertWordPieceTokenizer(lowercase=lowercase, strip_accents=None)
    wordpiece.train_from_iterator(corpus_lines(), vocab_size=vocab_size, min_frequency=2, show_progress=False)
    wordpiece.save_model(str(folder))  # vocab.txt
    BertTokenizer(vocab=_read_vocab(folder / "vocab.txt"), do_lower_case=lowercase).save_pretrained(folder)
    torch.manual_seed(seed)
    config = BertConfig(vocab_size=len(_read_vocab(folder / "vocab.txt")), hidden_size=hidden,
                        num_hidden_layers=layers, num_attention_heads=heads, intermediate_size=2 * hidden,
                        max_position_embeddings=max_positions)
    model = getattr(transformers, architecture)(config).eval()
    _perturb(model, perturb)
    model.save_pretrained(folder)
    return folder


def as_pytorch_bin(folder: Path, target: Path) -> Path:
    """A copy of ``folder`` whose weights are a ``pytorch_model.bin`` (``torch.save`` of the state
    dict), the format of checkpoints older than safetensors."""
    from safetensors.torch import load_file

    shutil.copytree(folder, target)
    weights = target / "model.safetensors"
    torch.save(load_file(str(weights)), target / "pytorch_model.bin")
    weights.unlink()
    return target


def load_reference(folder: Path):
    """``(transformers model, transformers tokenizer)`` of ``folder``, the model in eval mode."""
    from transformers import AutoModel, AutoModelForCausalLM, AutoModelForMaskedLM, AutoTokenizer

    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    architecture = config["architectures"][0]
    loader = {"GPT2LMHeadModel": AutoModelForCausalLM, "BertForMaskedLM": AutoModelForMaskedLM}.get(
        architecture, AutoModel)
    return loader.from_pretrained(folder).eval(), AutoTokenizer.from_pretrained(folder)


def _read_vocab(path: Path) -> dict[str, int]:
    tokens = path.read_text(encoding="utf-8").split("\n")
    return {token: i for i, token in enumerate(tokens[:-1] if tokens[-1] == "" else tokens)}


@torch.no_grad()
def _perturb(model: torch.nn.Module, size: float) -> None:
    generator = torch.Generator().manual_seed(1)
    for parameter in model.parameters():
        parameter.add_(torch.randn(parameter.shape, generator=generator) * size)


def write_tutorial_folders(root: Path) -> Path:
    """``root/gpt2`` and ``root/bert-base-chinese``: small random stand-ins for the two folders
    that the tutorial "GPT-2 and BERT on the code you wrote" downloads, with the same files (the
    BERT one cased and with every head of a pre-training checkpoint: masked-LM, pooler and the
    next-sentence head that is left out on loading)."""
    write_gpt2(root / "gpt2")
    write_bert(root / "bert-base-chinese", lowercase=False, architecture="BertForPreTraining")
    return root
