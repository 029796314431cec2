"""Every registry key equals the name of the object it loads."""

import pytest

from xpuc.dialects.registry import get_all_dialects
from xpuc.passes.registry import get_all_passes
from xpuc.targets.registry import get_all_targets, get_target, variants


@pytest.mark.parametrize("name", sorted(get_all_dialects()))
def test_dialect_names(name):
    assert get_all_dialects()[name]().name == name


@pytest.mark.parametrize("name", sorted(get_all_passes()))
def test_pass_names(name):
    assert get_all_passes()[name]().name == name


@pytest.mark.parametrize("family", sorted(get_all_targets()))
def test_target_families(family):
    cls = get_all_targets()[family]()
    assert cls.family == family
    for v in variants(family):
        t = get_target(f"{family}:{v}" if v else family)
        assert t.desc.family == family and t.desc.variant == v


def test_unknown_target_is_a_clear_error():
    from xpuc.compiler.diagnostics import TargetError

    with pytest.raises(TargetError, match="unknown target 'tpu'"):
        get_target("tpu")
    with pytest.raises(TargetError, match="unknown nvptx variant 'sm_1'"):
        get_target("nvptx:sm_1")
