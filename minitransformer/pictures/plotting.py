"""Pictures of what a model does: attention heatmaps and training curves.

* :func:`plot_attention` — one heatmap per (layer, head): row *i* is query token *i*, column *j*
  key token *j*, the colour the weight ``softmax(q_i · k_j / √d)`` (each row sums to 1).
* :func:`plot_training_curves` — one panel per quantity of a run's ``metrics.jsonl`` (loss,
  each validation metric, the learning rate) against the epoch, the best epoch marked.

Helpers that the task heads' pictures share:

* :func:`new_figure` / :func:`save_figure` — a matplotlib figure drawn with the Agg renderer
  (no display, no pyplot state: nothing changes for a notebook that uses pyplot itself) and
  its PNG, parent folders created.
* :func:`cjk_font` / :func:`text_style` — Chinese characters in labels: an installed font that
  has them is chosen from matplotlib's font list (Noto Sans CJK, Source Han Sans, WenQuanYi,
  SimHei, ...); without one the labels are drawn with boxes in place of the characters, and one
  warning says which font to install (instead of one warning per missing glyph).

matplotlib is optional (``pip install minitransformer[plot]``): it is imported inside the
functions only, and a missing matplotlib is a :class:`~minitransformer.cli.main.UsageError` that says
how to install it.

    with record_attention(model) as maps:
        model(src, tgt)
    plot_attention(maps, "attention.png", query_labels=["<bos>", "8", "3"], key_labels=list("381"))
    plot_training_curves("runs/rec", "curves.png")
"""

from __future__ import annotations

import json
import math
import re
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from minitransformer.errors import UsageError
from minitransformer.files.tables import decode_utf8

__all__ = ["plot_attention", "plot_training_curves", "read_metrics", "select_layers", "require_matplotlib",
           "new_figure", "save_figure", "cjk_font", "text_style", "CJK_FONTS", "INSTALL_HINT", "FORMATS"]

INSTALL_HINT = "pip install minitransformer[plot]"
FORMATS = (".png", ".svg", ".pdf")  #: file suffixes the pictures can be written as

#: Fonts with Chinese characters, most preferred first (Linux, macOS and Windows names).
CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans SC", "Noto Sans CJK JP", "Noto Sans CJK TC",
             "Source Han Sans SC", "Source Han Sans CN", "Source Han Sans", "WenQuanYi Zen Hei",
             "WenQuanYi Micro Hei", "Droid Sans Fallback", "AR PL UMing CN", "AR PL UKai CN",
             "Microsoft YaHei", "SimHei", "PingFang SC", "Heiti SC", "STHeiti", "Hiragino Sans GB",
             "Arial Unicode MS")
BASE_FONT = "DejaVu Sans"  # matplotlib's own font: Latin, Greek, Cyrillic, arrows, no Chinese

# CJK ideographs and punctuation, kana, hangul and full-width forms
_CJK = re.compile("[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]")
_cjk_warned = False

# Bookkeeping fields of a metrics.jsonl record, not curves (see minitransformer.training.progress).
_NOT_CURVES = {"event", "epoch", "step", "improved", "best_epoch", "best_metric", "epoch_s", "elapsed_s",
               "examples_per_s"}
_SPLIT_PREFIXES = ("train_", "valid_", "val_", "test_")


# ---------------------------------------------------------------------------- matplotlib
def require_matplotlib(what: str = "drawing pictures"):
    """Import and return ``matplotlib``; a :class:`UsageError` with the install command if missing.

    ``what`` starts the message: ``"--plot"`` gives "--plot needs matplotlib, which is not
    installed: pip install minitransformer[plot]".
    """
    try:
        import matplotlib
    except ImportError:
        raise UsageError(f"{what} needs matplotlib, which is not installed: {INSTALL_HINT}") from None
    return matplotlib


