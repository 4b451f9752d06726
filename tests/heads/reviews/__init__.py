"""A fifth head that lives only in the tests: is a product review a complaint? (``reviews``)

It exists to prove the head protocol (see the documentation page "Add your own head"): the
command line finds it through an entry point, and it trains, evaluates and predicts with the same
four verbs as the four heads under ``tasks/``. The files are the same as theirs, each one job:

* ``config.py``    -- :class:`ReviewConfig` (nests the core's ``EncoderConfig``), :class:`TrainSettings`;
* ``data.py``      -- reads ``text,label`` CSV files;
* ``model.py``     -- token embedding + the core ``Encoder`` + mean pooling + a linear layer;
* ``train.py``     -- :func:`train`, with the shared ``Trainer``;
* ``evaluate.py``  -- :func:`evaluate` (accuracy, beside the majority-class baseline), :func:`predict`;
* ``baselines.py`` -- the majority class;
* ``synthetic.py`` -- seeded reviews in which complaint words are planted;
* ``cli.py``       -- ``minitransformer reviews train|evaluate|predict|simulate``.

``minitransformer --help`` reads the one-line ``HELP`` of ``cli.py`` from its source, so this
package may import torch (through its verbs) as plainly as any library.
"""

from tests.heads.reviews.evaluate import evaluate, predict
from tests.heads.reviews.model import load
from tests.heads.reviews.train import train

__all__ = ["train", "load", "evaluate", "predict"]
