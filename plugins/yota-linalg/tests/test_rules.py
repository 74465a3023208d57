"""Every primitive of the pack has its rules, and the rules differentiate again (order 2)."""
import numpy as np
import pytest

from yota.testing import check_primitive, check_rules_complete


def test_every_primitive_has_its_rules():
    check_rules_complete("yota-linalg")


def _spd(x):
    return x @ x.T + 3 * np.eye(3)


SECOND_ORDER = {
    "matmul": (lambda a, b: a @ b, [(3, 4), (4, 2)]),
    "matmul-vector": (lambda a, b: a @ b, [(4,), (2, 4, 3)]),
    "dot": (np.dot, [(2, 3, 2), (2, 2, 3)]),
    "tensordot": (lambda a, b: np.tensordot(a, b, ([0, 2], [1, 0])), [(2, 3, 2), (2, 2, 3)]),
    "einsum-diagonal": (lambda a, b: np.einsum("ii,ij->j", a, b), [(3, 3), (3, 2)]),
    "einsum-chain": (lambda a, b: np.einsum("ij,jk,kl->il", a, b, a.T), [(2, 3), (3, 3)]),
    "trace": (lambda a: np.trace(a * a, 1), [(3, 4)]),
    "diag": (lambda a: np.diag(a * a, 1), [(3,)]),
    "inv": (lambda a: np.linalg.inv(_spd(a)), [(3, 3)]),
    "solve": (lambda a, b: np.linalg.solve(_spd(a), b), [(3, 3), (3, 2)]),
    "det": (lambda a: np.linalg.det(_spd(a) / 3), [(3, 3)]),
    "slogdet": (lambda a: np.linalg.slogdet(_spd(a))[1], [(3, 3)]),
    "cholesky": (lambda a: np.linalg.cholesky(_spd(a)), [(3, 3)]),
    "norm": (lambda a: np.linalg.norm(a, axis=1), [(2, 3)]),
    "norm-inf": (lambda a: np.linalg.norm(a, np.inf, axis=0), [(2, 3)]),
    "norm-3": (lambda a: np.linalg.norm(a, 3), [(4,)]),
    "kron": (lambda a, b: np.kron(a * a, b), [(2, 2), (2, 1)]),
    "eigvalsh": (lambda a: np.linalg.eigvalsh(a + a.T), [(3, 3)]),
    "eigh-projection": (lambda a: (lambda v: v @ v.T)(np.linalg.eigh(a + a.T)[1][:, 1:]),
                        [(3, 3)]),
    "svdvals": (lambda a: np.linalg.svd(a, compute_uv=False), [(4, 3)]),
    "svd-product": (lambda a: (lambda u, s, vh: (u * s) @ vh)(*np.linalg.svd(a, False)),
                    [(3, 4)]),
    "qr": (lambda a: np.linalg.qr(a)[0] + np.linalg.qr(a)[1][0], [(4, 3)]),
    "pinv": (np.linalg.pinv, [(4, 3)]),
    "lstsq": (lambda a, b: np.linalg.lstsq(a, b)[0], [(5, 3), (5, 2)]),
    "norm-2": (lambda a: np.linalg.norm(a, 2), [(3, 4)]),
    "norm-nuc": (lambda a: np.linalg.norm(a, "nuc"), [(4, 3)]),
}


@pytest.mark.parametrize("name", sorted(SECOND_ORDER))
def test_second_order(name, draw):
    fn, shapes = SECOND_ORDER[name]
    check_primitive(fn, *[draw(s) for s in shapes], order=2)


PRIMITIVE_CASES = [          # (primitive name, shapes, options): every entry of every output
    ("eigh_w", [(2, 4, 4)], {"UPLO": "L"}), ("eigh_v", [(2, 4, 4)], {"UPLO": "U"}),
    ("svd_u", [(2, 5, 3)], {}), ("svd_u", [(2, 4, 3)], {"full_matrices": True}),
    ("svd_s", [(2, 3, 5)], {}), ("svd_s", [(4, 4)], {"hermitian": True}),
    ("svd_vh", [(2, 3, 5)], {}), ("svd_vh", [(2, 3, 4)], {"full_matrices": True}),
    ("svd_u", [(4, 4)], {"hermitian": True}),
    ("qr_q", [(2, 5, 3)], {}), ("qr_q", [(2, 3, 5)], {}), ("qr_q", [(4, 3)], {"mode": "complete"}),
    ("qr_r", [(2, 5, 3)], {}), ("qr_r", [(2, 3, 5)], {}), ("qr_r", [(5, 3)], {"mode": "complete"}),
    ("pinv", [(2, 5, 3)], {}), ("pinv", [(4, 4)], {"hermitian": True}),
    ("lstsq_x", [(5, 3), (5, 2)], {}), ("lstsq_residuals", [(5, 3), (5, 2)], {}),
    ("lstsq_s", [(5, 3), (5,)], {}),
]


@pytest.mark.parametrize("name,shapes,options", PRIMITIVE_CASES,
                         ids=[f"{c[0]}-{c[2]}" for c in PRIMITIVE_CASES])
def test_decomposition_primitives_directly(name, shapes, options, draw):
    """Each output primitive on unconstrained matrices, weighed by a random cotangent: vector
    signs are LAPACK's, which do not move under the small steps of finite differences."""
    from yota.testing import find_primitive

    prim, _ = find_primitive(name)
    check_primitive(prim, *[draw(s) for s in shapes], **options)