def new_figure(width: float, height: float, constrained: bool = False):
    """A ``matplotlib.figure.Figure`` of ``width`` x ``height`` inches, drawn by Agg.

    The figure is made without pyplot, so it never opens a window, needs no display and leaves
    the pyplot backend of the caller (a notebook, say) alone; it is freed with its last reference.
    ``constrained`` lays it out as it is drawn (needed for a colorbar shared by several axes; save
    it with ``save_figure(fig, path, layout=False)``).
    """
    require_matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), layout="constrained" if constrained else None)
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, path: str | Path, dpi: int = 110, layout: bool = True) -> Path:
    """Write ``fig`` to ``path`` (parent folders created) and return the path.

    The format follows the suffix: ``.png`` (what every picture of the project writes), or
    ``.svg``/``.pdf``. ``layout`` runs ``tight_layout`` first; a figure with a colorbar shared by
    several axes is cropped with ``bbox_inches="tight"`` instead.
    """
    path = Path(path)
    if path.suffix.lower() not in FORMATS:
        raise UsageError(f"path: expected a file name ending in .png (or .svg, .pdf), got {str(path)!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    if layout:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*tight_layout.*")
            fig.tight_layout()
    fig.savefig(path, dpi=dpi, format=path.suffix.lower()[1:], bbox_inches=None if layout else "tight")
    return path


# ---------------------------------------------------------------------------- fonts
@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The name of an installed font with Chinese characters, or None.

    Looks for the names in :data:`CJK_FONTS` in matplotlib's font list, then for any font whose
    name says CJK, Han, Hei, Song, Ming or Kai. matplotlib builds that list once and caches it, so
    a font installed later is missing from it: when none is found, the system's font files the
    list does not know are added to it (for this process) and the search is made again.
    """
    require_matplotlib()
    from matplotlib import font_manager

    found = _cjk_font_in(font_manager.fontManager.ttflist)
    if found is None and _add_fonts_installed_since_the_cache(font_manager):
        found = _cjk_font_in(font_manager.fontManager.ttflist)
    return found


def _cjk_font_in(fonts: Iterable[Any]) -> str | None:
    """The preferred CJK font name among matplotlib ``FontEntry``s ``fonts``, or None."""
    installed = {font.name for font in fonts}
    for name in CJK_FONTS:
        if name in installed:
            return name
    hints = ("CJK", "Han Sans", "Han Serif", "Hei", "Song", "Ming", "Kai", "WenQuanYi")
    return next((name for name in sorted(installed) if any(h in name for h in hints)), None)


def _add_fonts_installed_since_the_cache(font_manager: Any) -> int:
    """Add to matplotlib's font list the system font files it lacks; returns how many."""
    known = {font.fname for font in font_manager.fontManager.ttflist}
    added = 0
    for path in sorted(set(font_manager.findSystemFonts()) - known):
        try:
            font_manager.fontManager.addfont(path)
            added += 1
        except (OSError, RuntimeError, ValueError):  # a file FreeType cannot read: skip it
            continue
    return added


def has_cjk(texts: Iterable[object]) -> bool:
    """Whether any text contains a Chinese (Japanese, Korean) character."""
    return any(_CJK.search(str(t)) for t in texts)


@contextmanager
def text_style(texts: Iterable[object] = (), size: float | None = None) -> Iterator[None]:
    """Draw inside this block with fonts that can show ``texts``.

    With a CJK font installed it follows matplotlib's own font (``DejaVu Sans``) in the fallback
    list, so each glyph comes from the first font that has it. Without one, and when ``texts``
    hold such characters, the per-glyph "missing from font" warnings are silenced and a single
    warning (once per process) names fonts to install.
    """
    matplotlib = require_matplotlib()
    font = cjk_font()
    rc: dict[str, Any] = {"font.family": [BASE_FONT, font] if font else [BASE_FONT]}
    if size is not None:
        rc["font.size"] = size
    missing = font is None and has_cjk(texts)
    with matplotlib.rc_context(rc), warnings.catch_warnings():
        if missing:
            _warn_missing_cjk_font()
            warnings.filterwarnings("ignore", message=r"Glyph \d+ .*missing from font")
        yield


def _warn_missing_cjk_font() -> None:
    global _cjk_warned
    if not _cjk_warned:
        _cjk_warned = True
        warnings.warn("no font with Chinese characters found: they are drawn as boxes; install one, "
                      "e.g. 'sudo apt-get install fonts-noto-cjk' (Debian, Ubuntu) or "
                      "'fonts-wqy-zenhei'", stacklevel=5)


