"""yota-reductions: reductions, statistics and sorting for yota.

np.sum, mean, prod, max/amax, min/amin, var, std (``axis``, ``keepdims``, ``dtype``, ``ddof``,
``where``, ``initial``), the nan-ignoring forms, ptp, average, np.add/multiply/maximum/minimum
.reduce and .accumulate, cumsum, cumprod, diff, median, quantile, percentile (every method), cov,
corrcoef, sort, partition, argpartition, trapezoid; and ``logsumexp``:

    from yota_reductions import logsumexp

max and min share the gradient equally among tied elements. The NumPy-facing functions are
gathered in ``numpy_api.IMPLEMENTS`` (each module registers its own there).
"""
from __future__ import annotations

from yota import hookimpl

from . import (covariance, extrema, integrals, numpy_api, products, quantiles, scans, sorting,
               sums)
from .logsumexp import logsumexp, shifted_exp

__all__ = ["logsumexp"]

PRIMITIVES = (
    sums.sum_p, sums.mean_p, sums.var_p, sums.std_p, sums.expand, sums.cumsum_p,
    sums.reverse_cumsum,
    extrema.max_p, extrema.min_p, extrema.extremum_vjp, extrema.tie_share,
    products.prod_p, products.prod_others, products.prod_others_vjp,
    logsumexp, shifted_exp,
    scans.shifted, scans.linear_scan, scans.cumprod_p, scans.running_arg, scans.diff_p,
    sorting.argpartition_p, sorting.partition_index, quantiles.weighted_pick, covariance.gram,
)


# Output shapes follow from input shapes and options, so static graphs need no shape guards.
for _prim in PRIMITIVES:
    _prim.declare(static_shape=True)


@hookimpl
def yota_register_primitives(registry):
    for numpy_func, impl in numpy_api.IMPLEMENTS.items():
        registry.implement(numpy_func, impl)
    for prim in PRIMITIVES:
        registry.add_primitive(prim)
