"""Every rule of the pack's primitives, the helpers behind the rules included, checked alone
against finite differences (to second order where it exists)."""
from __future__ import annotations

import numpy as np
import pytest

from yota.testing import check_grads, check_primitive, check_rules_complete
from yota_reductions import extrema, products, sums
from yota_reductions.logsumexp import shifted_exp


def _data(shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0.5, 1.5, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def test_every_argument_has_a_rule_or_is_declared_non_differentiable():
    check_rules_complete("yota-reductions")


X = _data((3, 4))

CASES = {
    "expand": (sums.expand, (_data(4, 1), (3, 4), (0,)), {}, 2),
    "expand_keepdims": (sums.expand, (_data((1, 4), 1), (3, 4), (0,)), {}, 2),
    "expand_all": (sums.expand, (np.float64(0.3), (3, 4), None), {}, 2),
    "sum": (sums.sum_p, (X,), {"axis": (1,)}, 2),
    "mean": (sums.mean_p, (X,), {"axis": (0, 1), "keepdims": True}, 2),
    "var": (sums.var_p, (X,), {"axis": (1,), "ddof": 1}, 2),
    "std": (sums.std_p, (X,), {"axis": (0,)}, 2),
    "max": (extrema.max_p, (X,), {"axis": (1,)}, 2),
    "min": (extrema.min_p, (X,), {}, 2),
    "prod": (products.prod_p, (X,), {"axis": (0,)}, 2),
    "prod_others": (products.prod_others, (X, (1,)), {}, 1),
    "shifted_exp": (shifted_exp, (X, _data(3, 3), (1,)), {}, 2),
    "cumsum": (sums.cumsum_p, (X, 1), {}, 2),
    "reverse_cumsum": (sums.reverse_cumsum, (X, 0), {}, 2),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_primitive_rules(name):
    prim, args, kwargs, order = CASES[name]
    check_primitive(prim, *args, order=order, **kwargs)


def test_prod_others_vjp():
    """Linear in g (its own rule, checked to second order); the rule for x raises on purpose."""
    w = _data((3, 4), 6)
    for axes in (None, (0,), (1,)):
        check_grads(lambda g: np.sum(products.prod_others_vjp(g, X, axes) * w), _data((3, 4), 2),
                    order=2)
    # against the definition, with zeros: sum over i != k of g_i * prod of x_j, j not in {i, k}
    x = np.array([0.0, 2.0, 0.0, -1.5, 3.0])
    g = _data(5, 7)
    expected = [sum(g[i] * np.prod(np.delete(x, [i, k])) for i in range(5) if i != k)
                for k in range(5)]
    np.testing.assert_allclose(products.prod_others_vjp(g, x, None), expected, rtol=1e-12)


def test_extremum_vjp_is_linear_in_dy():
    x = X
    y = np.max(x, axis=1)
    check_primitive(extrema.extremum_vjp, _data(3, 4), x, y, (1,), argnums=(0,), order=2)


def test_rules_of_rules_see_a_tracked_incoming_gradient():
    """Squaring the reduction makes dy depend on x, so second order runs the rules for dy."""
    w = _data(4, 5)
    for f in (np.sum, np.mean, np.max, np.min, np.prod, np.var, np.std):
        check_grads(lambda x: np.sum(f(x, axis=0) ** 2 * w), X, order=2)
    from yota_reductions import logsumexp
    check_grads(lambda x: np.sum(logsumexp(x, axis=0) ** 2 * w), X, order=2)
