"""The catalogue of course exercises: what to implement, where, and which tests grade it.

Exercise regions are marked in the solution source itself (one source for teacher and student):

    # BEGIN EXERCISE 1.2
    ...solution lines...
    # END EXERCISE

or, for a single assignment, one line ending in ``# EXERCISE 1.2``. The student version replaces
each region by ``raise NotImplementedError("Exercise 1.2: ...")`` (see :mod:`.student`).
Tests that grade an exercise carry ``@pytest.mark.exercise("1.2")``.

Ids are ``<chapter>.<n>``; an exercise may only depend on exercises with smaller ids, which is
what lets ``--upto`` hand a course out one chapter at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Exercise", "EXERCISES", "by_id", "sort_key"]


@dataclass(frozen=True)
class Exercise:
    """One exercise.

    Attributes:
        id: ``"<chapter>.<n>"``.
        title: what the student implements.
        file: the source file holding the region(s), relative to the repository root.
        function: the function or method to complete.
        docs: the documentation page with the maths, hints and the check command.
        prerequisites: exercises whose code this one calls.
        tests: the test files holding its ``@pytest.mark.exercise`` tests.
        difficulty: 1 (warm-up) to 3 (hard).
    """

    id: str
    title: str
    file: str
    function: str
    docs: str
    prerequisites: tuple[str, ...] = ()
    tests: tuple[str, ...] = ()
    difficulty: int = 1


def sort_key(exercise_id: str) -> tuple[int, ...]:
    """``"2.10"`` sorts after ``"2.9"``."""
    return tuple(int(part) for part in exercise_id.split("."))


_ATTN = "docs/exercises/attention.md"
_HEADS = "docs/exercises/multi-head.md"
_POS = "docs/exercises/positions.md"
_LAYERS = "docs/exercises/layers.md"
_DECODING = "docs/exercises/decoding.md"
_TRAINING = "docs/exercises/training.md"
_TASKS = "docs/exercises/tasks.md"

EXERCISES: tuple[Exercise, ...] = (
    Exercise("1.1", "Stable softmax (forward and backward)", "minitransformer/nn/functional.py",
             "_Softmax.forward / _Softmax.backward", _ATTN, (), ("tests/nn/test_functional.py",), 1),
    Exercise("1.2", "Scaled dot-product attention", "minitransformer/nn/functional.py",
             "scaled_dot_product_attention", _ATTN, ("1.1",), ("tests/nn/test_functional.py",), 1),
    Exercise("1.3", "Causal and padding masks", "minitransformer/nn/masks.py",
             "causal_mask / padding_mask", _ATTN, (), ("tests/nn/test_masks.py",), 1),
    Exercise("2.1", "Splitting and merging heads", "minitransformer/nn/attention.py",
             "split_heads / merge_heads", _HEADS, (), ("tests/nn/test_attention.py",), 1),
    Exercise("2.2", "Multi-head attention", "minitransformer/nn/attention.py",
             "MultiHeadAttention.forward", _HEADS, ("1.2", "1.3", "2.1"),
             ("tests/nn/test_attention.py", "tests/interop/test_interop.py"), 2),
    Exercise("3.1", "Sinusoidal positional encoding", "minitransformer/nn/positional.py",
             "sinusoidal_table", _POS, (), ("tests/nn/test_positional.py",), 1),
    Exercise("3.2", "Rotary position embeddings (RoPE)", "minitransformer/nn/rotary.py",
             "apply_rotary", _POS, (), ("tests/nn/test_positional.py",), 2),
    Exercise("4.1", "Layer norm, forward", "minitransformer/nn/norm.py",
             "LayerNormFunction.forward", _LAYERS, (), ("tests/nn/test_norm.py",), 1),
    Exercise("4.2", "Layer norm, backward as an autograd.Function", "minitransformer/nn/norm.py",
             "LayerNormFunction.backward", _LAYERS, ("4.1",), ("tests/nn/test_norm.py",), 3),
    Exercise("4.3", "Position-wise feed-forward block", "minitransformer/nn/feedforward.py",
             "FeedForward.forward", _LAYERS, (), ("tests/nn/test_layers.py",), 1),
    Exercise("4.4", "Residual connection, pre- and post-norm", "minitransformer/nn/residual.py",
             "ResidualConnection.forward", _LAYERS, ("4.1",), ("tests/nn/test_layers.py",), 1),
    Exercise("4.5", "Encoder layer", "minitransformer/nn/encoder.py", "EncoderLayer.forward",
             _LAYERS, ("2.2", "4.3", "4.4"), ("tests/nn/test_layers.py", "tests/interop/test_interop.py"), 2),
    Exercise("4.6", "Decoder layer with cross-attention", "minitransformer/nn/decoder.py",
             "DecoderLayer.forward", _LAYERS, ("2.2", "4.3", "4.4"),
             ("tests/nn/test_layers.py", "tests/interop/test_interop.py"), 2),
    Exercise("5.1", "KV cache for incremental decoding", "minitransformer/nn/attention.py",
             "KVCache.update", _DECODING, ("2.2",), ("tests/nn/test_attention.py",), 2),
    Exercise("5.2", "Greedy decoding", "minitransformer/generation/search.py", "greedy decoding loop",
             _DECODING, ("4.6", "5.1"), ("tests/generation/test_generation.py",), 2),
    Exercise("5.3", "Beam search", "minitransformer/generation/beam.py", "_beam_step (one beam search step)",
             _DECODING, ("5.2",), ("tests/generation/test_generation.py",), 3),
    Exercise("6.1", "A training step: clipping the global gradient norm",
             "minitransformer/training/step.py", "clip_grad_norm", _TRAINING, (),
             ("tests/training/test_training.py",), 1),
    Exercise("7.1", "NDCG@K for recommendation", "minitransformer/metrics/ranking.py", "ndcg_at_k",
             _TASKS, (), ("tests/metrics/test_ranking_metrics.py",), 1),
    Exercise("7.2", "MASE and sMAPE for forecasting", "minitransformer/metrics/forecasting.py",
             "smape / mase_scale", _TASKS, (), ("tests/metrics/test_forecasting_metrics.py",), 1),
    Exercise("7.3", "AUPRC for risk control", "minitransformer/metrics/classification.py",
             "average_precision", _TASKS, (), ("tests/metrics/test_classification_metrics.py",), 2),
    Exercise("7.4", "Masked-item (BERT-style) sampling", "minitransformer/training/masking.py", "mask_tokens",
             _TASKS, (), ("tests/training/test_masking.py",), 2),
    Exercise("7.5", "Pseudo-labelling for semi-supervised learning",
             "minitransformer/training/semi_supervised.py", "select_pseudo_labels", _TASKS, (),
             ("tests/training/test_semi_supervised.py",), 2),
)


def by_id(exercise_id: str) -> Exercise:
    """The exercise with this id; ``KeyError`` listing the known ids otherwise."""
    for exercise in EXERCISES:
        if exercise.id == exercise_id:
            return exercise
    known = ", ".join(e.id for e in EXERCISES)
    raise KeyError(f"exercise {exercise_id!r} not found; known exercises: {known}")
