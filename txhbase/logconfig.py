"""Configure logging from ``logger.conf`` — only when the application asks.

The library itself only creates loggers (``logging.getLogger(__name__)``)
and never configures logging at import time.  ``configure_logging()`` applies
a ``logging.config.fileConfig`` file: by default the ``logger.conf`` shipped
next to ``sample.py`` (a rotating file handler to ``txhbase.log`` plus a
console handler).
"""
from __future__ import annotations

import logging.config
import os
from typing import Optional, Union

__all__ = ["configure_logging", "DEFAULT_CONFIG"]

#: ``logger.conf`` at the project root (beside ``sample.py``).
DEFAULT_CONFIG = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                              "logger.conf")


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
