"""sample.py runs its tour and reports failure; logging is configured only on request."""
from __future__ import annotations

import logging
import logging.handlers
import os
import socket
import subprocess
import sys

import pytest

from txhbase.logconfig import DEFAULT_CONFIG, configure_logging

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLE = os.path.join(ROOT, "sample.py")


def run(args, cwd):
    return subprocess.run([sys.executable, SAMPLE, *args], cwd=cwd, capture_output=True,
                          text=True, timeout=120)


@pytest.mark.parametrize("wire", [[], ["--transport", "framed", "--protocol", "compact"]],
                         ids=["buffered-binary", "framed-compact"])
def test_sample_tour_succeeds_on_the_embedded_server(tmp_path, wire):
    proc = run(wire, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    for step in ("create_table", "put row-1", "cells with versions", "batch", "counters",
                 "get_next() until None", "unordered scanners", "exists", "check_and_put",
                 "count", "delete", "drop table", "success"):
        assert step in out, step
    assert "get_next() after the end: None" in out
    assert "count(): 9" in out and "count(): 8" in out
    assert "rows in all scanners / distinct: (9, 9)" in out
    assert (tmp_path / "txhbase.log").exists()  # logger.conf's rotating file handler


def test_sample_fails_clearly_without_a_gateway(tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()  # nothing listens there now
    proc = run(["--host", "127.0.0.1", "--port", str(port), "--timeout", "5000"], tmp_path)
    assert proc.returncode == 1
    assert "FAILED" in proc.stderr and f"127.0.0.1:{port}" in proc.stderr


def test_import_does_not_configure_logging():
    code = ("import logging, txhbase, txhbase.server; "
            "print(len(logging.getLogger().handlers), len(logging.getLogger('txhbase').handlers))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, cwd=ROOT)
    assert out.stdout.split() == ["0", "0"], out.stderr


def test_configure_logging(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    tx = logging.getLogger("txhbase")
    saved = (root.handlers[:], root.level, tx.handlers[:], tx.level, tx.propagate)
    try:
        assert configure_logging() == DEFAULT_CONFIG
        assert any(isinstance(h, logging.handlers.RotatingFileHandler) for h in tx.handlers)
        assert any(type(h) is logging.StreamHandler for h in tx.handlers)
        logging.getLogger("txhbase.connection").info("hello from the test")
        for h in tx.handlers:
            h.flush()
        assert "hello from the test" in (tmp_path / "txhbase.log").read_text()
        custom = tmp_path / "custom.conf"
        custom.write_text("[loggers]\nkeys=root\n[handlers]\nkeys=\n[formatters]\nkeys=\n"
                          "[logger_root]\nlevel=ERROR\nhandlers=\n")
        assert configure_logging(custom) == str(custom)
        assert root.level == logging.ERROR
        with pytest.raises(FileNotFoundError):
            configure_logging(tmp_path / "missing.conf")
    finally:
        for h in tx.handlers:
            if h not in saved[2]:
                h.close()
        root.handlers[:], tx.handlers[:] = saved[0], saved[2]
        root.setLevel(saved[1])
        tx.setLevel(saved[3])
        tx.propagate = saved[4]


def test_default_logger_conf_ships_inside_the_package():
    """configure_logging() must work from a wheel (issue 11): its default
    file is package data, and the repository-root copy is the same file."""
    import configparser

    import txhbase

    assert os.path.dirname(DEFAULT_CONFIG) == os.path.dirname(os.path.abspath(txhbase.__file__))
    with open(DEFAULT_CONFIG) as packaged, open(os.path.join(ROOT, "logger.conf")) as root:
        assert packaged.read() == root.read()
    cfg = configparser.ConfigParser()
    cfg.read(os.path.join(ROOT, "setup.cfg"))
    assert "logger.conf" in cfg["options.package_data"]["txhbase"]
