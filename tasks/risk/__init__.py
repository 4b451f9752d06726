"""Risk control: fraud and credit-risk detection on tables (``minitransformer risk ...``).

The Python API, four verbs::

    from tasks.risk import train, load, evaluate, predict

    run = train("train.csv", "runs/credit", target="default.payment.next.month", drop=["ID"])
    model = load("runs/credit")                  # the same model, read back from its folder
    report = evaluate(model, "test.csv")         # ROC-AUC, AUPRC, ... and the baselines'
    found = predict(model, "new.csv", explain=3) # scores, flags, the tokens attended to

Modules, one concept each:

* :mod:`tasks.risk.config`    -- the model's and the training's configs (the core ``EncoderConfig`` nested)
* :mod:`tasks.risk.columns`   -- what a column is: a time, an id (left out), a number or a category
* :mod:`tasks.risk.data`      -- CSV reading, the schema, encoding, stratified splits
* :mod:`tasks.risk.normalize` -- quantile / standard normalisation kept inside the model
* :mod:`tasks.risk.model`     -- the FT-Transformer-style model with the history (sequence) view
* :mod:`tasks.risk.pretrain`  -- masked-feature reconstruction pretraining
* :mod:`tasks.risk.baselines` -- class prior and logistic regression
* :mod:`tasks.risk.session`   -- what the training stages share (rows, settings, time budget)
* :mod:`tasks.risk.finetune`  -- fine-tuning and pseudo-labelling: the candidate models
* :mod:`tasks.risk.train`     -- the training pipeline (few labels, pseudo-labels, threshold)
* :mod:`tasks.risk.scorer`    -- a trained model folder: loading, scoring, explaining
* :mod:`tasks.risk.evaluate`  -- the evaluation report, beside the baselines
* :mod:`tasks.risk.predict`   -- scores, flags and attention hints for every row
* :mod:`tasks.risk.synthetic` -- the seeded transaction-fraud simulator
* :mod:`tasks.risk.plot`      -- PR/ROC curves and score histograms
* :mod:`tasks.risk.cli`       -- the command line
"""

from __future__ import annotations

from tasks.risk.config import RiskModelConfig, RiskTrainConfig, risk_encoder
from tasks.risk.evaluate import evaluate
from tasks.risk.predict import predict
from tasks.risk.scorer import load
from tasks.risk.train import train

__all__ = ["train", "load", "evaluate", "predict", "RiskTrainConfig", "RiskModelConfig", "risk_encoder"]
