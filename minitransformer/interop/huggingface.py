"""Real pretrained weights in the code you wrote: GPT-2 and BERT checkpoints from Hugging Face.

    model, tokenizer = from_hf("gpt2")                 # CausalLM + GPT2Tokenizer
    model, tokenizer = from_hf("bert-base-chinese")    # TextEncoder + WordPieceTokenizer

A checkpoint folder, as the Hugging Face hub stores it, holds ``config.json`` (the sizes, and in
``"architectures"`` the class that saved it), the weights (``model.safetensors``; older ones
``pytorch_model.bin``) and the tokenizer's files. :func:`from_hf` reads the three from disk, builds
our module with the same sizes and copies every weight into it under our names. Nothing is
downloaded, and nothing of the ``transformers`` library is needed.

**Safety.** A ``.bin`` file is a pickle; it is read with ``torch.load(weights_only=True)``, which
rebuilds tensors and plain containers only and refuses a file that asks for anything else.

**GPT-2** (``GPT2LMHeadModel`` / ``GPT2Model``) becomes a :class:`~minitransformer.CausalLM`:
learned positions, pre-norm layers with a final layer norm, GELU in its tanh form, no √D scale on
the token embedding, the output projection tied to it. The one real conversion is attention:
GPT-2 computes q, k and v with a single "Conv1D" whose weight is stored as ``(D, 3D)``, inputs
times weight, so ours are its transpose cut in three::

    h.{i}.attn.c_attn.weight  (D, 3D)  ->  [W_q; W_k; W_v] = weightᵀ (3D, D)
    h.{i}.attn.c_proj, mlp.c_fc, mlp.c_proj (Conv1D)  ->  w_o, linear1, linear2 (transposed)
    h.{i}.ln_1, h.{i}.ln_2, ln_f  ->  attn_residual.norm, ff_residual.norm, encoder.norm
    wte, wpe  ->  embedding, positions;   lm_head  ->  tied to wte

GPT-2 has no padding token: ``pad_id``, ``bos_id`` and ``eos_id`` are all ``<|endoftext|>``, as in
the original tokenizer (so that row of the embedding gets no gradient when fine-tuning).

**BERT** (``BertModel`` / ``BertForMaskedLM`` / ``BertForPreTraining``) becomes a
:class:`~minitransformer.TextEncoder`: post-norm layers, token-type embeddings, the masked-LM head
when the checkpoint has one (``cls.predictions``) and the pooler when it has one
(``bert.pooler``); the next-sentence head of ``BertForPreTraining`` is left out::

    embeddings.{word,position,token_type}_embeddings, embeddings.LayerNorm
        ->  embedding, positions, token_types, embedding_norm
    encoder.layer.{i}.attention.self.{query,key,value}, attention.output.dense  ->  self_attn.w_{q,k,v,o}
    encoder.layer.{i}.attention.output.LayerNorm, output.LayerNorm  ->  attn_residual.norm, ff_residual.norm
    encoder.layer.{i}.intermediate.dense, output.dense  ->  feed_forward.linear1, linear2
    cls.predictions.transform.{dense,LayerNorm}, cls.predictions.bias  ->  mlm_head.{dense,norm,output.bias}

Old TensorFlow-converted files name layer-norm parameters ``gamma``/``beta``; both spellings are
read. Any other architecture is refused with a message that names the one found.

The model comes back in eval mode, in float32 (``dtype=`` for another). Fine-tuned, it is saved
in our own format (``save_pretrained``: ``config.json`` + ``model.safetensors``), and
``tokenizer.save(folder)`` writes the tokenizer's files beside it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from minitransformer.nn.language_model import CausalLM
from minitransformer.nn.text_encoder import TextEncoder
from minitransformer.tokenizers.gpt2 import GPT2Tokenizer
from minitransformer.tokenizers.wordpiece import WordPieceTokenizer

__all__ = ["from_hf", "checkpoint_family", "read_hf_weights", "GPT2_ARCHITECTURES", "BERT_ARCHITECTURES"]

GPT2_ARCHITECTURES = ("GPT2LMHeadModel", "GPT2Model")
BERT_ARCHITECTURES = ("BertForMaskedLM", "BertModel", "BertForPreTraining")
#: Hugging Face activation names -> ours
ACTIVATIONS = {"gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh", "gelu": "gelu", "relu": "relu"}
#: our own model types: a folder written by save_pretrained, not a Hugging Face checkpoint
OUR_MODEL_TYPES = {"causal_lm": "CausalLM", "text_encoder": "TextEncoder", "transformer": "Transformer",
                   "encoder": "Encoder"}


def from_hf(directory: str | Path, dtype: torch.dtype = torch.float32):
    """Load a GPT-2 or BERT checkpoint folder: ``(model, tokenizer)``, the model in eval mode.

    Args:
        directory: a folder with ``config.json``, ``model.safetensors`` (or
            ``model.safetensors.index.json`` and its shards, or ``pytorch_model.bin``) and the
            tokenizer's files (``vocab.json`` + ``merges.txt``, or ``vocab.txt``).
        dtype: the dtype of the returned model's weights.

    Returns:
        ``(CausalLM, GPT2Tokenizer)`` for GPT-2, ``(TextEncoder, WordPieceTokenizer)`` for BERT.

    Raises:
        FileNotFoundError: a file is missing (the message names it).
        ValueError: an unsupported architecture or setting, or weights that do not fit the
            configuration (the message names the file and what is wrong).
    """
    directory = Path(directory)
    family = checkpoint_family(directory)  # refuses a missing folder or another architecture first
    config_file = directory / "config.json"
    config = _read_json(config_file)
    weights = _strip_prefixes(read_hf_weights(directory, dtype))
    if family == "gpt2":
        tokenizer = GPT2Tokenizer.from_pretrained(directory)
        model = _gpt2(config, weights, config_file, tokenizer)
    else:
        tokenizer = WordPieceTokenizer.from_pretrained(directory)
        model = _bert(config, weights, config_file)
    return model.to(dtype).eval(), tokenizer


# ------------------------------------------------------------------------------------------ files
def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found (a Hugging Face checkpoint folder has one)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def read_hf_weights(directory: str | Path, dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    """Every tensor of a checkpoint folder, by its Hugging Face name, as ``dtype``.

    ``model.safetensors`` first, then a sharded ``model.safetensors.index.json``, then
    ``pytorch_model.bin`` read with ``weights_only=True`` (no arbitrary unpickling).
    """
    directory = Path(directory)
    single, index, pickled = (directory / "model.safetensors", directory / "model.safetensors.index.json",
                              directory / "pytorch_model.bin")
    if single.is_file():
        tensors = _safetensors(single)
    elif index.is_file():
        weight_map = _read_json(index).get("weight_map")
        if not isinstance(weight_map, dict):
            raise ValueError(f"{index}: expected a 'weight_map' object of tensor name -> file")
        tensors = {}
        for shard in sorted(set(weight_map.values())):
            tensors.update(_safetensors(directory / shard))
    elif pickled.is_file():
        try:
            tensors = torch.load(pickled, map_location="cpu", weights_only=True)
        except Exception as err:  # an untrusted file: whatever goes wrong is a bad file
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ValueError(f"{pickled}: not a plain file of tensors, refused ({first})") from None
        if not isinstance(tensors, dict) or not all(isinstance(t, torch.Tensor) for t in tensors.values()):
            raise ValueError(f"{pickled}: expected a dict of tensor name -> tensor")
    else:
        raise FileNotFoundError(f"{directory}: no weights found (expected model.safetensors or "
                                "pytorch_model.bin)")
    return {name: tensor.to(dtype) if tensor.is_floating_point() else tensor
            for name, tensor in tensors.items()}


def _safetensors(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: file not found")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as err:
        raise ValueError(f"{path}: not a readable safetensors file ({err})") from None


def _strip_prefixes(weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Drop the ``transformer.`` / ``bert.`` prefix of a model-with-head and spell
    TensorFlow's ``gamma``/``beta`` as ``weight``/``bias``."""
    out = {}
    for name, tensor in weights.items():
        for prefix in ("transformer.", "bert."):
            if name.startswith(prefix):
                name = name[len(prefix):]
        if name.endswith(".LayerNorm.gamma"):
            name = name.removesuffix("gamma") + "weight"
        elif name.endswith(".LayerNorm.beta"):
            name = name.removesuffix("beta") + "bias"
        out[name] = tensor
    return out


