"""``minitransformer generate``: continue a prompt with a GPT-2 checkpoint and our decoding code.

::

    minitransformer generate --model gpt2 "The best phone case for a beach holiday is"
    minitransformer generate --model gpt2 --strategy sample --top-p 0.9 --temperature 0.8 --seed 1 "..."

``--model DIR`` is a Hugging Face GPT-2 folder (``config.json`` naming ``GPT2LMHeadModel``, the
weights, ``vocab.json`` + ``merges.txt``; read with :func:`minitransformer.interop.from_hf`), or a
``CausalLM`` saved with ``save_pretrained`` (a fine-tuned GPT-2, say) with its tokenizer's files
beside it: ``vocab.json`` + ``merges.txt`` (``GPT2Tokenizer.save``) or the ``tokenizer.json`` of one
of the project's own tokenizers. The prompt is encoded, :func:`~minitransformer.generation.generate`
continues it with the KV cache (greedy by default; ``--strategy sample`` or ``beam``), and the
prompt with its continuation is printed. ``--json FILE`` also writes the prompt, the continuation
and the token ids.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from minitransformer.cli.options import (
    device,
    fraction,
    json_file,
    path,
    positive_float,
    positive_int,
    seed,
    write_json,
)
from minitransformer.errors import UsageError

HELP = "continue a prompt with a GPT-2 checkpoint (greedy, sampling or beam search, KV cache)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("prompt", help="the text to continue")
    parser.add_argument("--model", type=path, required=True, metavar="DIR",
                        help="a Hugging Face GPT-2 folder, or a CausalLM saved with save_pretrained")
    parser.add_argument("--max-new-tokens", type=positive_int, default=40, metavar="N",
                        help="tokens to add at most (default 40)")
    parser.add_argument("--strategy", choices=("greedy", "sample", "beam"), default="greedy",
                        help="how the next token is chosen (default greedy)")
    parser.add_argument("--temperature", type=positive_float, default=1.0, metavar="T",
                        help="sampling temperature (default 1)")
    parser.add_argument("--top-k", type=positive_int, metavar="K",
                        help="sample from the K most likely tokens")
    parser.add_argument("--top-p", type=fraction, metavar="P", help="sample from the nucleus of mass P")
    parser.add_argument("--num-beams", type=positive_int, default=4, metavar="N",
                        help="beam width (default 4)")
    parser.add_argument("--seed", type=seed, default=0, metavar="N",
                        help="sampling seed (default 0)")
    parser.add_argument("--device", type=device, default="auto",
                        help="auto|cpu|cuda|cuda:N|mps (default auto)")
    parser.add_argument("--json", type=json_file, metavar="FILE",
                        help="also write the result as JSON ('-' = stdout)")
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")


def load_causal_lm(directory: Path):
    """``(CausalLM, tokenizer)`` from a Hugging Face GPT-2 folder or one of our saved models."""
    import json

    from minitransformer.interop.huggingface import BERT_ARCHITECTURES, from_hf

    if not directory.is_dir():
        raise FileNotFoundError(f"{directory}: model folder not found (--model)")
    config_file = directory / "config.json"
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{config_file}: file not found (--model needs a model folder)") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ValueError(f"{config_file}: not valid JSON ({err})") from None
    model_type = config.get("model_type") if isinstance(config, dict) else None
    if model_type == "causal_lm":
        return _our_causal_lm(directory)
    architecture = (config.get("architectures") or [None])[0] if isinstance(config, dict) else None
    if architecture in BERT_ARCHITECTURES or model_type == "bert":
        raise UsageError(f"--model {directory}: holds a BERT checkpoint ({architecture or 'bert'}), an "
                         "encoder that does not generate text; generate needs a GPT-2 checkpoint")
    return from_hf(directory)


def _our_causal_lm(directory: Path):
    from minitransformer.files.model_folder import check_fits_in_memory
    from minitransformer.nn.config import EncoderConfig
    from minitransformer.nn.language_model import CausalLM, CausalLMConfig
    from minitransformer.tokenizers import GPT2Tokenizer, load_tokenizer
    from minitransformer.tokenizers.special import TOKENIZER_FILE

    source = directory / "config.json"
    try:
        config = CausalLMConfig.from_json_file(source)
    except ValueError as err:  # a bad size in config.json: say which file
        message = str(err)
        raise ValueError(message if str(directory) in message else f"{source}: {message}") from None
    stack = EncoderConfig(d_model=config.d_model, nhead=config.nhead, num_layers=config.num_layers,
                          dim_feedforward=config.dim_feedforward)
    check_fits_in_memory(stack.approximate_parameters(config.vocab_size + config.max_len), source)
    model = CausalLM.from_pretrained(directory).eval()
    if (directory / "vocab.json").is_file():
        tokenizer = GPT2Tokenizer.from_pretrained(directory)
    elif (directory / TOKENIZER_FILE).is_file():
        tokenizer = load_tokenizer(directory)
    else:
        raise FileNotFoundError(f"{directory}: no tokenizer beside the model (expected vocab.json + "
                                f"merges.txt or {TOKENIZER_FILE})")
    if tokenizer.vocab_size > model.config.vocab_size:
        raise ValueError(f"{directory}: the tokenizer has {tokenizer.vocab_size} tokens, the model "
                         f"{model.config.vocab_size}")
    return model, tokenizer


def run(args: argparse.Namespace) -> int:
    import torch

    from minitransformer.generation import generate
    from minitransformer.training.devices import resolve_device

    target = resolve_device(args.device)
    model, tokenizer = load_causal_lm(args.model)
    model = model.to(target)
    prompt_ids = tokenizer.encode(args.prompt)
    if not prompt_ids:
        raise UsageError("prompt: the prompt is empty; give some text to continue")
    generator = torch.Generator(device=target).manual_seed(args.seed)
    out = generate(model, input_ids=torch.tensor([prompt_ids], device=target),
                   max_new_tokens=args.max_new_tokens, strategy=args.strategy, num_beams=args.num_beams,
                   temperature=args.temperature, top_k=args.top_k, top_p=args.top_p, generator=generator)
    new_ids = out[0, len(prompt_ids):].tolist()
    if model.config.eos_id in new_ids:  # keep the stop token's place: everything after it is padding
        new_ids = new_ids[: new_ids.index(model.config.eos_id) + 1]
    continuation = tokenizer.decode(new_ids)
    print(args.prompt + continuation)
    write_json(args.json, {"model": str(args.model), "prompt": args.prompt, "continuation": continuation,
                           "prompt_ids": prompt_ids, "new_ids": new_ids, "strategy": args.strategy})
    return 0
