"""Fixtures of the tests of users' files."""

from tests.files.holder import holder  # noqa: F401 - a fixture: a second process holding a run folder