def checkpoint_family(directory: str | Path) -> str:
    """``"gpt2"`` or ``"bert"``: what the folder's ``config.json`` says it holds (its
    ``architectures``, or ``model_type`` when that is absent). Reads no weights, so a wrong folder
    is refused at once; anything else is a ``ValueError`` naming the file and what it found."""
    directory = Path(directory)
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: checkpoint folder not found")
    source = directory / "config.json"
    config = _read_json(source)
    architectures = config.get("architectures") or []
    model_type = config.get("model_type")
    if model_type in OUR_MODEL_TYPES:
        raise ValueError(f"{source}: this folder holds a minitransformer {OUR_MODEL_TYPES[model_type]} saved "
                         f"with save_pretrained; load it with {OUR_MODEL_TYPES[model_type]}.from_pretrained")
    known = (f"from_hf reads GPT-2 ({', '.join(GPT2_ARCHITECTURES)}) and BERT "
             f"({', '.join(BERT_ARCHITECTURES)}) checkpoints")
    if architectures:
        found = architectures[0] if isinstance(architectures, list) else architectures
        if found in GPT2_ARCHITECTURES:
            return "gpt2"
        if found in BERT_ARCHITECTURES:
            return "bert"
        raise ValueError(f"{source}: architecture {found!r} is not supported; {known}")
    if model_type in ("gpt2", "bert"):
        return model_type
    raise ValueError(f"{source}: model_type {model_type!r} (no architectures listed) is not supported; "
                     f"{known}")


