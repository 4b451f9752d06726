"""Benchmark the customer-service QA head on real data; prints a Markdown report.

Five parts (each skipped with a note when its data is absent):

1. **BANKING77 intents** -- ``train.csv`` is split 90/10 (stratified, seed 0); the 10 % hold-out
   plays the (held-back) test split. ``tasks.qa.train`` with the CLI defaults (what
   ``minitransformer qa train`` runs) trains on the 90 % (it carves its own validation split for
   early stopping), ``tasks.qa.evaluate`` scores the hold-out. Baseline: TF-IDF (word 1-2 +
   char_wb 2-5, sublinear) + logistic regression (C=10).
2. **Few labels** -- ``train.csv`` split 70/30 (stratified, seed 0); 10 questions per intent
   from the 70 % are labelled, the rest of it is unlabelled: supervised-only vs the
   semi-supervised recipe (:mod:`tasks.qa.semi.recipe`); a sixth of the 30 % validates (~500), the
   other ~2,500 score (the official test split has 3,080); baseline TF-IDF + LinearSVC on the
   same 10.
3. **ATEC matching** -- pairs split 90/10 (stratified); ``tasks.qa.train(..., task="match", fmt="atec")``
   with the CLI defaults (the cross-encoder); ROC-AUC and accuracy on the hold-out, beside char
   1-2-gram TF-IDF pair features + logistic regression (the head's own NumPy fit, which ``qa
   evaluate`` prints, and scikit-learn's) and the majority class.
4. **ATEC with few labels** -- the same split; 10 % of the training pairs keep their labels, the
   other 90 % are given as unlabelled pairs (``qa train --unlabelled``): the defaults without
   pretraining, with it on the labelled pairs, and with it on labelled + unlabelled pairs.
5. **Built-in FAQ** -- held-out paraphrases (EN + ZH) and out-of-scope questions; baseline
   TF-IDF + logistic regression on the same split.

Run: ``python benchmarks/qa.py [--quick] [--only banking77,faq,fewshot,atec,atec-few] [--draws 0,1,2,3,4]
[--threads N]``. The report: one table per part (ours, the baselines, the published anchors) and
whether its target is met; the notes behind the numbers are in ``benchmarks/LOG.md``.
AFQMC dev is not in ``shared/`` here (only the ATEC file is), so the ATEC/AFQMC-dev overlap the
data's SOURCE.md asks to drop cannot be dropped; the ATEC part says so in its table title.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from _common import shared_data  # noqa: E402

DATA = shared_data("qa")
BANKING77 = DATA / "banking77" / "train.csv"
ATEC = DATA / "afqmc_atec" / "atec_nlp_sim_train.csv"
AFQMC_DEV = DATA / "afqmc_atec" / "afqmc_dev.jsonl"
BANKING77_TARGET = 0.92  # hold-out accuracy
FAQ_TARGET = 0.95  # top intent right, in-scope held-out paraphrases
FEWSHOT_TARGET = 5.0  # accuracy points gained over supervised-only, on every draw
ATEC_TARGET = 0.70  # hold-out ROC-AUC
ATEC_FEW_FRACTION = 0.1  # atec-few: the share of the training pairs that keep their labels


def _write_csv(path: Path, texts, labels) -> None:
    import csv

    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "category"])
        w.writerows(zip(texts, labels))


def _tfidf_features():
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import FeatureUnion

    return FeatureUnion([("w", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
                         ("c", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True))])


def _processes(model_dir: Path) -> str:
    """How the run used the CPU: the Transformers train side by side, one process each, up to the
    free cores (tasks/qa/router/ensemble.py), each with this process's threads split between them."""
    from tasks.qa.router.ensemble import free_cores, worker_plan

    members = json.loads((model_dir / "qa.json").read_text()).get("ensemble", 1)
    processes, threads = worker_plan(members)  # as train_members decided for the CPU run
    return (f"{members} Transformer(s) in {processes} process(es) of {threads} torch thread(s), "
            f"{free_cores()} cores")


