"""The demo's customer-service QA use case: the built-in bilingual FAQ -> intent router -> accuracy.

Data: :mod:`tasks.qa.synthetic` (32 intents of a fictional shop, English and Chinese, plus
out-of-scope questions); its held-out paraphrases are the test set. Training and evaluation: the
head's Python verbs ``tasks.qa.train("builtin", ...)`` and ``tasks.qa.evaluate(model, "builtin")``
(what ``minitransformer qa train --data builtin`` and ``qa evaluate --data builtin`` run), with
the built-in FAQ's preset (:func:`tasks.qa.config.faq_settings`). The score is the accuracy of
the routed decision: the right intent for an in-scope question, a hand-off to a human for an
out-of-scope one. Baselines (reported by ``evaluate`` beside the router):
:class:`tasks.qa.baselines.TfidfIntentBaseline` (TF-IDF of character n-grams and words; nearest
intent centroid, nearest training question), where out-of-scope is one more intent.
"""

from __future__ import annotations

import time

from minitransformer.nn.io import save_json
from tasks.demo.context import DemoContext, Picture, Score, UseCaseResult
from tasks.demo.pictures import curves_picture, draw

__all__ = ["run", "SETTINGS", "QUESTIONS"]

#: changes to the built-in FAQ's preset (``faq_settings().train``), full demo and --quick
SETTINGS = {"full": {}, "quick": {"epochs": 6}}
#: questions for the attention pictures and the command to try next
QUESTIONS = ("where is my order?", "我的快递到哪了？")


def _pictures(ctx: DemoContext, run_dir, router, texts: list[str], labels: list[str]) -> list[Picture]:
    from minitransformer.pictures.plotting import plot_attention
    from tasks.qa import predict
    from tasks.qa.plot import attention_views, plot_confidence, plot_confusion

    decisions = predict(router, texts)
    predicted = [d["intent"] for d in decisions]                 # None = handed to a human
    oos = [label == router.oos_label for label in labels]
    correct = [(p is None) if out else (p == label) for p, label, out in zip(predicted, labels, oos)]
    folder = ctx.pictures_dir
    pictures = []
    truth = [None if out else label for label, out in zip(labels, oos)]   # oos: the right move is a hand-off
    path = draw(ctx, "QA confusion", plot_confusion, folder / "qa_confusion.png", truth, predicted,
                router.labels, title="held-out questions: the intents confused most")
    if path:
        pictures.append(Picture("Confusions between intents on the held-out questions "
                                "(the (hand-off) column: passed to a person)", path))
    path = draw(ctx, "QA confidence", plot_confidence, folder / "qa_confidence.png",
                [d["confidence"] for d in decisions], correct, router.threshold, oos=oos,
                handed_off=[p is None for p in predicted],
                title="confidence of the router and the hand-off threshold")
    if path:
        pictures.append(Picture("Confidence of right, wrong and out-of-scope answers; left of the "
                                "threshold the question goes to a human", path))
    for k, question in enumerate(QUESTIONS):
        try:
            view = attention_views(run_dir, question)[0]
        except Exception as err:  # the picture only: never stop the demo
            print(f"warning: no attention picture for {question!r}: {err}")
            continue
        path = draw(ctx, "QA attention", plot_attention, view.maps, folder / f"qa_attention_{k}.png",
                    query_labels=view.query_labels, key_labels=view.key_labels, title=view.title)
        if path:
            pictures.append(Picture(f"Attention of the sentence encoder on {question!r}", path))
    pictures += curves_picture(ctx, "QA training curves", run_dir, folder / "qa_curves.png",
                               title="intent router: training loss and validation accuracy")
    return pictures


def _train_and_evaluate(ctx: DemoContext, run_dir):
    """Train the router on the FAQ's training questions, score it on the held-out ones (loaded
    back from its folder, as ``qa evaluate`` does); the report is also kept as
    ``logs/qa_evaluate.json``. Returns ``(router, report)``."""
    import dataclasses

    import tasks.qa
    from tasks.qa.config import faq_settings

    settings = faq_settings()
    settings.train = dataclasses.replace(settings.train, **SETTINGS["quick" if ctx.quick else "full"])
    with ctx.logged("qa", "tasks.qa.train('builtin') and tasks.qa.evaluate(router, 'builtin')"):
        run = tasks.qa.train("builtin", run_dir, settings, seed=ctx.seed, device=ctx.device,
                             max_minutes=ctx.budget_minutes())
        router = tasks.qa.load(run.model_dir)
        report = tasks.qa.evaluate(router, "builtin")
    path = ctx.folder("logs") / "qa_evaluate.json"
    save_json(path, report)
    return router, report


def run(ctx: DemoContext) -> UseCaseResult:
    from tasks.qa.synthetic import INTENTS, faq_split

    start = time.monotonic()
    run_dir = ctx.run_dir("qa")
    router, report = _train_and_evaluate(ctx, run_dir)
    train, test = faq_split()
    texts, labels = [q for q, _ in test], [y for _, y in test]
    baselines = {name: scores["accuracy"] for name, scores in report["baselines"].items()}
    n_oos = labels.count("oos")
    scores = [Score(f"accuracy ({len(labels) - n_oos} held-out paraphrases + {n_oos} out-of-scope)",
                    report["accuracy"], baselines)]
    notes = [f"In-scope accuracy {report['in_scope_accuracy']:.3f}; out-of-scope questions handed to a "
             f"human: {report['oos_recall']:.3f}; all questions handed off: {report['handoff_rate']:.3f}."]
    pictures = _pictures(ctx, run_dir, router, texts, labels) if ctx.draw else []
    return UseCaseResult(
        name="customer-service QA",
        data=(f"the built-in bilingual FAQ of a fictional shop: {len(INTENTS)} intents, English and Chinese "
              f"questions, out-of-scope questions; {len(train)} training and {len(test)} held-out "
              f"questions (tasks/qa/synthetic.py)"),
        scores=scores, seconds=time.monotonic() - start, run_dir=run_dir,
        next_command=["qa", "ask", "--model", str(run_dir), QUESTIONS[0]],
        next_note="the canned answer of the routed intent (or the hand-off to a person); try "
                  f"{QUESTIONS[1]!r} too, or 'qa chat --model ...'",
        pictures=pictures, notes=notes)
