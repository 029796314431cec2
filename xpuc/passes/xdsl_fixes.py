"""Guards around xDSL 0.74 behaviour that would crash on valid input.

``canonicalize`` folds ``arith`` float operations on constants in Python and stores
the result in a ``FloatAttr``, which raises ``OverflowError`` when an f32 product
overflows (``1e20f * 1e20f``).  The guard leaves such an operation unfolded; LLVM
folds it to the IEEE infinity later.  Installed once, when the pass is loaded.
"""

from __future__ import annotations

from functools import wraps

_INSTALLED = False


def install() -> None:
    global _INSTALLED
    if _INSTALLED:
        return
    from xdsl.transforms.canonicalization_patterns import arith as patterns

    original = patterns._fold_const_operation

    @wraps(original)
    def fold(op_t, lhs, rhs):
        try:
            return original(op_t, lhs, rhs)
        except OverflowError:
            return None

    patterns._fold_const_operation = fold
    _INSTALLED = True
