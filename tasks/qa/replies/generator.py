"""Generated replies: the encoder–decoder Transformer trained question -> answer, decoded with beam search.

    src = tokens(question)                       (B, S)
    tgt = <bos> tokens(answer) <eos>             (B, T + 1)
    loss = CE( Transformer(src, tgt[:, :-1]),  tgt[:, 1:] )   teacher forcing, pad ignored
    reply = beam_search(Transformer, src, num_beams = 4)

The pieces come from :mod:`minitransformer.training.seq2seq` (``collate``, ``build_model``,
``seq2seq_loss``) and :func:`minitransformer.generation.generate`, the loop from the
:class:`~minitransformer.training.Trainer`.
On an FAQ table the model learns to *write* the canned answer for paraphrases it has never seen;
unlike retrieval it can also blend answers, which is why production assistants keep a retrieval
or intent fallback (and why this head's ``evaluate`` reports exact match, the strict measure).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from minitransformer import Transformer
from minitransformer.files.run_folder import claim_run_folder
from minitransformer.generation import generate
from minitransformer.tokenizers import BPETokenizer
from minitransformer.training import TrainConfig, Trainer, seed_everything
from minitransformer.training.seq2seq import build_model, collate, seq2seq_loss

from ..bundle import check_vocabulary, load_module, read_info, write_info
from ..config import ReplySettings

__all__ = ["ReplyGenerator", "exact_match", "train_reply_generator"]


def exact_match(replies: Sequence[str], answers: Sequence[str]) -> float:
    """The share of replies equal to their answer, spaces at the ends aside."""
    return sum(r.strip() == a.strip() for r, a in zip(replies, answers)) / len(answers)


class ReplyGenerator:
    """A question -> answer encoder–decoder with its tokenizer."""

    task = "reply"  # what qa.json says the folder holds

    def __init__(self, model: Transformer, tokenizer, num_beams: int = 4):
        self.model, self.tokenizer, self.num_beams = model, tokenizer, num_beams

    def reply(self, questions: Sequence[str]) -> list[str]:
        """Beam-search replies; questions longer than the model's positions are truncated."""
        for q in questions:
            if not q.strip():
                raise ValueError("empty question; type a question to answer")
        limit = self.model.config.max_len
        src = self.tokenizer.encode_batch(list(questions), max_len=limit).ids  # (B, S)
        src = src.to(next(self.model.parameters()).device)
        out = generate(self.model, src=src, max_new_tokens=limit - 1, strategy="beam",
                       num_beams=self.num_beams)  # (B, T): <bos> y … <eos> <pad> …
        return self.tokenizer.decode_batch(out.cpu())

    def evaluate(self, questions: Sequence[str], answers: Sequence[str]) -> dict[str, float]:
        """``exact_match``: the share of replies equal to the answer (spaces at the ends aside)."""
        return {"exact_match": exact_match(self.reply(questions), answers)}

    def save(self, directory) -> Path:
        """Write the generator into ``directory`` (see :mod:`tasks.qa.bundle`)."""
        directory = Path(directory)
        self.model.save_pretrained(directory)
        self.tokenizer.save(directory)
        write_info(directory, {"task": "reply", "num_beams": self.num_beams})
        return directory

    @classmethod
    def load(cls, directory, device: str = "cpu") -> ReplyGenerator:
        """Read a generator written by :meth:`save`."""
        from ..pretrained.checkpoint import load_qa_tokenizer

        info = read_info(directory, task="reply")
        model = load_module(Transformer, directory, device)
        tokenizer = load_qa_tokenizer(directory)
        check_vocabulary(tokenizer, min(model.config.src_vocab_size, model.config.tgt_vocab_size), directory)
        return cls(model, tokenizer, info.get("num_beams", 4))


def train_reply_generator(questions: Sequence[str], answers: Sequence[str], *,
                          settings: ReplySettings | None = None, out_dir=None, seed: int = 0,
                          device: str = "auto", max_minutes: float | None = None,
                          verbose: bool = True) -> ReplyGenerator:
    """A BPE tokenizer on questions and answers, the encoder–decoder sized by ``settings``
    (positions for the longest text), teacher forcing in the Trainer; saved to ``out_dir``."""
    s = settings or ReplySettings()
    if len(questions) != len(answers) or not questions:
        raise ValueError("questions and answers: need the same, non-zero number of rows")
    seed_everything(seed)
    tokenizer = BPETokenizer().train([*questions, *answers], s.vocab_size)
    longest = max(len(tokenizer.encode(t)) for t in [*questions, *answers])
    model = build_model(tokenizer, d_model=s.d_model, nhead=4, num_layers=s.num_layers,
                        dim_feedforward=4 * s.d_model, dropout=0.1, max_len=longest + 2)
    config = TrainConfig(epochs=s.epochs, batch_size=s.batch_size, lr=s.lr, seed=seed, device=device,
                         max_minutes=max_minutes, verbose=verbose,
                         progress=None if verbose else False, log_every=0)
    with claim_run_folder(out_dir, option="out_dir"):  # the training and the save, one claim
        Trainer(model, config, loss_fn=lambda m, b: seq2seq_loss(m, b, label_smoothing=0.1),
                train_data=list(zip(questions, answers)), collate_fn=lambda b: collate(b, tokenizer),
                out_dir=out_dir, task_config={"task": "qa_reply"}).fit()
        generator = ReplyGenerator(model.eval(), tokenizer, s.num_beams)
        if out_dir is not None:
            generator.save(out_dir)
    return generator
