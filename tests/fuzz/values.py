"""Option values that are wrong for their option, by kind of option.

Each strategy draws only values outside the option's range (so a command that accepts one has a
bug); the comment says what the range is. Text such as ``"1e400"`` (infinite as a float, not an
integer), ``"nan"``, an empty string or a number too large for any seed is included with the
numbers hypothesis draws.
"""

from __future__ import annotations

from hypothesis import strategies as st

__all__ = ["positive_int", "non_negative_int", "positive_float", "non_negative_float", "fraction",
           "unit_interval", "probability_open", "dropout", "seed", "device", "nonsense", "choice",
           "count_at_least", "below_int", "below", "above", "at_most", "at_least"]

# text that no number option takes: not numbers, not finite, or empty
nonsense = st.sampled_from(["", " ", "abc", "nan", "NaN", "inf", "-inf", "1e400", "-1e400", "三", "1,5",
                            "0x10", "--", "None"])
_not_an_int = st.sampled_from(["1.5", "2.0", "1e3"])  # numbers, but not integers


def _text(numbers: st.SearchStrategy) -> st.SearchStrategy[str]:
    return numbers.map(str)


def below_int(bound: int) -> st.SearchStrategy[str]:
    return _text(st.integers(max_value=bound - 1))


def count_at_least(low: int) -> st.SearchStrategy[str]:
    """An integer option whose range is ``[low, inf)``: anything below, or not an integer."""
    return st.one_of(_text(st.integers(max_value=low - 1)), nonsense, _not_an_int)


positive_int = count_at_least(1)                       # 1, 2, ...: epochs, layers, batch size, k, ...
non_negative_int = count_at_least(0)                   # 0, 1, ...: pretraining epochs, rounds, ...
# seeds go to torch and NumPy: beyond 2**32 - 1 they overflow or are refused there
seed = st.one_of(non_negative_int, _text(st.integers(min_value=2**64, max_value=10**40)))

def below(bound: float) -> st.SearchStrategy[str]:
    """Numbers ``< bound`` (``-0.0`` counts as 0)."""
    return _text(st.floats(max_value=bound, allow_nan=False).filter(lambda x: x < bound))


def at_most(bound: float) -> st.SearchStrategy[str]:
    return _text(st.floats(max_value=bound, allow_nan=False))


def above(bound: float) -> st.SearchStrategy[str]:
    return _text(st.floats(min_value=bound, allow_nan=False).filter(lambda x: x > bound))


def at_least(bound: float) -> st.SearchStrategy[str]:
    return _text(st.floats(min_value=bound, allow_nan=False))


positive_float = st.one_of(at_most(0.0), nonsense)                       # (0, inf)
non_negative_float = st.one_of(below(0.0), nonsense)                     # [0, inf)
fraction = st.one_of(at_most(0.0), above(1.0), nonsense)                 # (0, 1]
unit_interval = st.one_of(below(0.0), above(1.0), nonsense)              # [0, 1]
probability_open = st.one_of(at_most(0.0), at_least(1.0), nonsense)      # (0, 1)
dropout = st.one_of(below(0.0), at_least(1.0), nonsense)                 # [0, 1)


def choice(*valid: str) -> st.SearchStrategy[str]:
    """A ``choices=`` option: anything but the choices (case matters, as in argparse)."""
    wrong = ["", "auto-detect", "中文", "x" * 300] + [v.upper() for v in valid if v.upper() != v] + \
        [v + " " for v in valid]
    return st.sampled_from(wrong)


def device() -> st.SearchStrategy[str]:
    """``--device``: auto, cpu, cuda, cuda:N, mps; refused are other names, bad indices and a
    CUDA device this machine does not have (none has 100)."""
    import torch

    wrong = ["gpu", "tpu", "", "CUDA", "cpu:0", "cuda:", "cuda:-1", "cuda:x", "cuda:99", "cuda:1:2", "mps:0"]
    if not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        wrong.append("mps")
    if not torch.cuda.is_available():
        wrong.append("cuda")
    return st.sampled_from(wrong)
