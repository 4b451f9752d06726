"""Every option of every verb, given a value outside its range (``values.py``), and options a
verb does not take: refused in one line naming the option, before any work (the model and the
data unchanged, nothing written)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minitransformer.cli.main import build_parser
from tests.fuzz.conftest import FUZZ
from tests.fuzz.harness import expect_refusal
from tests.fuzz.heads import HEADS

EXAMPLES = 2

OPTIONS = [pytest.param(head, verb, option, id=f"{head.command}-{verb}-{option}")
           for head in HEADS.values() for verb, options in head.options.items() for option in options]
VERBS = [pytest.param(head, verb, id=f"{head.command}-{verb}")
         for head in HEADS.values() for verb in head.argv if ":" not in verb]

#: options some verbs do not take (the training ones outside ``train``; ``--resume`` where the head
#: cannot resume), and options no verb takes
NOT_OFFERED = {"--epochs": "1", "--lr": "0.01", "--max-minutes": "1", "--resume": "runs/old",
               "--out": "runs/new", "--data": "data.csv", "--device": "cpu", "--bogus": "1",
               "--epoch-count": "3", "--模型": "x", "-z": "1"}


def verb_options(head, verb) -> set[str]:
    """The option strings the verb's parser takes (read from the parser itself)."""
    parser = build_parser([head.command])
    head_parser = parser._subparsers._group_actions[0].choices[head.command]
    return set(head_parser._subparsers._group_actions[0].choices[verb]._option_string_actions)


@pytest.mark.parametrize("head, verb, option", OPTIONS)
def test_a_value_out_of_range_is_refused(head, verb, option, built, capsys, tmp_path_factory):
    made = built(head.command)
    assert option in verb_options(head, verb), f"{head.command} {verb} has no {option}: update heads.py"
    folder = tmp_path_factory.mktemp(f"{head.command}-{verb}{option}")
    numbers = itertools.count()

    @settings(FUZZ, max_examples=EXAMPLES)
    @given(value=head.options[verb][option], glued=st.booleans())
    def case(value, glued):
        out = folder / (f"out-{next(numbers)}" + (".csv" if verb == "simulate" else ""))
        given = [f"{option}={value}"] if glued else [option, value]
        argv = head.command_line(verb, made.paths(out=out)) + given
        # the message names the option, or the value when it is a name (a file, a column)
        named = value.strip() and (len(value) >= 3 or "/" in value or value == ".")
        expect_refusal(argv, capsys, what=f"{option} {value!r}", names=[option] + ([value] if named else []),
                       words=[option.lstrip("-")],
                       watched=[made.data, made.model], fresh=[out])

    case()


@pytest.mark.parametrize("head, verb", VERBS)
def test_an_option_the_verb_does_not_take_is_refused(head, verb, built, capsys, tmp_path):
    made = built(head.command)
    offered = verb_options(head, verb)
    # argparse takes a prefix of an option for the option (--out for --output): not a refusal
    refused = [option for option in NOT_OFFERED if not any(o.startswith(option) for o in offered)]
    assert refused
    for option in refused:
        out = tmp_path / ("out.csv" if verb == "simulate" else "out")
        argv = head.command_line(verb, made.paths(out=out)) + [option, NOT_OFFERED[option]]
        expect_refusal(argv, capsys, what=f"{option} not taken by {verb}", names=[option],
                       watched=[made.data, made.model], fresh=[out])
