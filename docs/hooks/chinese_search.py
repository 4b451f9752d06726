"""A MkDocs hook: Chinese pages are searchable, and building them stays quiet.

Material's search plugin cuts Chinese text into words with jieba (installed by the ``docs``
extra) and joins them with zero-width spaces, which ``mkdocs.yml``'s search ``separator``
splits on; without it "注意力" would only match a whole sentence. jieba logs its dictionary
loading on every build: that is turned down to warnings here.
"""

from __future__ import annotations

import logging

from mkdocs.config.defaults import MkDocsConfig


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    """Silence jieba's progress lines (it is imported by the search plugin, before this runs)."""
    logging.getLogger("jieba").setLevel(logging.WARNING)
    return config
