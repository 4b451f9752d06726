"""``python -m minitransformer ...``: the same as the ``minitransformer`` command."""

import sys

from minitransformer.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
