"""``minitransformer plot``: pictures of a trained model's attention and of a training run.

::

    minitransformer plot attention --model DIR --input "TEXT OR ITEM IDS" [--out attention.png]
                                   [--layers 0 1 | encoder cross_attn ...] [--heads 0 2 ...]
    minitransformer plot curves    --run DIR [--out curves.png] [--keys train_loss valid_loss ...]

``plot attention`` runs the model in ``DIR`` on one input and draws one heatmap per layer and
head (:func:`~minitransformer.pictures.plotting.plot_attention`). What the input is depends on the model:

* a QA model (``qa train``; has ``qa.json``): a question, ``"where is my refund?"``; the
  sentence encoder over its tokens (the reply head: encoder, decoder and cross-attention);
* a recommender (``recommend train``; has ``item_map.json``): the raw item ids of a history,
  oldest first, ``"B00A 1234 9876"``; the encoder over the items;
* a ``Transformer`` saved with ``save_pretrained`` (``config.json``: ``"model_type":
  "transformer"``): a source text (tokenized with the ``tokenizer.json`` beside it) or token ids
  ``"12 7 9"``; encoder, decoder and cross-attention on the model's own greedy answer;
* a ``CausalLM`` (``"model_type": "causal_lm"``): a text or token ids; its self-attention.

A model with several kinds of attention (the encoder–decoder) gets one picture per kind, named
``attention-encoder.png``, ``attention-decoder.png``, ``attention-cross.png`` after ``--out``.
``--layers`` picks attention maps by position (``0``, ``-1``: per kind) or by (part of) their
module name (``decoder``, ``cross_attn``); ``--heads`` picks heads by number.

``plot curves`` draws the curves of a run directory's ``metrics.jsonl``
(:func:`~minitransformer.pictures.plotting.plot_training_curves`).

**How a model directory is recognised.** Each head writes a file that only it writes (its
command module's ``MODEL_FILE``, see :mod:`minitransformer.cli.registry`); that module's
``attention_views`` turns the directory and the input into
:class:`~minitransformer.pictures.attention_views.AttentionView` objects.
A directory without one of these files is read as a core model if its ``config.json`` names
one; anything else (a forecaster, a risk model) is refused with a message that says what the
directory holds and what can be drawn. matplotlib is needed (``pip install minitransformer[plot]``).
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from pathlib import Path

from minitransformer.cli.main import PROG
from minitransformer.cli.options import path
from minitransformer.cli.registry import find_commands, load_command
from minitransformer.errors import UsageError

HELP = "pictures: attention heatmaps, training curves"

#: views of the core models, recognised by the model_type of their config.json
CORE_VIEWS = "minitransformer.pictures.attention_views:core_model_views"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    attention = sub.add_parser("attention", help="attention heatmaps of a trained model on one input",
                               description="Attention heatmaps (one per layer and head) of a trained model "
                                           "on one input.")
    attention.add_argument("--model", type=path, required=True, metavar="DIR", help="trained model directory")
    attention.add_argument("--input", required=True, metavar="TEXT",
                           help="a question or text, or raw item ids of a history (oldest first), or "
                                "token ids for a core model saved without a tokenizer")
    attention.add_argument("--out", type=path, default=Path("attention.png"), metavar="PNG",
                           help="picture to write (default attention.png)")
    attention.add_argument("--layers", nargs="+", metavar="L",
                           help="attention maps to draw: positions (0, -1) or parts of module names "
                                "(encoder, cross_attn); default all")
    attention.add_argument("--heads", nargs="+", type=int, metavar="H", help="heads to draw; default all")
    curves = sub.add_parser("curves", help="training curves of a run's metrics.jsonl",
                            description="Training curves (loss, validation metrics, learning rate) of a "
                                        "run directory's metrics.jsonl.")
    curves.add_argument("--run", type=path, required=True, metavar="DIR",
                        help="run directory (or its metrics.jsonl)")
    curves.add_argument("--out", type=path, default=Path("curves.png"), metavar="PNG",
                        help="picture to write (default curves.png)")
    curves.add_argument("--keys", nargs="+", metavar="KEY", help="quantities to draw; default all")
    curves.add_argument("--title", default=None, help="figure title")
    for p in (attention, curves):
        p.add_argument("--debug", action="store_true", help="show full tracebacks on errors")


def run(args: argparse.Namespace) -> int:
    with warnings.catch_warnings(record=True) as caught:  # shown below as one line each
        status = _run(args)
    for warning in caught:
        print(f"{PROG}: warning: {warning.message}", file=sys.stderr)
    return status


def _run(args: argparse.Namespace) -> int:
    from minitransformer.pictures.plotting import FORMATS, require_matplotlib

    require_matplotlib("'minitransformer plot'")
    if args.out.suffix.lower() not in FORMATS:
        raise UsageError(f"--out: expected a file name ending in .png (or .svg, .pdf), got {str(args.out)!r}")
    if args.action == "curves":
        from minitransformer.pictures.plotting import plot_training_curves

        path = plot_training_curves(args.run, args.out, keys=args.keys, title=args.title)
        print(f"wrote {path}")
        return 0
    return _attention(args)


def _function(spec: str):
    module, name = spec.split(":")
    try:
        return getattr(importlib.import_module(module), name)
    except (ModuleNotFoundError, AttributeError) as err:
        raise UsageError(f"attention pictures of this model need {spec}, which is not available "
                         f"({err})") from None


def _head_model_kinds() -> list[tuple[str, object, str]]:
    """``(marker file, head module, command)`` of every registered head that draws attention."""
    kinds = []
    for command in find_commands().values():
        module = load_command(command)
        if getattr(module, "MODEL_FILE", None) and callable(getattr(module, "attention_views", None)):
            kinds.append((module.MODEL_FILE, module, command.name))
    return kinds


def find_attention_views(model_dir: Path):
    """The function that draws ``model_dir``'s attention: ``f(model_dir, text) -> [AttentionView]``."""
    from minitransformer.pictures.attention_views import CORE_MODEL_TYPES, read_model_type

    if not model_dir.is_dir():
        raise FileNotFoundError(f"{model_dir}: model directory not found (--model)")
    kinds = _head_model_kinds()
    for marker, module, _ in kinds:
        if (model_dir / marker).is_file():
            return module.attention_views
    model_type = read_model_type(model_dir)
    if model_type in CORE_MODEL_TYPES:
        return _function(CORE_VIEWS)
    known = "; ".join(f"a '{PROG} {name} train' model (has {marker})" for marker, _, name in kinds)
    holds = f"its config.json is a {model_type!r} model" if model_type else "it has no config.json"
    raise UsageError(f"--model {model_dir}: cannot draw attention for this directory ({holds}); attention "
                     f"pictures are made for {known}; and core models saved with save_pretrained "
                     f"(model_type {' or '.join(CORE_MODEL_TYPES)})")