def banking77(work: Path, quick: bool, lines: list[str]) -> None:
    from sklearn.linear_model import LogisticRegression

    import tasks.qa as qa
    from tasks.qa.config import RouterSettings
    from tasks.qa.data import load_intents, stratified_split

    texts, labels = load_intents(BANKING77)
    train_idx, hold_idx = stratified_split(labels, 0.1, seed=0)
    if quick:
        train_idx = train_idx[::4]
    tr_t, tr_y = [texts[i] for i in train_idx], [labels[i] for i in train_idx]
    ho_t, ho_y = [texts[i] for i in hold_idx], [labels[i] for i in hold_idx]
    _write_csv(work / "b77_train.csv", tr_t, tr_y)
    _write_csv(work / "b77_hold.csv", ho_t, ho_y)
    settings = RouterSettings()  # the CLI defaults
    if quick:
        settings.train.epochs = 4
    run = qa.train(work / "b77_train.csv", work / "b77", settings, device="cpu",
                   max_minutes=None if quick else 19)
    seconds = run.seconds
    ours = qa.evaluate(qa.load(run.model_dir), work / "b77_hold.csv")
    name, parts = _expert_accuracies(run.model_dir, ho_t, ho_y)
    features = _tfidf_features()
    lr = LogisticRegression(C=10, max_iter=3000).fit(features.fit_transform([t.lower() for t in tr_t]), tr_y)
    base = lr.score(features.transform([t.lower() for t in ho_t]), ho_y)
    lines += [f"### BANKING77 intents (hold-out = 10% of train.csv, {len(ho_t):,} questions)", "",
              "| model | accuracy | macro-F1 | source |", "|---|---|---|---|",
              f"| **{name} (`qa train` defaults)** | **{100 * ours['accuracy']:.2f}%** | "
              f"{100 * ours['macro_f1']:.2f}% | |",
              *(f"| {part} | {', '.join(f'{100 * a:.2f}%' for a in accs)} | | |"
                for part, accs in parts.items()),
              f"| TF-IDF + logistic regression | {100 * base:.2f}% | | ours, same split |",
              "| TF-IDF + logistic regression, official test split | 91.40% | 91.42% | SOURCE.md |",
              "| BERT-Large fine-tuned, official test split | 93.66% | | Casanueva et al. 2020, table 2 |",
              "",
              f"Training {seconds / 60:.1f} min ({_processes(work / 'b77')}).", "",
              f"Target: accuracy ≥ {BANKING77_TARGET:.0%}: {_met(ours['accuracy'] >= BANKING77_TARGET)} "
              f"({100 * ours['accuracy']:.2f}%).", ""]


FEWSHOT_HOLDOUT = 0.3       # of train.csv: 3,001 questions held out for the few-label part
FEWSHOT_VALID_SHARE = 1 / 6  # of those: ~500 validate, ~2,500 score
# draws of the 10 labelled questions per intent: the gain varies by 2 points from draw to draw
# (+3.2 .. +5.3), so five of them, not three
FEWSHOT_SEEDS = (0, 1, 2, 3, 4)


def _expert_accuracies(model_dir: Path, texts, labels) -> tuple[str, dict[str, list[float]]]:
    """The router's name in the report and the hold-out accuracy of each of its experts alone
    (none for a single model): ``{row name: [accuracy, ...]}``."""
    import tasks.qa as qa

    router = qa.load(model_dir)
    if router.expert is None:
        return "ours", {}
    members = [router.model, *router.members]
    transformers = "Transformer" if len(members) == 1 else f"{len(members)} Transformers"
    accuracies = {}
    together = f"ours, the {transformers} together" if len(members) > 1 else "ours, the Transformer alone"
    for name, alone in ((together, 1.0), ("ours, the linear n-gram expert alone", 0.0)):
        router.mix_weight = alone  # w = 1: the Transformers' probabilities, w = 0: the expert's
        accuracies[name] = [router.evaluate(texts, labels)["accuracy"]]
    if len(members) > 1:
        from minitransformer.metrics.classification import accuracy
        from tasks.qa.router.classifier import predict_proba

        encoded, truth = router.encode(texts), [router.label_to_id[y] for y in labels]
        accuracies["ours, each Transformer alone"] = [
            accuracy(truth, predict_proba(model, encoded).argmax(-1).tolist()) for model in members]
    return f"ours: {transformers} × linear n-gram expert", accuracies


