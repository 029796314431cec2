"""``run_both``: a fixture that loads a kernel source once compiled for the cpu target,
once on the SIMT-level interpreter (tests using it run twice, one runner each)."""

from functools import cache

import pytest

import xpuc
import xpuc.interpreter

RUNNERS = {"interp": xpuc.interpreter.load, "cpu": xpuc.load}


@cache
def compiled(src: str) -> xpuc.Artifact:
    return xpuc.compile(src, "cpu")


@pytest.fixture(params=list(RUNNERS))
def run_both(request):
    return lambda src: RUNNERS[request.param](compiled(src))
