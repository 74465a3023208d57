"""einsum: explicit and implicit outputs, ellipsis, repeated indices, several operands,
broadcasting, the sublist form; each gradient an einsum, checked against finite differences."""
import numpy as np
import pytest

import yota
from yota.testing import check_grads

DTYPES = [np.float64, np.float32]

CASES = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),              # implicit output
    ("ba", [(2, 3)]),                         # implicit transpose
    ("i,i->", [(3,)]),                        # placeholder replaced below
    ("i,i", [(3,), (3,)]),
    ("i,j->ij", [(2,), (3,)]),
    ("ij->i", [(2, 3)]),                      # summed in one operand only
    ("ij->", [(2, 3)]),
    ("ij->ji", [(2, 3)]),
    ("ii->i", [(3, 3)]),                      # diagonal
    ("ii", [(3, 3)]),                         # trace
    ("iij->j", [(2, 2, 3)]),
    ("iji->ij", [(2, 3, 2)]),
    ("ij,ij->ij", [(2, 3), (2, 3)]),
    ("ij,ij->", [(2, 3), (2, 3)]),
    ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
    ("...ij,...jk->...ik", [(2, 2, 3), (2, 3, 2)]),
    ("...ij,jk->...ik", [(2, 1, 2, 3), (3, 2)]),
    ("...ij,...jk", [(1, 2, 3), (2, 3, 2)]),  # ellipsis broadcasting, implicit output
    ("i...->...", [(2, 3)]),
    ("...i,...i->...", [(2, 3), (3,)]),
    ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)]),
    ("i,ij,j->", [(2,), (2, 3), (3,)]),
    ("ij,ik,il->jkl", [(2, 2), (2, 3), (2, 2)]),
    ("ii,ij->j", [(2, 2), (2, 3)]),
    ("Ab,bA->A", [(2, 3), (3, 2)]),
    ("ij,kj", [(2, 3), (1, 3)]),
    ("i,i,i->", [(3,), (3,), (3,)]),
    ("iii->i", [(3, 3, 3)]),
    ("iij->ij", [(2, 2, 3)]),
    ("...ii->...i", [(2, 3, 3)]),
    ("i...i->...", [(3, 2, 3)]),
    ("iji,jj->", [(2, 3, 2), (3, 3)]),
    ("i,->i", [(3,), ()]),                    # 0-d operands
    (",->", [(), ()]),
    ("ij, jk -> ik", [(2, 3), (3, 4)]),       # spaces
    ("...,...->...", [(2, 3), (3,)]),
    ("ij->", [(0, 3)]),                       # zero-size, summed in the only operand
    ("ij,j", [(0, 3), (3,)]),
]
CASES[3] = ("i->", [(3,)])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("subscripts,shapes", CASES, ids=[c[0] for c in CASES])
def test_einsum(subscripts, shapes, dtype, check, draw):
    args = [draw(s, dtype) for s in shapes]
    out = check(lambda *xs: np.einsum(subscripts, *xs), *args)
    np.testing.assert_allclose(out, np.einsum(subscripts, *args), rtol=1e-5)


def test_einsum_broadcast_size_one_label(check, draw):
    """An explicit label of length 1 in one operand broadcasts against another (NumPy allows it);
    its gradient is summed back."""
    check(lambda a, b: np.einsum("ij,ij->ij", a, b), draw((1, 3)), draw((4, 3)))


@pytest.mark.parametrize("optimize", [True, "greedy", "optimal"])
def test_einsum_optimize_passes_through(optimize, check, draw):
    args = [draw((2, 3)), draw((3, 4)), draw((4, 2))]
    check(lambda *xs: np.einsum("ij,jk,kl->il", *xs, optimize=optimize), *args)


def test_einsum_sublist_form(check, draw):
    a, b = draw((2, 3)), draw((3, 4))
    out = check(lambda a, b: np.einsum(a, [0, 1], b, [1, 2], [0, 2]), a, b)
    np.testing.assert_allclose(out, a @ b)
    check(lambda a: np.einsum(a, [Ellipsis, 0, 0], [Ellipsis, 0]), draw((2, 3, 3)))


def test_einsum_dtype_keyword(check, draw):
    a = draw((2, 3), np.float32)
    out = check(lambda a: np.einsum("ij->j", a, dtype=np.float64), a)
    assert out.dtype == np.float64


def test_einsum_constant_operand(check, draw):
    m = draw((3, 3))
    check(lambda x: np.einsum("i,ij,j->", x, m, x), draw((3,)))


def test_einsum_second_order(draw):
    """The rule is an einsum, so a Hessian-vector style nested gradient works."""
    a, b = draw((3, 3)), draw((3, 3))
    w = draw((3, 3))

    def first(a):
        return yota.grad(lambda a: np.einsum("ij,jk,ki->", a, a, b), a)[1][0]

    check_grads(lambda a: np.einsum("ij,ij->", first(a), w), a)


def test_einsum_errors(draw):
    a = draw((2, 3))
    f = yota.grad
    with pytest.raises(ValueError, match="name 2 operand"):
        f(lambda a: np.einsum("ij,jk->", a), a)
    with pytest.raises(ValueError, match="names 3 axes but its operand has 2"):
        f(lambda a: np.einsum("ijk->", a), a)
    with pytest.raises(ValueError, match="no '...' ellipsis provided"):
        f(lambda a: np.einsum("...i->i", a)[0], a)
    with pytest.raises(yota.InPlaceError, match=r"einsum\(..., out=...\)"):
        f(lambda a: np.einsum("ij->", a, out=np.empty(())), a)
