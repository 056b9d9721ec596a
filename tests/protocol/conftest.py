"""Run the skipper, framing and client tests with the compiled skipper walk
(when it is built) and with the pure-Python one: behaviour must be identical."""
from __future__ import annotations

import pytest

from txhbase.protocol import skipper

IMPLS = ["pure"] + (["accelerated"] if skipper.HAVE_ACCELERATOR else [])


@pytest.fixture(params=IMPLS)
def skipper_impl(request, monkeypatch):
    """Which walk new BinarySkippers use for this test."""
    if request.param == "pure":
        monkeypatch.setattr(skipper, "_accel_advance", None)
    return request.param
