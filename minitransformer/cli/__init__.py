"""The command line: ``minitransformer COMMAND ...`` (entry point :func:`minitransformer.cli.main.main`).

* ``main.py``     -- the parser, ``info``, and turning errors into one line with exit status 2;
* ``options.py``  -- the options every head's actions share, argparse types that check ranges;
* ``registry.py`` -- how heads are found (package entry points): the core names no head;
* ``plot.py``     -- ``minitransformer plot attention|curves``.
"""
