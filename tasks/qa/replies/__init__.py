"""Generated replies: the core's encoder–decoder trained question -> answer (``generator.py``)."""
