"""Model configurations as dataclasses, saved as ``config.json`` beside the weights.

A config holds every number needed to rebuild a model with empty weights; the weights then come
from ``model.safetensors``. ``from_dict`` rejects keys it does not know, so a typo
(``"n_head"`` for ``"nhead"``) is an error instead of a silently ignored setting.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

__all__ = ["ConfigBase", "EncoderConfig", "TransformerConfig"]


_TYPE_WORDS = {int: "an integer", float: "a number", str: "a string", bool: "true or false"}


def _has_type(value: Any, kind: Any) -> bool:
    """Whether a JSON ``value`` fits a plain field type (``int``, ``float``, ``str``, ``bool``);
    other annotations (optional values, tuples, nested configs) are checked by the config itself."""
    if kind is bool:
        return isinstance(value, bool)
    if kind is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind is str:
        return isinstance(value, str)
    return True


class ConfigBase:
    """Shared JSON round trip and validation for the dataclass configs."""

    model_type: ClassVar[str] = "base"

    def to_dict(self) -> dict[str, Any]:
        """The config as JSON-ready data; a nested config (a head's ``encoder``) becomes an object."""
        return {"model_type": self.model_type, **dataclasses.asdict(self)}

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config"):
        if not isinstance(data, dict):
            raise ValueError(f"{source}: expected a JSON object, got {type(data).__name__}")
        data = dict(data)
        model_type = data.pop("model_type", cls.model_type)
        if model_type != cls.model_type:
            raise ValueError(
                f"{source}: this is a {model_type!r} model, expected {cls.model_type!r}"
            )
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"{source}: unknown config key(s) {unknown}; known keys are {sorted(known)}"
            )
        hints = typing.get_type_hints(cls)
        for name, value in data.items():  # nested configs, e.g. a head's `encoder: EncoderConfig`
            kind = hints.get(name)
            if isinstance(kind, type) and issubclass(kind, ConfigBase) and isinstance(value, dict):
                data[name] = kind.from_dict(value, source=f"{source}: {name}")
            elif not _has_type(value, kind):
                expected = _TYPE_WORDS.get(kind, kind)
                raise ValueError(f"{source}: {name}: expected {expected}, got {value!r}")
        try:
            return cls(**data)
        except TypeError as err:  # a required key is missing
            raise ValueError(f"{source}: {err}") from None

    def to_json_file(self, path: str | Path) -> None:
        from minitransformer.nn.io import save_json  # io builds on the configs, not the reverse

        save_json(path, self.to_dict())

    @classmethod
    def from_json_file(cls, path: str | Path):
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: config file not found")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise ValueError(f"{path}: not valid JSON ({err})") from None
        except RecursionError:
            raise ValueError(f"{path}: nested too deeply to be a configuration") from None
        return cls.from_dict(data, source=str(path))

    def _check_positive(self, *names: str) -> None:
        for name in names:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name}: expected a positive integer, got {value!r}")

    def _check_choice(self, name: str, choices: tuple[str, ...]) -> None:
        value = getattr(self, name)
        if value not in choices:
            quoted = [repr(c) for c in choices]
            expected = ", ".join(quoted[:-1]) + " or " + quoted[-1] if len(quoted) > 1 else quoted[0]
            raise ValueError(f"{name}: expected {expected}, got {value!r}")

    def _check_common(self) -> None:
        self._check_positive("d_model", "nhead", "dim_feedforward")
        if self.d_model % self.nhead:
            raise ValueError(f"nhead: d_model={self.d_model} must be divisible by nhead={self.nhead}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout: expected a probability in [0, 1), got {self.dropout}")
        self._check_choice("activation", ("relu", "gelu", "gelu_tanh"))
        self._check_choice("attention_backend", ("manual", "sdpa"))


@dataclass
class EncoderConfig(ConfigBase):
    """Everything :class:`~minitransformer.Encoder` needs (see its docstring)."""

    model_type: ClassVar[str] = "encoder"
    d_model: int = 512
    nhead: int = 8
    num_layers: int = 6
    dim_feedforward: int = 2048
    dropout: float = 0.1
    activation: str = "relu"
    norm_first: bool = False
    final_norm: bool | None = None
    layer_norm_eps: float = 1e-5
    bias: bool = True
    rotary: bool = False
    attention_backend: str = "manual"

    def __post_init__(self):
        self._check_common()
        self._check_positive("num_layers")

    def approximate_parameters(self, embedding_rows: int = 0) -> int:
        """About how many weights this encoder has, to check a size before allocating it:
        ``num_layers · (4·d_model² + 2·d_model·dim_feedforward)`` (attention and feed-forward
        matrices) plus ``embedding_rows · d_model`` (an embedding table of that many rows).

        Examples:
            >>> config = EncoderConfig(d_model=64, nhead=4, num_layers=2, dim_feedforward=256)
            >>> config.approximate_parameters(100)
            104704
        """
        d, layers = self.d_model, self.num_layers
        return layers * (4 * d * d + 2 * d * self.dim_feedforward) + embedding_rows * d


@dataclass
class TransformerConfig(ConfigBase):
    """The encoder–decoder :class:`~minitransformer.Transformer`.

    ``positional`` is ``"sinusoidal"`` (the 2017 paper), ``"learned"`` or ``"rope"`` (rotary
    embeddings in every self-attention). ``max_len`` bounds sinusoidal/learned positions.
    """

    model_type: ClassVar[str] = "transformer"
    src_vocab_size: int = 1000
    tgt_vocab_size: int = 1000
    d_model: int = 512
    nhead: int = 8
    num_encoder_layers: int = 6
    num_decoder_layers: int = 6
    dim_feedforward: int = 2048
    dropout: float = 0.1
    activation: str = "relu"
    norm_first: bool = False
    layer_norm_eps: float = 1e-5
    bias: bool = True
    max_len: int = 512
    positional: str = "sinusoidal"
    tie_embeddings: bool = False
    pad_id: int = 0
    bos_id: int = 1
    eos_id: int = 2
    attention_backend: str = "manual"

    def __post_init__(self):
        self._check_common()
        self._check_positive("src_vocab_size", "tgt_vocab_size", "num_encoder_layers",
                             "num_decoder_layers", "max_len")
        self._check_choice("positional", ("sinusoidal", "learned", "rope"))
        if self.tie_embeddings and self.src_vocab_size != self.tgt_vocab_size:
            raise ValueError("tie_embeddings: needs src_vocab_size == tgt_vocab_size")