class _Weights:
    """The checkpoint's tensors, taken one by one; what is left at the end was not used."""

    def __init__(self, weights: dict[str, torch.Tensor], source: Path):
        self.weights, self.source = dict(weights), source

    def has(self, name: str) -> bool:
        return name in self.weights

    def take(self, name: str, shape: tuple[int, ...]) -> torch.Tensor:
        if name not in self.weights:
            raise ValueError(f"{self.source.parent}: the weights have no tensor {name!r}, which "
                             f"{self.source.name} implies")
        tensor = self.weights.pop(name)
        if tuple(tensor.shape) != shape:
            raise ValueError(f"{self.source.parent}: tensor {name!r} has shape {tuple(tensor.shape)}, "
                             f"{self.source.name} implies {shape}")
        return tensor

    def discard(self, ignored: Callable[[str], bool]) -> None:
        for name in [n for n in self.weights if ignored(n)]:
            del self.weights[name]

    def check_all_used(self) -> None:
        if self.weights:
            names = sorted(self.weights)
            raise ValueError(f"{self.source.parent}: {len(names)} tensor(s) of the checkpoint have no place "
                             f"in the model, e.g. {names[:3]}")


def _setting(config: dict[str, Any], source: Path, name: str, default: Any = None) -> Any:
    value = config.get(name, default)
    if value is None:
        raise ValueError(f"{source}: missing the setting {name!r}")
    return value


def _activation(config: dict[str, Any], source: Path, name: str, default: str) -> str:
    value = _setting(config, source, name, default)
    if value not in ACTIVATIONS:
        raise ValueError(f"{source}: {name} {value!r} is not supported; expected one of "
                         f"{sorted(ACTIVATIONS)}")
    return ACTIVATIONS[value]


def _refuse(config: dict[str, Any], source: Path, settings: dict[str, Any]) -> None:
    """Refuse settings that change the computation in a way our modules do not follow."""
    for name, expected in settings.items():
        if name in config and config[name] != expected:
            raise ValueError(f"{source}: {name}={config[name]!r} is not supported (only {expected!r})")


def _check_size(source: Path, d: int, ff: int, layers: int, embedding_rows: int) -> None:
    """Refuse a ``config.json`` whose sizes would not fit in memory, before the model is built:
    ``layers · (4·d² + 2·d·ff) + embedding_rows · d`` weights (see
    :meth:`~minitransformer.nn.config.EncoderConfig.approximate_parameters`)."""
    from minitransformer.files.model_folder import check_fits_in_memory

    if not all(isinstance(v, int) and v > 0 for v in (d, ff, layers, embedding_rows)):
        raise ValueError(f"{source / 'config.json'}: sizes must be positive integers, got d={d!r}, "
                         f"ff={ff!r}, layers={layers!r}")
    check_fits_in_memory(layers * (4 * d * d + 2 * d * ff) + embedding_rows * d, source / "config.json")


