"""Generated replies from a GPT-2 checkpoint (``qa train --task reply --init-from DIR``).

The decoder-only model (our :class:`~minitransformer.CausalLM`, loaded by ``from_hf``) reads the
question and writes the answer after a separator, in one sequence::

    x    = tokens(question) ⧺ tokens(SEPARATOR) ⧺ tokens(" " + answer) ⧺ <|endoftext|>     (T,)
    loss = mean over answer positions t of  -log p(x_t | x_<t)              (prompt masked out)

Only the answer's tokens (and the closing ``<|endoftext|>``, which teaches the model to stop)
count in the loss: the questions are the input, not something to learn to write. The reply is
decoded greedily (or with beam search, ``num_beams > 1``) by
:func:`minitransformer.generation.generate` with the KV cache, from the prompt
``tokens(question) ⧺ tokens(SEPARATOR)`` until ``<|endoftext|>``.

The folder holds the fine-tuned model in our format (``config.json`` of a ``causal_lm`` +
``model.safetensors``), GPT-2's ``vocab.json`` + ``merges.txt`` and ``qa.json`` (``"model":
"causal_lm"``, the separator, the reply length); it answers without the checkpoint folder.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F

from minitransformer import CausalLM
from minitransformer.files.run_folder import claim_run_folder
from minitransformer.generation import generate
from minitransformer.training import TrainConfig, Trainer, seed_everything

from ..bundle import check_vocabulary, load_module, read_info, write_info
from ..config import ReplySettings
from ..replies.generator import exact_match
from .checkpoint import load_gpt2, load_qa_tokenizer

__all__ = ["SEPARATOR", "GPT2ReplyGenerator", "train_gpt2_replies"]

#: between the question and the answer: a new line and "A:", as in a written FAQ
SEPARATOR = "\nA:"
IGNORE = -100  # the label of a position outside the loss (F.cross_entropy's ignore_index)


class GPT2ReplyGenerator:
    """A question -> answer decoder-only model with its GPT-2 tokenizer."""

    task = "reply"  # what qa.json says the folder holds

    def __init__(self, model: CausalLM, tokenizer, max_new_tokens: int = 64, num_beams: int = 1,
                 separator: str = SEPARATOR):
        self.model, self.tokenizer = model, tokenizer
        self.max_new_tokens, self.num_beams, self.separator = max_new_tokens, num_beams, separator

    def prompt(self, question: str) -> list[int]:
        """``tokens(question) ⧺ tokens(separator)``, the question cut so that the prompt and a
        reply of ``max_new_tokens`` fit in the model's positions."""
        if not isinstance(question, str) or not question.strip():
            raise ValueError("empty question; type a question to answer")
        separator = self.tokenizer.encode(self.separator)
        room = max(self.model.config.max_len - self.max_new_tokens - len(separator), 1)
        return self.tokenizer.encode(question.strip())[:room] + separator

    def example(self, question: str, answer: str) -> tuple[list[int], list[int]]:
        """One training row: ``(ids (T,), labels (T,))``, the labels ``IGNORE`` on the prompt."""
        prompt = self.prompt(question)
        answer_ids = self.tokenizer.encode(" " + answer.strip()) + [self.model.config.eos_id]
        ids = (prompt + answer_ids)[:self.model.config.max_len]
        labels = ([IGNORE] * len(prompt) + answer_ids)[:len(ids)]
        return ids, labels

    @torch.no_grad()
    def reply(self, questions: Sequence[str]) -> list[str]:
        """The written reply to each question (decoded one question at a time: prompts differ
        in length, and ``generate`` takes an unpadded prefix)."""
        prompts = [self.prompt(q) for q in questions]
        device = next(self.model.parameters()).device
        eos = self.model.config.eos_id
        out = []
        for prompt in prompts:
            steps = min(self.max_new_tokens, self.model.config.max_len - len(prompt))
            ids = torch.tensor([prompt], dtype=torch.long, device=device)  # (1, n)
            strategy = "beam" if self.num_beams > 1 else "greedy"
            tokens = generate(self.model, input_ids=ids, max_new_tokens=steps, strategy=strategy,
                              num_beams=self.num_beams)[0, len(prompt):].tolist()  # the continuation
            if eos in tokens:
                tokens = tokens[:tokens.index(eos)]
            out.append(self.tokenizer.decode(tokens).strip())
        return out

    def evaluate(self, questions: Sequence[str], answers: Sequence[str]) -> dict[str, float]:
        """``exact_match``: the share of replies equal to the answer (spaces at the ends aside)."""
        return {"exact_match": exact_match(self.reply(questions), answers)}

    def save(self, directory) -> Path:
        """Write the model, the tokenizer's files and ``qa.json`` into ``directory``."""
        directory = Path(directory)
        self.model.save_pretrained(directory)
        self.tokenizer.save(directory)
        write_info(directory, {"task": "reply", "model": "causal_lm", "separator": self.separator,
                               "max_new_tokens": self.max_new_tokens, "num_beams": self.num_beams})
        return directory

    @classmethod
    def load(cls, directory, device: str = "cpu") -> GPT2ReplyGenerator:
        """Read a generator written by :meth:`save` (safetensors and JSON only)."""
        info = read_info(directory, task="reply")
        model = load_module(CausalLM, directory, device)
        tokenizer = load_qa_tokenizer(directory)
        check_vocabulary(tokenizer, model.config.vocab_size, directory)
        return cls(model, tokenizer, info.get("max_new_tokens", 64), info.get("num_beams", 1),
                   info.get("separator", SEPARATOR))