def _layer_specs(texts: list[str] | None) -> list[int | str] | None:
    if texts is None:
        return None
    return [int(t) if t.lstrip("-").isdigit() else t for t in texts]


def _applicable(specs: list[int | str] | None, names: list[str]) -> list[int | str] | None:
    """The layer choices that exist in a view (so ``--layers cross_attn`` skips the encoder view)."""
    if specs is None:
        return None
    return [s for s in specs if (isinstance(s, int) and -len(names) <= s < len(names))
            or (isinstance(s, str) and any(s in n for n in names))]


def _attention(args: argparse.Namespace) -> int:
    from minitransformer.pictures.plotting import plot_attention, select_layers

    views = find_attention_views(args.model)(args.model, args.input)
    specs = _layer_specs(args.layers)
    chosen = []
    for view in views:
        layers = _applicable(specs, list(view.maps))
        if layers is None or layers:
            chosen.append((view, layers))
    if not chosen:
        names = [name for view in views for name in view.maps]
        raise UsageError(f"--layers {' '.join(args.layers)}: matches none of the attention maps {names}")
    for view, layers in chosen:
        out = args.out if len(views) == 1 else args.out.with_name(f"{args.out.stem}-{view.name}.png")
        title = view.title or view.name
        path = plot_attention(view.maps, out, query_labels=view.query_labels, key_labels=view.key_labels,
                              layers=layers, heads=args.heads, title=title)
        shown = len(select_layers(list(view.maps), layers))
        print(f"wrote {path} ({view.name}: {shown} attention map(s), {len(view.query_labels)} x "
              f"{len(view.key_labels or view.query_labels)} tokens)")
    return 0