def _label_forms(text: str, width: int) -> list[str]:
    """Forms of ``text`` in at most ``width`` characters, the most readable first.

    Words (split at ``_``, ``/``, ``-``, spaces) but the last cut to 4, then 3 letters
    (``terminal_risk_30d`` -> ``term_risk_30d``); the start, "…" and the last word
    (``prev_amount…_1``); words cut to 2, then 1 letter; the start, "…" and the end.
    """
    if len(text) <= width:
        return [text]
    pieces = re.split(r"([_/\- ]+)", text)  # words at even indices, separators between them

    def words_cut_to(letters: int) -> str:
        last = len(pieces) - 1
        return "".join(p if i % 2 or i == last else p[:letters] for i, p in enumerate(pieces))

    cut = max(text.rfind(sep) for sep in "_/- ")
    last_word = text[cut:] if 0 < cut and len(text) - cut <= width // 2 else ""
    end = (width - 1) // 2
    forms = [words_cut_to(4), words_cut_to(3), text[: width - 1 - len(last_word)] + "…" + last_word,
             words_cut_to(2), words_cut_to(1), text[: width - 1 - end] + "…" + text[len(text) - end:]]
    return list(dict.fromkeys(form for form in forms if len(form) <= width and form != "…"))


def _short(label: object, width: int = 14) -> str:
    """``label`` in at most ``width`` characters, in its most readable short form."""
    return _label_forms(str(label), width)[0]


def _short_labels(labels: Sequence[object], width: int = 14) -> list[str]:
    """Every label in at most ``width`` characters, different labels kept apart.

    Each label takes its most readable form (:func:`_label_forms`); labels whose forms coincide
    while the labels differ (``customer_avg_amount_30d`` and ``customer_amount_ratio_30d`` both
    ``customer_…_30d``) move on to their next forms until they differ.
    """
    texts = [str(label) for label in labels]
    forms = [_label_forms(text, width) for text in texts]
    chosen = [0] * len(texts)
    for _ in range(max((len(f) for f in forms), default=0)):
        owners: dict[str, set[str]] = {}
        for text, options, k in zip(texts, forms, chosen):
            owners.setdefault(options[k], set()).add(text)
        clashing = [i for i, (options, k) in enumerate(zip(forms, chosen))
                    if len(owners[options[k]]) > 1 and k + 1 < len(options)]
        if not clashing:
            break
        for i in clashing:
            chosen[i] += 1
    return [options[k] for options, k in zip(forms, chosen)]


# ---------------------------------------------------------------------------- attention
def _as_array(value: Any, name: str) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor (torch is not needed for anything else here)
        value = value.detach().float().cpu().numpy()
    array = np.asarray(value, dtype=np.float64)
    if array.ndim != 4:
        raise ValueError(f"maps[{name!r}]: expected attention weights of shape (B, H, T_q, T_k), "
                         f"got shape {tuple(array.shape)}")
    return array


def select_layers(names: list[str], layers: Sequence[int | str] | None) -> list[str]:
    """The module names chosen by ``layers``: an int is a position in ``names`` (negative from the
    end), a string a module name or a part of one (``"cross_attn"`` picks every cross-attention)."""
    if layers is None:
        return names
    if isinstance(layers, (str, int)):
        layers = [layers]
    chosen: list[str] = []
    for layer in layers:
        if isinstance(layer, (int, np.integer)) and not isinstance(layer, bool):
            if not -len(names) <= layer < len(names):
                raise ValueError(f"layers: {layer} is out of range, there are {len(names)} attention "
                                 f"maps: {names}")
            found = [names[layer]]
        elif isinstance(layer, str):
            found = [layer] if layer in names else [n for n in names if layer in n]
            if not found:
                raise ValueError(f"layers: no attention map named or containing {layer!r}; there are "
                                 f"{names}")
        else:
            raise ValueError(f"layers: expected ints or module names, got {layer!r}")
        chosen += [n for n in found if n not in chosen]
    return chosen


def _check_labels(labels: Sequence[object], size: int, name: str, what: str, module: str) -> list[str]:
    if isinstance(labels, str):
        raise ValueError(f"{name}: expected a list of token labels, got the string {labels!r}")
    labels = [str(label) for label in labels]
    if len(labels) != size:
        raise ValueError(f"{name}: {len(labels)} labels, but {module!r} has {size} {what} positions")
    return labels


