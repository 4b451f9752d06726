"""Risk control: fraud and credit-risk detection on tables (``minitransformer risk ...``).

* :mod:`tasks.risk.data`      -- CSV reading, column typing, encoding, stratified splits
* :mod:`tasks.risk.normalize` -- quantile / standard normalisation kept inside the model
* :mod:`tasks.risk.model`     -- the FT-Transformer-style model with the history (sequence) view
* :mod:`tasks.risk.pretrain`  -- masked-feature reconstruction pretraining
* :mod:`tasks.risk.baselines` -- class prior and logistic regression
* :mod:`tasks.risk.train`     -- the training pipeline (few labels, pseudo-labels, threshold)
* :mod:`tasks.risk.evaluate`  -- loading a run, scoring, the evaluation report
* :mod:`tasks.risk.simulate`  -- the seeded transaction-fraud simulator
* :mod:`tasks.risk.cli`       -- the command line
"""
