"""The four heads as the fuzz suite sees them: their verbs' valid command lines, the CSV files
those verbs read (and what each needs of them), and the options each verb takes with the range
of each.

Every command line here is valid and quick (a tiny model, one epoch, CPU): a case adds exactly
one defect (a malformed file, one wrong option value), so a command that does not refuse the
defect shows up as exit status 0 (or a traceback) in a second or two, not as a long training.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import strategies as st

from tests.fuzz import values
from tests.fuzz.tables import HUGE_NUMBER, TableSpec

__all__ = ["Head", "HEADS", "Paths", "NOT_NUMBERS", "BAD_TIMES", "write_csv"]

# values no number column can hold: not finite, not numbers, missing
NOT_FINITE = ("nan", "NaN", "inf", "-inf", "Infinity", "1e400", "-1e400", HUGE_NUMBER)
NOT_NUMBERS = ("abc", "数量", "12 34", "1,5.5", "--3")
BAD_TIMES = ("nan", "inf", "-inf", "1e400", HUGE_NUMBER, "yesterday", "2024-13-45", "2024-02-30",
             "2024-02-10 25:61:00", "昨天", "12/31/2024 noon")


@dataclass(frozen=True)
class Paths:
    """Where one case's files are: ``data`` (the CSV under test), ``model`` (a trained model
    folder), ``out`` (a training's output folder or a file to write), ``items`` (two known item
    ids) and ``base`` (the head's valid data, where ``data`` is a second file: ``--test``,
    ``--future``, ``--answers``)."""

    data: Path | str = ""
    model: Path | str = ""
    out: Path | str = ""
    items: str = ""
    base: Path | str = ""


@dataclass(frozen=True)
class Head:
    """One head's command, its verbs, its files and its options.

    Attributes:
        command: the word after ``minitransformer`` (``recommend``).
        argv: ``{verb: function(paths) -> the verb's valid arguments}``; ``verb:file`` is the verb
            with a second file under test (``evaluate:test`` reads ``--test``).
        tables: ``{verb: what the verb needs of its CSV file}`` (verbs that read one).
        table_base: ``{verb: name}``: which of the head's files (``data`` unless named here: QA's
            ``questions`` and ``answers``, forecasting's ``test`` and ``future``, risk's ``timed``)
            a verb reads.
        options: ``{verb: {option: strategy of wrong values}}``.
        data_options: ``simulate`` options of the data the suite's model is trained on.
    """

    command: str
    argv: dict[str, Callable[[Paths], list[str]]]
    tables: dict[str, TableSpec]
    options: dict[str, dict[str, st.SearchStrategy[str]]]
    table_base: dict[str, str] = field(default_factory=dict)
    data_options: tuple[str, ...] = ()

    def command_line(self, verb: str, paths: Paths) -> list[str]:
        return [self.command, verb.split(":")[0], *(str(a) for a in self.argv[verb](paths))]


def _train_options(**own) -> dict[str, st.SearchStrategy[str]]:
    return {"--epochs": values.positive_int, "--batch-size": values.positive_int,
            "--lr": values.positive_float, "--max-minutes": values.positive_float, "--seed": values.seed,
            "--device": values.device(), **own}


def _use_options(**own) -> dict[str, st.SearchStrategy[str]]:
    return {"--batch-size": values.positive_int, "--seed": values.seed, "--device": values.device(), **own}


TINY = ("--epochs", "1", "--d-model", "16", "--layers", "1", "--device", "cpu")  # the smallest training

RECOMMEND = Head(
    command="recommend",
    argv={
        "train": lambda p: ["--data", p.data, "--out", p.out, *TINY, "--max-len", "12", "--final-epochs", "0",
                            "--eval-users", "20"],
        "evaluate": lambda p: ["--model", p.model, "--data", p.data],
        "predict": lambda p: ["--model", p.model, "--history", p.items],
        "simulate": lambda p: ["--out", p.out, "--users", "20", "--items", "24"],
    },
    tables={
        # the purchase log: user_id,item_id,category,timestamp (category is not read)
        verb: TableSpec(required=("user_id", "item_id", "timestamp"), bad_cells={"timestamp": BAD_TIMES},
                        free_text=("category",))
        for verb in ("train", "evaluate")
    },
    options={
        "train": _train_options(**{
            "--max-len": values.count_at_least(2), "--negatives": values.positive_int,
            "--d-model": values.positive_int, "--layers": values.positive_int, "--heads": values.positive_int,
            "--dropout": values.dropout,
            "--max-tokens": values.positive_int, "--mask-prob": values.probability_open,
            "--last-item-prob": values.unit_interval, "--patience": values.non_negative_int,
            "--final-epochs": values.non_negative_int, "--eval-users": values.non_negative_int,
            "--prior-items": values.non_negative_int,
            "--model": values.choice("sasrec", "bert4rec"), "--format": values.choice("auto", "csv"),
            "--loss": values.choice("ce", "bce", "gbce"),
            "--attention-backend": values.choice("manual", "sdpa")}),
        "evaluate": _use_options(**{"--negatives": values.positive_int,
                                    "--protocol": values.choice("full", "sampled"),
                                    "--split": values.choice("test", "valid"),
                                    "--format": values.choice("auto", "csv")}),
        "predict": {"--k": values.positive_int, "--device": values.device(),
                    "--history": st.sampled_from(["", "   ", "no-such-item another-unknown"])},
        "simulate": {"--users": values.positive_int, "--items": values.positive_int, "--seed": values.seed},
    },
    data_options=("--users", "40", "--items", "48"),
)

QA = Head(
    command="qa",
    argv={
        "train": lambda p: ["--data", p.data, "--out", p.out, *TINY, "--ensemble", "1",
                            "--pretrain-epochs", "0"],
        "evaluate": lambda p: ["--model", p.model, "--data", p.data],
        "predict": lambda p: ["--model", p.model, "--data", p.data],
        "train:answers": lambda p: ["--data", p.base, "--answers", p.data, "--out", p.out, *TINY,
                                    "--ensemble", "1", "--pretrain-epochs", "0"],
        "ask": lambda p: ["--model", p.model, "where is my order?"],
        "chat": lambda p: ["--model", p.model],
    },
    tables={
        # intents: text,category; an empty question or label cannot be learned or scored
        **{verb: TableSpec(required=("text", "category"), bad_cells={"text": ("", "   "), "category": ("",)},
                           free_text=("text",))
           for verb in ("train", "evaluate")},
        "predict": TableSpec(required=("text",), bad_cells={"text": ("", "   ")}, free_text=("text",)),
        # the replies of intents: intent,answer; every intent must be one of the training data's
        "train:answers": TableSpec(required=("intent", "answer"),
                                   bad_cells={"intent": ("", "no_such_intent", "Cancel_Order")},
                                   free_text=("answer",)),
    },
    table_base={"evaluate": "questions", "predict": "questions", "train:answers": "answers"},
    options={
        "train": _train_options(**{
            "--pretrain-epochs": values.non_negative_int, "--d-model": values.positive_int,
            "--layers": values.positive_int, "--ensemble": values.positive_int,
            "--task": values.choice("intent", "match", "reply"), "--tokenizer": values.choice("bpe", "char"),
            "--format": values.choice("intent", "csv", "faq"),
            "--text-col": st.sampled_from(["", "question", "Text"]),
            "--label-col": st.sampled_from(["", "label"]),
            "--init-from": st.sampled_from(["no-such-checkpoint", "no/such/folder"])}),
        "evaluate": _use_options(**{"--text-col": st.sampled_from(["", "question"]),
                                    "--label-col": st.sampled_from(["", "label"]),
                                    "--format": values.choice("intent", "csv")}),
        "predict": _use_options(**{"--text-col": st.sampled_from(["", "question"])}),
        "ask": {"--lang": values.choice("en", "zh"), "--device": values.device()},
        "chat": {"--lang": values.choice("en", "zh"), "--device": values.device()},
    },
)

FORECAST = Head(
    command="forecast",
    argv={
        "train": lambda p: ["--data", p.data, "--out", p.out, "--horizon", "4", "--context", "16",
                            "--patch-len", "4", "--members", "1", "--no-refit", *TINY],
        "evaluate": lambda p: ["--model", p.model, "--data", p.data],
        "evaluate:test": lambda p: ["--model", p.model, "--data", p.base, "--test", p.data],
        "predict": lambda p: ["--model", p.model, "--data", p.data],
        "predict:future": lambda p: ["--model", p.model, "--data", p.base, "--future", p.data],
        "simulate": lambda p: ["--out", p.out, "--products", "3", "--weeks", "20"],
    },
    tables={
        # weekly sales, long layout: series_id,date,value,promo; sales are counts (>= 0, finite),
        # a series has one value a date
        verb: TableSpec(required=("series_id", "value"),
                        bad_cells={"value": NOT_FINITE + NOT_NUMBERS + ("", "NA", "-5", "-0.5"),
                                   "date": ("2022-13-01", "2022-02-30", "yesterday", "NaN", "inf",
                                            "01/32/2022", "昨天", HUGE_NUMBER)},
                        keyed_rows=True)
        for verb in ("train", "evaluate", "predict", "evaluate:test")
    } | {
        # the promotions planned for the H weeks to forecast: series_id,date,promo
        "predict:future": TableSpec(required=("series_id", "promo"),
                                    bad_cells={"promo": NOT_FINITE + NOT_NUMBERS + ("",),
                                               "date": ("2022-13-01", "yesterday", "NaN")},
                                    keyed_rows=True),
    },
    table_base={"evaluate:test": "test", "predict:future": "future"},
    options={
        "train": _train_options(**{
            "--horizon": st.one_of(values.positive_int, st.just(str(10**30))),
            "--context": st.one_of(values.positive_int, st.just(str(10**30))),
            "--patch-len": values.positive_int, "--members": values.positive_int,
            "--quantiles": st.sampled_from(["", "0.1,0.9", "0,0.5", "0.5,1", "0.5,1.5", "a,b", "nan,0.5",
                                            "0.5,inf", "-0.1,0.5"]),
            "--pretrain-epochs": values.non_negative_int, "--d-model": values.positive_int,
            "--layers": values.positive_int, "--frequency": values.positive_int,
            "--season": values.positive_int, "--format": values.choice("auto", "long", "m4")}),
        "evaluate": _use_options(**{"--frequency": values.positive_int, "--season": values.positive_int,
                                    "--test": st.sampled_from(["no-such-test.csv", "."]),
                                    "--format": values.choice("auto", "long")}),
        "predict": _use_options(**{"--series": st.sampled_from(["", "NO-SUCH-SERIES", "p0000"]),
                                   "--format": values.choice("auto", "long")}),
        "simulate": {"--products": values.positive_int, "--weeks": values.positive_int,
                     "--holdout": values.non_negative_int, "--seed": values.seed},
    },
    data_options=("--products", "8", "--weeks", "60", "--holdout", "4"),
)

RISK = Head(
    command="risk",
    argv={
        "train": lambda p: ["--data", p.data, "--out", p.out, *TINY],
        "train:time": lambda p: ["--data", p.data, "--out", p.out, *TINY, "--time", "time"],
        "evaluate": lambda p: ["--model", p.model, "--data", p.data],
        "predict": lambda p: ["--model", p.model, "--data", p.data],
        "simulate": lambda p: ["--out", p.out, "--customers", "20", "--days", "10"],
    },
    tables={
        # the simulator's transactions: is_fraud is the label (0/1), amount and hour are numbers
        "train": TableSpec(required=("is_fraud",),
                           bad_cells={"amount": NOT_FINITE + ("", "NA"), "hour": NOT_FINITE + ("",),
                                      "is_fraud": ("", "2", "nan")},
                           column_level=frozenset({("is_fraud", "2"), ("is_fraud", "nan")})),
        "evaluate": TableSpec(required=("is_fraud", "amount", "hour", "prev_amount_1"),
                              bad_cells={"amount": NOT_FINITE + NOT_NUMBERS + ("", "NA"),
                                         "hour": NOT_FINITE + NOT_NUMBERS + ("",),
                                         "is_fraud": ("", "2", "yes")}),
        "predict": TableSpec(required=("amount", "hour", "prev_amount_1"),
                             bad_cells={"amount": NOT_FINITE + NOT_NUMBERS + ("", "NA"),
                                        "hour": NOT_FINITE + NOT_NUMBERS + ("",)}),
        # the same transactions with their time (ISO-8601), named with --time
        "train:time": TableSpec(required=("is_fraud", "time"), bad_cells={"time": BAD_TIMES + ("",)}),
    },
    table_base={"train:time": "timed"},
    options={
        "train": _train_options(**{
            "--label-fraction": values.fraction, "--valid-fraction": values.probability_open,
            "--cost-fn": values.non_negative_float, "--cost-fp": values.non_negative_float,
            "--target-precision": values.fraction, "--pretrain-epochs": values.non_negative_int,
            "--pseudo-rounds": values.non_negative_int, "--d-model": values.positive_int,
            "--layers": values.positive_int, "--loss": values.choice("bce", "balanced", "focal"),
            "--pseudo-labels": values.choice("soft", "hard"), "--impute": values.choice("error", "median"),
            "--attention": values.choice("manual", "sdpa"),
            "--target": st.sampled_from(["", "no_such_column", "IS_FRAUD"]),
            "--positive": st.sampled_from(["7", "yes", ""]),
            "--drop": st.sampled_from(["no_such_column", "amount,no_such_column"]),
            "--categorical": st.sampled_from(["no_such_column"])}),
        "evaluate": _use_options(),
        "predict": _use_options(**{"--explain": st.one_of(values.below_int(0), values.nonsense),
                                   "--id-column": st.sampled_from(["no_such_column", "ID"]),
                                   "--output": st.sampled_from(["", "."])}),
        "simulate": {"--customers": values.positive_int, "--days": values.positive_int,
                     "--seed": values.seed},
    },
    data_options=("--customers", "40", "--days", "20"),
)

HEADS = {head.command: head for head in (RECOMMEND, QA, FORECAST, RISK)}


def write_csv(path: Path, header, rows) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path
