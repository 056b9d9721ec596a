"""Sphinx configuration: prose pages in Markdown (MyST), the API from docstrings.

Built in CI with warnings as errors (``.ci/run``); locally:
``python -m sphinx -W --keep-going -b html docs docs/_build/html``.
"""
from __future__ import annotations

import importlib.util
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import txhbase  # noqa: E402

project = "txhbase"
author = "the txhbase authors"
release = version = txhbase.__version__
copyright = "the txhbase authors, Apache-2.0"

extensions = ["myst_parser", "sphinx.ext.autodoc"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build"]
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}

html_theme = "alabaster"
html_title = f"txhbase {release}"

#: Public modules documented besides ``txhbase`` itself (its ``__all__``).
#: A module not present in this checkout is left out rather than failing
#: the build, so the reference follows the code as modules land or move.
EXTRA_MODULES = ["txhbase.service", "txhbase.server", "txhbase.testing"]


def _api_modules(app, docname, source):  # type: ignore[no-untyped-def]
    if docname != "api":
        return
    blocks = []
    for name in EXTRA_MODULES:
        if importlib.util.find_spec(name) is None:
            continue
        blocks.append(f"## `{name}`\n\n```{{eval-rst}}\n.. automodule:: {name}\n```\n")
    source[0] += "\n" + "\n".join(blocks)


def setup(app):  # type: ignore[no-untyped-def]
    app.connect("source-read", _api_modules)