def _met(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def fewshot(work: Path, quick: bool, lines: list[str], draws: tuple[int, ...] = FEWSHOT_SEEDS) -> None:
    """10 labelled questions per intent: supervised only vs MLM pretraining + three-view
    self-training + distillation; ``draws``: the seeds of the 10 per intent (one process can run
    some, another the rest)."""
    import dataclasses

    from sklearn.svm import LinearSVC

    from tasks.qa.config import few_label_settings
    from tasks.qa.data import load_intents, stratified_split
    from tasks.qa.semi.recipe import few_shot_indices, semi_supervised, supervised_only

    texts, labels = load_intents(BANKING77)
    # a test set about the size of the official one (3,080): on the 500 questions of a 10 %
    # hold-out half, one accuracy has a standard error of ~2 points, as large as the effect
    train_idx, hold_idx = stratified_split(labels, FEWSHOT_HOLDOUT, seed=0)
    tr_t, tr_y = [texts[i] for i in train_idx], [labels[i] for i in train_idx]
    ho_t, ho_y = [texts[i] for i in hold_idx], [labels[i] for i in hold_idx]
    base = few_label_settings()
    s = dataclasses.replace(base, train=dataclasses.replace(base.train, epochs=4 if quick else 15,
                                                            patience=4))
    pretrain_epochs, rounds = (1, 1) if quick else (10, 2)  # the recipe's defaults
    test_idx, v_idx = stratified_split(ho_y, FEWSHOT_VALID_SHARE, seed=1)  # ~500 validate, the rest score
    valid = ([ho_t[i] for i in v_idx], [ho_y[i] for i in v_idx])
    te_t, te_y = [ho_t[i] for i in test_idx], [ho_y[i] for i in test_idx]
    features = _tfidf_features()
    rows, semi_minutes = [], 0.0
    for seed in draws[:1] if quick else draws:
        shot = few_shot_indices(tr_y, 10, seed=seed)  # each seed draws another 10 per intent
        rest = sorted(set(range(len(tr_t))) - set(shot))
        k_t, k_y, unl = [tr_t[i] for i in shot], [tr_y[i] for i in shot], [tr_t[i] for i in rest]
        if quick:
            unl = unl[::4]
        sup = supervised_only(k_t, k_y, valid, s, seed=seed, device="cpu", verbose=False).evaluate(te_t, te_y)
        start = time.time()
        semi, _ = semi_supervised(k_t, k_y, unl, valid, s, pretrain_epochs=pretrain_epochs,
                                  rounds=rounds, fraction=0.5, seed=seed, device="cpu")
        semi_minutes += (time.time() - start) / 60
        svm = LinearSVC().fit(features.fit_transform([t.lower() for t in k_t]), k_y)
        svm_acc = svm.score(features.transform([t.lower() for t in te_t]), te_y)
        rows.append((seed, sup["accuracy"], semi.evaluate(te_t, te_y)["accuracy"], svm_acc))
        print(f"few labels, draw {seed}: supervised {rows[-1][1]:.4f}, semi {rows[-1][2]:.4f}, "
              f"TF-IDF + SVM {svm_acc:.4f}", file=sys.stderr, flush=True)
    mean = [sum(r[k] for r in rows) / len(rows) for k in (1, 2, 3)]
    gains = [100 * (b - a) for _, a, b, _ in rows]
    gain = sum(gains) / len(gains)
    n = len(gains)
    standard_error = (sum((g - gain) ** 2 for g in gains) / (n - 1) / n) ** 0.5 if n > 1 else 0.0
    every = min(gains) >= FEWSHOT_TARGET
    lines += [f"### Few labels (10 labelled questions per intent; BANKING77 split 70/30: {len(tr_t):,} "
              f"questions of which {len(k_t):,} labelled, {len(te_t):,} held out to score, "
              f"{len(valid[0])} to validate; {n} draws of the 10)", "",
              f"| model | accuracy (mean of {n} draws) | gain over supervised only, per draw | source |",
              "|---|---|---|---|",
              f"| **ours: MLM pretraining + three-view self-training + a distilled student** "
              f"| **{100 * mean[1]:.2f}%** | {', '.join(f'{g:+.2f}' for g in gains)} "
              f"(mean **{gain:+.2f} ± {standard_error:.2f}**) | |",
              f"| supervised only, the same {len(k_t)} labels | {100 * mean[0]:.2f}% | | |",
              f"| TF-IDF + LinearSVC, the same {len(k_t)} labels | {100 * mean[2]:.2f}% | | ours |",
              "| TF-IDF + LinearSVC, 10 per intent, official test split | 74.74% | | SOURCE.md |",
              "| USE+ConveRT, 10 per intent, official test split | 85.19% | | "
              "Casanueva et al. 2020, table 3 |",
              "", f"Recipe (`tasks.qa.semi.recipe.semi_supervised`): masked-token pretraining "
              f"({pretrain_epochs} epochs), {rounds} self-training rounds whose pseudo-labels come from",
              "the product of three views (the Transformer, a linear n-gram model, label spreading over a "
              "5-nearest-neighbour TF-IDF graph),",
              "then a student learning every unlabelled question's soft target (the product at temperature "
              "0.5); the Transformer alone is scored.", "",
              f"Training: about {semi_minutes / len(rows):.0f} min of semi-supervised training per draw.", "",
              f"Target: a gain of at least +{FEWSHOT_TARGET:.0f} points on every draw: {_met(every)} "
              f"(lowest {min(gains):+.2f}).", ""]


def atec(work: Path, quick: bool, lines: list[str]) -> None:
    import os
    import platform

    import numpy as np
    from scipy.sparse import hstack
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    import tasks.qa as qa
    from tasks.qa.config import MatchSettings
    from tasks.qa.data import drop_overlapping_pairs, load_pairs, stratified_split

    pairs = load_pairs(ATEC, "atec")
    note = "AFQMC dev is not in shared/, so no overlap could be dropped"
    if AFQMC_DEV.is_file():
        pairs = drop_overlapping_pairs(pairs, load_pairs(AFQMC_DEV, "afqmc"))
        note = "pairs occurring in AFQMC dev dropped"
    tr, ho = stratified_split([y for *_, y in pairs], 0.1, seed=0)
    if quick:
        tr = tr[::8]
    path = work / "atec_train.tsv"
    path.write_text("".join(f"{i}\t{pairs[i][0]}\t{pairs[i][1]}\t{pairs[i][2]}\n" for i in tr),
                    encoding="utf-8")
    (work / "atec_hold.tsv").write_text(
        "".join(f"{i}\t{pairs[i][0]}\t{pairs[i][1]}\t{pairs[i][2]}\n" for i in ho), encoding="utf-8")
    settings = MatchSettings()  # the CLI defaults: `qa train --task match --format atec`
    if quick:
        settings.epochs, settings.pretrain_epochs = 1, 1
    load = os.getloadavg()[0]
    run = qa.train(path, work / "atec", settings, task="match", fmt="atec", device="cpu")
    minutes = run.seconds / 60
    # what `qa evaluate` prints: the model's scores, the majority class and the lexical baseline
    ours = qa.evaluate(qa.load(run.model_dir), work / "atec_hold.tsv", fmt="atec")
    lexical_name, lexical = next(iter(ours["baselines"].items()))
    vec = TfidfVectorizer(analyzer="char", ngram_range=(1, 2), sublinear_tf=True)
    vec.fit([s for i in tr for s in pairs[i][:2]])

    def feats(idx):
        a, b = vec.transform([pairs[i][0] for i in idx]), vec.transform([pairs[i][1] for i in idx])
        return hstack([abs(a - b), a.multiply(b), np.asarray(a.multiply(b).sum(1))]).tocsr()

    lr = LogisticRegression(max_iter=3000).fit(feats(tr), [pairs[i][2] for i in tr])
    truth = [pairs[i][2] for i in ho]
    proba = lr.predict_proba(feats(ho))[:, 1]
    base = roc_auc_score(truth, proba)
    base_acc = float(np.mean((proba >= 0.5) == np.array(truth, dtype=bool)))
    gain = ours["roc_auc"] - max(base, lexical["roc_auc"])
    majority = ours["majority_class_accuracy"]
    recipe = (f"cross-encoder, {settings.encoder.num_layers} layers of width {settings.encoder.d_model}, "
              f"dropout {settings.encoder.dropout:g}; {settings.pretrain_epochs} epochs of masked-character "
              f"pretraining, then up to {settings.epochs} epochs reading both orders of each pair "
              f"(consistency {settings.consistency:g}); blended with the TF-IDF + LR below")
    from minitransformer.metrics.classification import roc_auc_within
    from tasks.qa.matching.overlap import overlap_bands

    same = roc_auc_within(truth, proba, overlap_bands([pairs[i][:2] for i in ho]))
    lines += [f"### ATEC question matching (hold-out = 10% of the ATEC training file, {len(ho):,} pairs; "
              f"{note})", "",
              "| model | ROC-AUC | same overlap | accuracy | source |", "|---|---|---|---|---|",
              f"| **ours: `qa train --task match` defaults** ({recipe}) | **{ours['roc_auc']:.3f}** | "
              f"{ours['same_overlap_roc_auc']:.3f} | {100 * ours['accuracy']:.1f}% | |",
              f"| the same cross-encoder alone, before the blend (`transformer_roc_auc`) | "
              f"{ours['transformer_roc_auc']:.3f} | {ours['transformer_same_overlap_roc_auc']:.3f} | | |",
              f"| {lexical_name} (NumPy, fitted by `qa train` on the same rows; `qa evaluate` prints it) | "
              f"{lexical['roc_auc']:.3f} | {lexical['same_overlap_roc_auc']:.3f} | "
              f"{100 * lexical['accuracy']:.1f}% | ours, same split |",
              f"| char 1-2-gram TF-IDF pair features + LR (scikit-learn) | {base:.3f} | {same:.3f} | "
              f"{100 * base_acc:.1f}% | ours, same split |",
              f"| majority class | 0.500 | 0.500 | {100 * majority:.1f}% | |",
              "| the same lexical baseline on AFQMC dev | 0.665 | | 67.6% | SOURCE.md |", "",
              "Same overlap: ROC-AUC comparing each positive pair only with negatives of the same tenth "
              "of character overlap (Jaccard of the two character sets; tasks/qa/matching/overlap.py): "
              "what a model knows beyond counting shared characters.", "",
              f"Training {minutes:.1f} min on {os.cpu_count()} cores, 1 torch thread (load average "
              f"{load:.1f} at the start); {len(tr):,} training pairs, of which `qa train` keeps 10% "
              f"for validation; best epoch {run.metrics['best_epoch']}. "
              f"{platform.system()} {platform.machine()}, Python {platform.python_version()}.", "",
              f"Target: ROC-AUC at least 0.02 above char TF-IDF + LR: {_met(gain >= 0.02)} ({gain:+.3f}); "
              f"accuracy above the majority class: {_met(ours['accuracy'] > majority)} "
              f"({100 * ours['accuracy']:.1f}% vs {100 * majority:.1f}%); ROC-AUC ≥ {ATEC_TARGET:.2f}: "
              f"{_met(ours['roc_auc'] >= ATEC_TARGET)}. Training under 30 minutes: {_met(minutes < 30)}.", ""]


def faq(work: Path, quick: bool, lines: list[str]) -> None:
    from sklearn.linear_model import LogisticRegression

    import tasks.qa as qa
    from tasks.qa.config import faq_settings
    from tasks.qa.synthetic import faq_split

    settings = faq_settings()  # the preset of `qa train --data builtin`
    if quick:
        settings.train.epochs = 10
    run = qa.train("builtin", work / "faq", settings, device="cpu")
    router = qa.load(run.model_dir)
    train, test = faq_split()
    m = qa.evaluate(router, "builtin")
    in_scope = [(q, y) for q, y in test if y != "oos"]
    pred = router.probs([q for q, _ in in_scope]).argmax(-1).tolist()
    top1 = sum(router.labels[p] == y for p, (_, y) in zip(pred, in_scope)) / len(in_scope)
    features = _tfidf_features()
    train_in = [(q, y) for q, y in train if y != "oos"]
    lr = LogisticRegression(C=10, max_iter=3000)
    lr.fit(features.fit_transform([q.lower() for q, _ in train_in]), [y for _, y in train_in])
    base = lr.score(features.transform([q.lower() for q, _ in in_scope]), [y for _, y in in_scope])
    n_oos = len(test) - len(in_scope)
    lines += [f"### Built-in bilingual FAQ ({len(in_scope)} held-out paraphrases, EN + ZH, and {n_oos} "
              "out-of-scope questions)", "",
              "| model | top intent right (in scope) | answered right after the hand-off rule | "
              "out-of-scope handed to a human |", "|---|---|---|---|",
              f"| **ours: `qa train --data builtin`** | **{100 * top1:.1f}%** | "
              f"{100 * m['in_scope_accuracy']:.1f}% | {100 * m['oos_recall']:.1f}% |",
              f"| TF-IDF + logistic regression (in scope only) | {100 * base:.1f}% | | |", "",
              f"Target: top intent right ≥ {FAQ_TARGET:.0%}: {_met(top1 >= FAQ_TARGET)} "
              f"({100 * top1:.1f}%).", ""]


def atec_few(work: Path, quick: bool, lines: list[str]) -> None:
    """Few labelled pairs, many unlabelled: 10% of the ATEC part's training pairs keep their labels,
    the other 90% are given as unlabelled text (``qa train --unlabelled``); the same hold-out."""
    import os

    import tasks.qa as qa
    from tasks.qa.config import MatchSettings
    from tasks.qa.data import load_pairs, stratified_split

    pairs = load_pairs(ATEC, "atec")
    tr, ho = stratified_split([y for *_, y in pairs], 0.1, seed=0)
    rest, labelled = stratified_split([pairs[i][2] for i in tr], ATEC_FEW_FRACTION, seed=1)
    labelled, unlabelled = [tr[i] for i in labelled], [tr[i] for i in rest]
    if quick:
        labelled, unlabelled = labelled[::4], unlabelled[::8]
    files = {"labelled": labelled, "hold": ho}
    for name, rows in files.items():
        (work / f"few_{name}.tsv").write_text(
            "".join(f"{i}\t{pairs[i][0]}\t{pairs[i][1]}\t{pairs[i][2]}\n" for i in rows), encoding="utf-8")
    (work / "few_unlabelled.tsv").write_text(  # id, question, question: no label column
        "".join(f"{i}\t{pairs[i][0]}\t{pairs[i][1]}\n" for i in unlabelled), encoding="utf-8")
    runs = {}
    for name, pretrain, more in (("no pretraining", 0, None),
                                 ("pretraining on the labelled pairs (the defaults)", None, "none"),
                                 ("pretraining on labelled + unlabelled pairs (`--unlabelled`)", None,
                                  "all")):
        settings = MatchSettings()  # the CLI defaults
        if pretrain is not None:
            settings.pretrain_epochs = pretrain
        if quick:
            settings.epochs, settings.pretrain_epochs = 1, min(settings.pretrain_epochs, 1)
        run = qa.train(work / "few_labelled.tsv", work / f"few_{len(runs)}", settings, task="match",
                       fmt="atec", device="cpu",
                       unlabelled=work / "few_unlabelled.tsv" if more == "all" else None)
        scores = qa.evaluate(qa.load(run.model_dir), work / "few_hold.tsv", fmt="atec")
        runs[name] = (scores, run.seconds / 60)
    rows = []
    for name, (m, minutes) in runs.items():
        rows.append(f"| {name} | {m['transformer_roc_auc']:.3f} | "
                    f"{m['transformer_same_overlap_roc_auc']:.3f} | "
                    f"{m['roc_auc']:.3f} | {100 * m['accuracy']:.1f}% | {minutes:.1f} min |")
    lexical_name, lexical = next(iter(m["baselines"].items()))
    alone = {name: m["transformer_roc_auc"] for name, (m, _) in runs.items()}
    first, *_, last = alone
    gain = alone[last] - alone[first]
    lines += [f"### ATEC with few labels ({len(labelled):,} labelled training pairs, {len(unlabelled):,} "
              f"unlabelled; the same {len(ho):,}-pair hold-out)", "",
              "| `qa train --task match` defaults, and | cross-encoder ROC-AUC | same overlap | "
              "blended with TF-IDF + LR | accuracy | training |", "|---|---|---|---|---|---|", *rows,
              f"| {lexical_name} on the labelled pairs | {lexical['roc_auc']:.3f} | "
              f"{lexical['same_overlap_roc_auc']:.3f} | | {100 * lexical['accuracy']:.1f}% | |", "",
              "Same overlap: ROC-AUC among pairs of the same tenth of character overlap "
              "(tasks/qa/matching/overlap.py), what a model knows beyond counting shared characters. "
              f"{os.cpu_count()} cores, 1 torch thread.", "",
              f"Masked-character pretraining on the unlabelled text adds {gain:+.3f} ROC-AUC to the "
              f"cross-encoder over no pretraining.", ""]


PARTS = {"banking77": (banking77, BANKING77), "faq": (faq, None), "fewshot": (fewshot, BANKING77),
         "atec": (atec, ATEC), "atec-few": (atec_few, ATEC)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small subsets, a few epochs")
    parser.add_argument("--only", default=",".join(PARTS), help="comma-separated parts to run")
    parser.add_argument("--draws", default=",".join(map(str, FEWSHOT_SEEDS)),
                        help="fewshot: comma-separated draws (seeds) of the labelled questions")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1: on a 2-core machine shared with other jobs, two "
                             "threads wait on each other at every operation and run many times slower)")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    quick = "; QUICK run, not the benchmark" if args.quick else ""
    lines = [f"Customer-service QA with the command line's defaults{quick}. The official test splits are "
             "held back,", "so hold-outs carved from the training files play them.", ""]
    with tempfile.TemporaryDirectory(prefix="qa-bench-") as tmp:
        for name in args.only.split(","):
            fn, data = PARTS[name]
            if data is not None and not data.is_file():
                lines += [f"*{name}: skipped, {data} not found*", ""]
                continue
            extra = {"draws": tuple(int(d) for d in args.draws.split(","))} if name == "fewshot" else {}
            with contextlib.redirect_stdout(sys.stderr):  # training logs stay out of the report
                fn(Path(tmp), args.quick, lines, **extra)
    lines += ["How we got here, with a 5-fold cross-validation of the BANKING77 recipe: [LOG.md](LOG.md#qa)."]
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
