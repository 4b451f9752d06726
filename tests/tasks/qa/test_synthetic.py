"""The built-in bilingual FAQ (tasks/qa/synthetic.py)."""

from __future__ import annotations

from tasks.qa.synthetic import (
    ANSWERS,
    FAQ,
    HANDOFF,
    HELD_OUT,
    OUT_OF_SCOPE,
    faq_pairs,
    faq_split,
    language_of,
)


def test_builtin_faq_is_bilingual_and_large_enough():
    assert len(FAQ) >= 30 and len(OUT_OF_SCOPE) >= 20
    for intent, (en, zh, english, chinese) in FAQ.items():
        assert language_of(en) == "en" and language_of(zh) == "zh", intent
        assert len(english) >= 12 and all(language_of(q) == "en" for q in english), intent
        assert len(chinese) >= 12 and all(language_of(q) == "zh" for q in chinese), intent
    train, test = faq_split()
    assert not {q for q, _ in train} & {q for q, _ in test}
    assert sum(y != "oos" for _, y in test) == 2 * HELD_OUT * len(FAQ)
    assert ANSWERS["track_order"]["zh"]


def test_every_question_has_the_answer_in_its_own_language():
    rows = faq_pairs()
    assert len(rows) == sum(len(en) + len(zh) for _, _, en, zh in FAQ.values())
    assert all(language_of(q) == language_of(a) for q, a in rows)
    assert language_of(HANDOFF["zh"]) == "zh" and language_of(HANDOFF["en"]) == "en"