# ------------------------------------------------------------------------------------------ GPT-2
def _gpt2(config: dict[str, Any], weights: dict[str, torch.Tensor], source: Path,
          tokenizer: GPT2Tokenizer) -> CausalLM:
    _refuse(config, source, {"add_cross_attention": False, "scale_attn_weights": True,
                             "scale_attn_by_inverse_layer_idx": False})
    d, vocab = _setting(config, source, "n_embd"), _setting(config, source, "vocab_size")
    layers, ff = _setting(config, source, "n_layer"), config.get("n_inner") or 4 * d
    max_len = _setting(config, source, "n_positions")
    tie = bool(config.get("tie_word_embeddings", True))
    eos = config.get("eos_token_id")
    if not isinstance(eos, int) or not 0 <= eos < vocab:
        eos = tokenizer.eos_id if tokenizer.eos_id is not None and tokenizer.eos_id < vocab else 0
    bos = config.get("bos_token_id")
    bos = bos if isinstance(bos, int) and 0 <= bos < vocab else eos
    _check_size(source, d, ff, layers, vocab + max_len)
    model = CausalLM(vocab_size=vocab, d_model=d, nhead=_setting(config, source, "n_head"),
                     num_layers=layers, dim_feedforward=ff, dropout=float(config.get("resid_pdrop", 0.1)),
                     activation=_activation(config, source, "activation_function", "gelu_new"),
                     layer_norm_eps=float(config.get("layer_norm_epsilon", 1e-5)), max_len=max_len,
                     positional="learned", tie_embeddings=tie, scale_embeddings=False,
                     pad_id=eos, bos_id=bos, eos_id=eos)
    w = _Weights(weights, source)
    w.discard(lambda n: n.endswith((".attn.bias", ".attn.masked_bias")))  # causal-mask buffers, not weights
    state = {"embedding.embedding.weight": w.take("wte.weight", (vocab, d)),
             "positions.embedding.weight": w.take("wpe.weight", (max_len, d))}
    for i in range(layers):
        hf, ours = f"h.{i}.", f"encoder.layers.{i}."
        qkv = w.take(hf + "attn.c_attn.weight", (d, 3 * d)).t()  # (3D, D): Conv1D stores (in, out)
        qkv_bias = w.take(hf + "attn.c_attn.bias", (3 * d,))
        for name, weight, bias in zip(("w_q", "w_k", "w_v"), qkv.chunk(3), qkv_bias.chunk(3)):
            state[f"{ours}self_attn.{name}.weight"] = weight  # (D, D)
            state[f"{ours}self_attn.{name}.bias"] = bias
        for hf_name, our_name, shape in (("attn.c_proj", "self_attn.w_o", (d, d)),
                                         ("mlp.c_fc", "feed_forward.linear1", (d, ff)),
                                         ("mlp.c_proj", "feed_forward.linear2", (ff, d))):
            state[f"{ours}{our_name}.weight"] = w.take(f"{hf}{hf_name}.weight", shape).t()  # (out, in)
            state[f"{ours}{our_name}.bias"] = w.take(f"{hf}{hf_name}.bias", (shape[1],))
        for hf_name, our_name in (("ln_1", "attn_residual.norm"), ("ln_2", "ff_residual.norm")):
            state[f"{ours}{our_name}.weight"] = w.take(f"{hf}{hf_name}.weight", (d,))
            state[f"{ours}{our_name}.bias"] = w.take(f"{hf}{hf_name}.bias", (d,))
    state["encoder.norm.weight"] = w.take("ln_f.weight", (d,))
    state["encoder.norm.bias"] = w.take("ln_f.bias", (d,))
    if tie:
        w.discard(lambda n: n == "lm_head.weight")  # saved by some checkpoints, the same tensor as wte
        state["lm_head.weight"] = state["embedding.embedding.weight"]
    else:
        state["lm_head.weight"] = w.take("lm_head.weight", (vocab, d))
    w.check_all_used()
    model.load_state_dict(state)
    return model