def plot_attention(maps: Mapping[str, Any] | Any, path: str | Path, *, query_labels: Sequence[object],
                   key_labels: Sequence[object] | None = None, layers: Sequence[int | str] | None = None,
                   heads: Sequence[int] | None = None, title: str | None = None,
                   batch_index: int = 0) -> Path:
    """Draw attention weights as a grid of heatmaps, one row per layer and one column per head.

    In each heatmap row *i* is the query (the position that reads), column *j* the key (the
    position read), and the colour the weight ``a_ij = softmax_j(q_i · k_j / √d)``; every row
    sums to 1. A causal model shows an empty upper triangle, padding keys empty columns, a
    cross-attention that aligns two sentences a diagonal-like path. All heatmaps share one
    colour scale (0 to the largest weight shown), so the layers and heads can be compared.

    Args:
        maps: ``{module name: weights (B, H, T_q, T_k)}`` as filled by
            :func:`~minitransformer.record_attention` (torch tensors or numpy arrays), or a
            single such tensor.
        path: the ``.png`` to write (parent folders are created).
        query_labels: ``T_q`` token labels for the rows (Chinese characters are fine).
        key_labels: ``T_k`` labels for the columns; default ``query_labels`` (self-attention).
        layers: which maps: positions in ``maps`` (``0``, ``-1``) and/or module names or parts
            of names (``"decoder"``, ``"cross_attn"``); default all.
        heads: which heads (0-based); default all.
        title: the figure title.
        batch_index: which example of the batch.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        ValueError: naming the argument, for a map that is not 4-D, labels whose number differs
            from the map's ``T_q``/``T_k``, and a layer, head or batch index that does not exist.
    """
    heads, panels = _attention_panels(maps, layers, heads, batch_index)
    rows, cols = _attention_labels(panels, query_labels, key_labels)
    return _draw_attention_grid(panels, heads, rows, cols, title, path)


def _attention_panels(maps: Mapping[str, Any] | Any, layers: Sequence[int | str] | None,
                      heads: Sequence[int] | None, batch_index: int):
    """The maps :func:`plot_attention` draws: ``(heads, panels)``.

    ``panels`` is ``[(module name, weights (H, T_q, T_k))]`` of example ``batch_index``, one per
    chosen layer; ``heads`` the chosen head indices (default all heads of the first map).
    """
    if not isinstance(maps, Mapping):
        maps = {"attention": maps}
    if not maps:
        raise ValueError("maps: no attention maps to draw (was the model run inside record_attention?)")
    names = select_layers(list(maps), layers)
    arrays = {name: _as_array(maps[name], name) for name in names}
    heads = list(range(arrays[names[0]].shape[1])) if heads is None else [int(h) for h in heads]
    if not heads:
        raise ValueError("heads: expected at least one head index, got an empty list")
    panels = []  # (name, weights (H, T_q, T_k)) of one example
    for name in names:
        array = arrays[name]  # (B, H, T_q, T_k)
        if not -array.shape[0] <= batch_index < array.shape[0]:
            raise ValueError(f"batch_index: {batch_index} is out of range, {name!r} holds a batch of "
                             f"{array.shape[0]}")
        bad = [h for h in heads if not 0 <= h < array.shape[1]]
        if bad:
            raise ValueError(f"heads: {bad} out of range, {name!r} has {array.shape[1]} heads (0..."
                             f"{array.shape[1] - 1})")
        panels.append((name, array[batch_index]))
    return heads, panels


def _attention_labels(panels: list[tuple[str, np.ndarray]], query_labels: Sequence[object],
                      key_labels: Sequence[object] | None) -> tuple[list[str], list[str]]:
    """The row (query) and column (key) labels, checked against every panel's ``(T_q, T_k)``."""
    first, weights = panels[0]
    t_q, t_k = weights.shape[1:]
    rows = _check_labels(query_labels, t_q, "query_labels", "query", first)
    cols = _check_labels(query_labels if key_labels is None else key_labels, t_k,
                         "key_labels" if key_labels is not None else "key_labels (default: query_labels)",
                         "key", first)
    for name, weights in panels[1:]:
        if weights.shape[1:] != (t_q, t_k):
            raise ValueError(f"maps: {name!r} is {weights.shape[1]} x {weights.shape[2]} but "
                             f"{first!r} is {t_q} x {t_k}; draw maps with different labels "
                             f"separately (layers=...)")
    return rows, cols


