"""``minitransformer demo`` (what ``make demo`` runs): the four use cases on built-in data.

::

    minitransformer demo [--quick] [--out DIR] [--seed S] [--device D] [--max-minutes M]

Every use case makes its own seeded data, trains a model with its head's command, scores it on
held-out data beside the head's baselines, and draws its pictures:

============================  ====================================  ===============================
use case                      built-in data                         score (best baseline)
============================  ====================================  ===============================
recommendation                a shop's purchase log with tastes     HR@10, NDCG@10, full ranking
                              and bundles (``recommendation/        (most-popular, item-to-item)
                              synthetic.py``)
customer-service QA           the bilingual FAQ (``qa/              accuracy on held-out questions
                              synthetic.py``)                       (TF-IDF nearest centroid / neighbour)
sales forecasting             weekly sales with seasons, trends,    MASE, 13 weeks ahead (seasonal
                              promotions (``forecasting/            naive, Theta, damped trend, ...)
                              synthetic.py``)
risk control                  card transactions with planted fraud  AUPRC on later days (logistic
                              (``risk/synthetic.py``)               regression, class prior)
============================  ====================================  ===============================

It prints one results table (use case, metric, the model's score, the best baseline's name and
score, the time taken), writes the report folder and ends with a command to try on each trained
model (``recommend predict``, ``qa ask``, ``forecast predict``, ``risk predict``), each run once
by the demo to check it works. The full demo takes a few minutes on 2 CPU cores, ``--quick``
under one (smaller data, fewer epochs: its numbers are not meant to beat the baselines).

The report folder (default ``demo-report/``)::

    README.md, index.html   the table, per use case its data, notes, pictures, command to try
    results.json            the same numbers, for scripts
    data/                   the generated data sets (CSV)
    runs/<use case>/        the trained model directories
    pictures/               PNGs (matplotlib, the ``plot`` extra; skipped with a note without it)
    logs/                   every command's printout, and the evaluation JSON files

Files: ``context.py`` (shared settings and result types), one module per use case
(``recommend.py``, ``qa.py``, ``forecast.py``, ``risk.py``), ``pictures.py`` (drawing without
stopping the demo), ``report.py`` (table, Markdown, HTML), ``runner.py`` (the run), ``cli.py``
(the command).
"""
