"""Configure logging from ``logger.conf`` — only when the application asks.

The library itself only creates loggers (``logging.getLogger(__name__)``)
and never configures logging at import time.  ``configure_logging()`` applies
a ``logging.config.fileConfig`` file: by default the ``logger.conf`` shipped
inside the package (package data, so it works from a wheel; the copy beside
``sample.py`` at the repository root is the same file, a test keeps them
equal): a rotating file handler to ``txhbase.log`` plus a console handler.
"""
from __future__ import annotations

import logging.config
import os
from typing import Optional, Union

__all__ = ["configure_logging", "DEFAULT_CONFIG"]

#: ``logger.conf`` shipped in the package (installed with it).
DEFAULT_CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "logger.conf")


def configure_logging(path: Optional[Union[str, "os.PathLike[str]"]] = None,
                      disable_existing_loggers: bool = False) -> str:
    """Apply the ``fileConfig`` file at ``path`` (default: ``logger.conf``).

    Returns the path used. Raises ``FileNotFoundError`` when it does not
    exist (``fileConfig`` itself would fail with an obscure KeyError).
    """
    if path is None:
        path = os.environ.get("TXHBASE_LOGGER_CONF") or DEFAULT_CONFIG
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"logging configuration {path!r} not found")
    logging.config.fileConfig(path, disable_existing_loggers=disable_existing_loggers)
    return path