def _draw_attention_grid(panels: list[tuple[str, np.ndarray]], heads: list[int], rows: list[str],
                         cols: list[str], title: str | None, path: str | Path) -> Path:
    """One heatmap per (panel, head) on a shared colour scale ``[0, largest weight]``; one colorbar."""
    t_q, t_k = len(rows), len(cols)
    side = min(6.0, max(2.4, 0.2 * max(t_q, t_k) + 1.2))  # inches per heatmap
    scale = min(1.0, 36.0 / (side * max(len(heads), len(panels))))  # keep the figure < ~36 in
    side *= scale
    fontsize = 8 if max(t_q, t_k) <= 16 else 6 if max(t_q, t_k) <= 40 else 4.5
    vmax = max(float(np.nanmax(w[heads])) for _, w in panels) or 1.0
    with text_style([*rows, *cols, title or ""]):
        width, height = side * len(heads) + 1.4, side * len(panels) + (0.9 if title else 0.6)
        fig = new_figure(width, height, constrained=True)
        axes = fig.subplots(len(panels), len(heads), squeeze=False)
        image = None
        for r, (name, weights) in enumerate(panels):
            for c, head in enumerate(heads):
                ax = axes[r, c]
                image = ax.imshow(weights[head], cmap="viridis", vmin=0.0, vmax=vmax, aspect="auto",
                                  interpolation="nearest")
                _token_ticks(ax, rows, cols, fontsize, left=c == 0, bottom=r == len(panels) - 1)
                if r == 0:
                    ax.set_title(f"head {head}", fontsize=9)
                if c == 0:
                    ax.set_ylabel(_layer_label(name), fontsize=8)
        fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.8, label="attention weight")
        fig.supxlabel("keys: the tokens read (columns)  ·  queries: the tokens reading (rows)", fontsize=8)
        if title:
            fig.suptitle(title)
        return save_figure(fig, path, layout=False)


def _layer_label(name: str) -> str:
    """``"sentence.encoder.layers.1.self_attn"`` -> ``"encoder layer 1\nself_attn"``."""
    parts = name.split(".")
    if "layers" not in parts or parts.index("layers") + 1 >= len(parts):
        return _short(name, 30)
    i = parts.index("layers")
    owner = parts[i - 1] + " " if i > 0 else ""
    return f"{owner}layer {parts[i + 1]}\n{'.'.join(parts[i + 2:])}"


def _token_ticks(ax, rows: list[str], cols: list[str], fontsize: float, *, left: bool, bottom: bool) -> None:
    """Token labels on the first column (queries) and the last row (keys); long lists thinned."""
    for labels, set_ticks, set_labels, show, rotation in (
            (rows, ax.set_yticks, ax.set_yticklabels, left, 0),
            (cols, ax.set_xticks, ax.set_xticklabels, bottom, 90)):
        step = max(1, math.ceil(len(labels) / 64))
        positions = list(range(0, len(labels), step))
        set_ticks(positions)
        set_labels(_short_labels([labels[i] for i in positions]) if show else [], fontsize=fontsize,
                   rotation=rotation)


