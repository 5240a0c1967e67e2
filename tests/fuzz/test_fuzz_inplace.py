"""In-place ops written through a strided view into its base: add_, sub_, mul_, div_, copy_,
fill_, zero_, and the operators `+=` ... on views with negative and >1 steps and offsets.

The result checked is the whole *base* after the write (so a kernel that writes outside the
view, or misses part of it, is caught), against the numpy reference and NumPy itself.
"""

from __future__ import annotations

import numpy as np
import pytest
from fuzz_profiles import fuzz_settings
from harness import Case, check
from hypothesis import given
from hypothesis import strategies as st
from strategies import FLOAT_DTYPES, Operand, View, broadcastable_shapes, dtypes, operands

import tinygpt as tg

pytestmark = [pytest.mark.fuzz, pytest.mark.filterwarnings("ignore::RuntimeWarning")]


def _iadd(view, other):
    view += other  # NOTE: without __iadd__ Python rebinds `view` to a new tensor instead
    return view


# name -> (tinygpt on a view and an operand, NumPy on a view and an operand)
UPDATES = {
    "add_": (lambda v, o: v.add_(o), lambda v, o: np.add(v, o, out=v, casting="unsafe")),
    "sub_": (lambda v, o: v.sub_(o), lambda v, o: np.subtract(v, o, out=v, casting="unsafe")),
    "mul_": (lambda v, o: v.mul_(o), lambda v, o: np.multiply(v, o, out=v, casting="unsafe")),
    "div_": (lambda v, o: v.div_(o), lambda v, o: np.divide(v, o, out=v, casting="unsafe")),
    "iadd": (_iadd, _iadd),  # `v += o` must write through the view, as in PyTorch
    "copy_": (lambda v, o: v.copy_(o), lambda v, o: np.copyto(v, o, casting="unsafe")),
    "fill_": (lambda v, o: v.fill_(o), lambda v, o: v.fill(o)),
    "zero_": (lambda v, o: v.zero_(), lambda v, o: v.fill(0)),
}


def _dense(operand: Operand) -> Operand:
    """The operand's whole base, as a dense operand: the tensor the check looks at."""
    shape = operand.view.base_shape
    view = View(shape, tuple(range(len(shape))), (slice(None),) * len(shape), shape)
    return Operand(operand.base, view, operand.style)


@pytest.mark.parametrize("op", sorted(UPDATES))
@fuzz_settings()
@given(data=st.data())
def test_inplace_through_view(device, op, data):
    dtype = data.draw(dtypes(device, FLOAT_DTYPES))  # ints: torch and NumPy cast differently
    (other_shape,), shape = data.draw(broadcastable_shapes(1, max_dims=3))
    if len(other_shape) > len(shape) or np.broadcast_shapes(other_shape, shape) != shape:
        other_shape = shape[len(shape) - len(other_shape) :]  # must broadcast *to* the view
    x = data.draw(operands(shape, dtype, "normal", broadcast=False))
    as_scalar = op == "fill_" or data.draw(st.booleans())
    other = data.draw(operands(other_shape, dtype, "distinct", dense=True))
    value = float(other.base.reshape(-1)[0]) if other.base.size else 1.5
    view = x.view
    fn_tg, fn_np = UPDATES[op]

    def fn(base):
        operand = value if as_scalar else tg.tensor(other.base, device=str(base.device))
        fn_tg(view.apply_tg(base), operand)
        return base

    def oracle(base):
        fn_np(view.apply_np(base), value if as_scalar else other.base)
        return base

    note = f"through {view!r}, with {value if as_scalar else other!r}"
    case = Case(op, fn, [_dense(x)], "elementwise", oracle=oracle, note=note)
    case.extra["numpy_oracle"] = True
    check(case, device)