# ------------------------------------------------------------------------------------------ BERT
def _bert(config: dict[str, Any], weights: dict[str, torch.Tensor], source: Path) -> TextEncoder:
    _refuse(config, source, {"position_embedding_type": "absolute", "is_decoder": False,
                             "add_cross_attention": False, "tie_word_embeddings": True})
    d, vocab = _setting(config, source, "hidden_size"), _setting(config, source, "vocab_size")
    layers, ff = _setting(config, source, "num_hidden_layers"), _setting(config, source, "intermediate_size")
    max_len, types = _setting(config, source, "max_position_embeddings"), config.get("type_vocab_size", 2)
    pad = config.get("pad_token_id")
    architecture = (config.get("architectures") or [None])[0]
    mlm = architecture != "BertModel" and "cls.predictions.transform.dense.weight" in weights
    pooler = "pooler.dense.weight" in weights
    _check_size(source, d, ff, layers, vocab + max_len + (types if isinstance(types, int) else 0))
    model = TextEncoder(vocab_size=vocab, d_model=d, nhead=_setting(config, source, "num_attention_heads"),
                        num_layers=layers, dim_feedforward=ff,
                        dropout=float(config.get("hidden_dropout_prob", 0.1)),
                        activation=_activation(config, source, "hidden_act", "gelu"),
                        layer_norm_eps=float(config.get("layer_norm_eps", 1e-12)), max_len=max_len,
                        type_vocab_size=types, pad_id=pad if isinstance(pad, int) and 0 <= pad < vocab else 0,
                        mlm_head=mlm, pooler=pooler)
    w = _Weights(weights, source)
    w.discard(lambda n: n.endswith("position_ids") or n.startswith("cls.seq_relationship."))
    if not mlm:
        w.discard(lambda n: n.startswith("cls.predictions."))

    def linear(hf: str, ours: str, shape: tuple[int, int]) -> None:  # shape: (out, in), as nn.Linear
        state[f"{ours}.weight"] = w.take(f"{hf}.weight", shape)
        state[f"{ours}.bias"] = w.take(f"{hf}.bias", (shape[0],))

    def norm(hf: str, ours: str) -> None:
        state[f"{ours}.weight"] = w.take(f"{hf}.weight", (d,))
        state[f"{ours}.bias"] = w.take(f"{hf}.bias", (d,))

    state = {"embedding.embedding.weight": w.take("embeddings.word_embeddings.weight", (vocab, d)),
             "positions.embedding.weight": w.take("embeddings.position_embeddings.weight", (max_len, d)),
             "token_types.weight": w.take("embeddings.token_type_embeddings.weight", (types, d))}
    norm("embeddings.LayerNorm", "embedding_norm")
    for i in range(layers):
        hf, ours = f"encoder.layer.{i}.", f"encoder.layers.{i}."
        for hf_name, our_name in (("query", "w_q"), ("key", "w_k"), ("value", "w_v")):
            linear(f"{hf}attention.self.{hf_name}", f"{ours}self_attn.{our_name}", (d, d))
        linear(f"{hf}attention.output.dense", f"{ours}self_attn.w_o", (d, d))
        norm(f"{hf}attention.output.LayerNorm", f"{ours}attn_residual.norm")
        linear(f"{hf}intermediate.dense", f"{ours}feed_forward.linear1", (ff, d))
        linear(f"{hf}output.dense", f"{ours}feed_forward.linear2", (d, ff))
        norm(f"{hf}output.LayerNorm", f"{ours}ff_residual.norm")
    if pooler:
        linear("pooler.dense", "pooler.dense", (d, d))
    if mlm:
        linear("cls.predictions.transform.dense", "mlm_head.dense", (d, d))
        norm("cls.predictions.transform.LayerNorm", "mlm_head.norm")
        bias = "cls.predictions.bias" if w.has("cls.predictions.bias") else "cls.predictions.decoder.bias"
        state["mlm_head.output.bias"] = w.take(bias, (vocab,))
        w.discard(lambda n: n in ("cls.predictions.decoder.weight", "cls.predictions.decoder.bias"))  # tied
        state["mlm_head.output.weight"] = state["embedding.embedding.weight"]
    w.check_all_used()
    model.load_state_dict(state)
    return model