# ---------------------------------------------------------------------------- training curves
def read_metrics(metrics: str | Path | Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The per-epoch records of a run: from a run directory, its ``metrics.jsonl``, or a list.

    Only epoch records are kept (``{"event": "final"}`` and other events are dropped); a resumed
    run that wrote an epoch twice keeps its last record.
    """
    if isinstance(metrics, (str, Path)):
        path = Path(metrics)
        if path.is_dir():
            path = path / "metrics.jsonl"
            if not path.is_file():
                raise FileNotFoundError(f"{metrics}: no metrics.jsonl in this run directory")
        elif not path.is_file():
            raise FileNotFoundError(f"{path}: metrics file not found (expected a run directory or its "
                                    f"metrics.jsonl)")
        records = []
        text = decode_utf8(path.read_bytes(), path)  # other bytes: one line naming the file and the line
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{path}:{number}: not a JSON line ({err.msg})") from None
            if not isinstance(record, dict):
                raise ValueError(f"{path}:{number}: expected a JSON object, got {type(record).__name__}")
            records.append(record)
        source = str(path)
    else:
        records = [dict(r) for r in metrics]
        source = "metrics"
    by_epoch: dict[int, dict[str, Any]] = {}
    for i, record in enumerate(records):
        if record.get("event", "epoch") != "epoch":
            continue
        by_epoch[int(record.get("epoch", i + 1))] = record
    if not by_epoch:
        raise ValueError(f"{source}: no epoch records to draw")
    return [by_epoch[e] for e in sorted(by_epoch)]


def _curve_keys(records: list[dict[str, Any]], keys: Sequence[str] | None) -> list[str]:
    available: list[str] = []
    for record in records:
        for key, value in record.items():
            numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
            if numeric and key not in _NOT_CURVES and key not in available:
                available.append(key)
    if keys is None:
        if not available:
            raise ValueError("metrics: the records hold no numbers to draw besides epoch bookkeeping")
        return available
    if isinstance(keys, str):
        keys = [keys]
    unknown = [k for k in keys if k not in available]
    if unknown:
        raise ValueError(f"keys: {unknown} not in the metrics; available: {available}")
    return list(keys)


def _panel_name(key: str) -> str:
    """``train_loss`` and ``valid_loss`` share the panel ``loss``."""
    for prefix in _SPLIT_PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix):]
    return key


def plot_training_curves(metrics: str | Path | Sequence[Mapping[str, Any]], path: str | Path, *,
                         keys: Sequence[str] | None = None, title: str | None = None) -> Path:
    """Draw a run's curves against the epoch: one panel per quantity, the best epoch marked.

    Keys that differ only by a ``train_``/``valid_`` prefix share a panel (training and
    validation loss together: a widening gap is overfitting); the learning rate gets its own
    panel (warm-up, then the cosine decay). A dashed line marks the best epoch (the weights
    the run kept), read from the records' ``best_epoch``.

    Args:
        metrics: a run directory, its ``metrics.jsonl`` (one JSON object per epoch, as the
            :class:`~minitransformer.training.Trainer` writes it), or a list of such dicts
            (``FitResult.history``).
        path: the ``.png`` to write.
        keys: the quantities to draw (default: every number except bookkeeping such as
            ``step`` or ``elapsed_s``).
        title: the figure title.

    Raises:
        FileNotFoundError: no ``metrics.jsonl`` where ``metrics`` points.
        ValueError: a line that is not JSON, no epoch records, or a key that is not there.
    """
    records = read_metrics(metrics)
    keys = _curve_keys(records, keys)
    panels: dict[str, list[str]] = {}
    for key in keys:
        panels.setdefault(_panel_name(key), []).append(key)
    epochs = [int(r.get("epoch", i + 1)) for i, r in enumerate(records)]
    best = records[-1].get("best_epoch")
    ncols = min(3, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    with text_style([*keys, title or ""]):
        from matplotlib.ticker import MaxNLocator

        fig = new_figure(4.0 * ncols, 2.8 * nrows + (0.4 if title else 0))
        axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
        for ax, (panel, members) in zip(axes, panels.items()):
            for key in members:
                points = [(e, r[key]) for e, r in zip(epochs, records)
                          if isinstance(r.get(key), (int, float))]
                xs, ys = zip(*points)
                ax.plot(xs, ys, marker="o" if len(xs) <= 30 else None, markersize=3, label=key)
            if isinstance(best, int):
                ax.axvline(best, color="grey", linestyle="--", linewidth=1, label=f"best epoch {best}")
            if panel == "lr":
                ax.ticklabel_format(axis="y", style="sci", scilimits=(-2, 2))
            ax.set_title(panel, fontsize=10)
            ax.set_xlabel("epoch")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.legend(fontsize=7)
            ax.grid(alpha=0.3)
        for ax in axes[len(panels):]:
            ax.set_visible(False)
        if title:
            fig.suptitle(title)
        return save_figure(fig, path)