def reply_batches(rows: Sequence[tuple[list[int], list[int]]], pad_id: int):
    """collate_fn: ``[(ids, labels)]`` -> ``ids (B, T)``, ``labels (B, T)``, ``padding (B, T)``
    (True = padding; GPT-2 pads with ``<|endoftext|>``, so padding cannot be told from the ids)."""
    width = max(len(ids) for ids, _ in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE, dtype=torch.long)
    padding = torch.ones(len(rows), width, dtype=torch.bool)
    for i, (row, row_labels) in enumerate(rows):
        ids[i, :len(row)], labels[i, :len(row)] = torch.tensor(row), torch.tensor(row_labels)
        padding[i, :len(row)] = False
    return ids, labels, padding


def answer_loss(model: CausalLM, batch) -> torch.Tensor:
    """Next-token cross-entropy on the answer positions only."""
    ids, labels, padding = batch
    logits = model(ids, key_padding_mask=padding)[:, :-1]  # (B, T-1, V): position t predicts t + 1
    return F.cross_entropy(logits.reshape(-1, logits.size(-1)), labels[:, 1:].reshape(-1),
                           ignore_index=IGNORE)


def train_gpt2_replies(questions: Sequence[str], answers: Sequence[str], *, init_from, settings:
                       ReplySettings | None = None, out_dir=None, seed: int = 0, device: str = "auto",
                       max_minutes: float | None = None, verbose: bool = True) -> GPT2ReplyGenerator:
    """Fine-tune the GPT-2 checkpoint in ``init_from`` on ``question SEPARATOR answer
    <|endoftext|>`` rows (``settings``: epochs, batch size, learning rate, beams); saved to
    ``out_dir``. Replies are as long as the longest answer seen, plus a few tokens."""
    s = settings or ReplySettings()
    if len(questions) != len(answers) or not questions:
        raise ValueError("questions and answers: need the same, non-zero number of rows")
    seed_everything(seed)
    model, tokenizer = load_gpt2(init_from)
    longest = max(len(tokenizer.encode(" " + a)) for a in answers) + 8
    generator = GPT2ReplyGenerator(model, tokenizer, min(longest, model.config.max_len // 2), s.num_beams)
    rows = [generator.example(q, a) for q, a in zip(questions, answers)]
    config = TrainConfig(epochs=s.epochs, batch_size=s.batch_size, lr=s.lr, seed=seed, device=device,
                         max_minutes=max_minutes, verbose=verbose,
                         progress=None if verbose else False, log_every=0)
    with claim_run_folder(out_dir, option="out_dir"):  # the training and the save, one claim
        Trainer(model, config, loss_fn=answer_loss, train_data=rows,
                collate_fn=lambda b: reply_batches(b, model.config.pad_id), out_dir=out_dir,
                task_config={"task": "qa_reply", "init_from": str(init_from)}).fit()
        model.eval()
        if out_dir is not None:
            generator.save(out_dir)
    return generator
