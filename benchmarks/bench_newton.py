"""Newton-CG with yota's Hessian-vector products: hvp calls per second, per mode.

    python benchmarks/bench_newton.py [--n 1000] [--d 20] [--repeats 5]

``scipy.optimize.minimize(..., method="Newton-CG", hessp=...)`` on an L2-regularized logistic
regression loss (``n`` samples, ``d`` features), with ``yota.hvp`` in dynamic mode (traced on
every call), static mode (compiled once, the default) and static mode with
``backend="numba"``. Each mode runs the optimization once to compile, then ``repeats`` times:
the table gives the median hvp calls per second (time spent inside ``hessp``), the median time
of a whole run, the first run's (it compiles), and the largest difference of the iterates from
dynamic mode's, relative to their largest entry (every mode must follow the same path, within
rounding), and the largest relative difference of one ``H v`` from dynamic mode's at the same
points (dynamic mode's iterates, a fixed random ``v``). One thread, as benchmarks/bench.py.
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import scipy.optimize  # noqa: E402

import yota  # noqa: E402

MODES = {"dynamic": {"dynamic": True}, "static": {}, "static, numba": {"backend": "numba"}}


def loss(w, X, y, lam=1e-3):
    """Mean logistic loss of labels ``y`` in {0, 1}, plus ``lam / 2 * |w|^2``."""
    z = X @ w
    return np.mean(np.log1p(np.exp(-np.abs(z))) + np.maximum(z, 0.0) - y * z) \
        + 0.5 * lam * (w @ w)


def run(X, y, options):
    """One Newton-CG run: (result, iterates, hvp calls, seconds inside hvp, seconds in all)."""
    fun = yota.value_and_grad(loss, dynamic=options.get("dynamic", False),
                              backend=options.get("backend"))
    spent = [0, 0.0]

    def hessp(w, v):
        t0 = time.perf_counter()
        r = yota.hvp(loss, w, v, X=X, y=y, **options)
        spent[1] += time.perf_counter() - t0
        spent[0] += 1
        return r

    path = []
    t0 = time.perf_counter()
    res = scipy.optimize.minimize(fun, np.zeros(X.shape[1]), args=(X, y), jac=True,
                                  hessp=lambda w, v, X, y: hessp(w, v), method="Newton-CG",
                                  callback=lambda w: path.append(np.copy(w)),
                                  options={"xtol": 1e-10})
    return res, np.array(path), spent[0], spent[1], time.perf_counter() - t0


def hv_difference(X, y, w, v, options):
    """Relative difference of one ``H v`` from dynamic mode's, at the same point."""
    want = yota.hvp(loss, w, v, X=X, y=y, dynamic=True)
    got = yota.hvp(loss, w, v, X=X, y=y, **options)
    return float(np.max(np.abs(got - want)) / np.max(np.abs(want)))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--d", type=int, default=20)
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args()
    rng = np.random.default_rng(0)
    X = rng.normal(size=(a.n, a.d)) * np.geomspace(0.3, 3.0, a.d)   # ill-conditioned: CG works
    y = (X @ rng.normal(size=a.d) + rng.normal(size=a.n) > 0).astype(np.float64)
    reference = None
    probe = rng.normal(size=a.d)
    print(f"Newton-CG, logistic regression {a.n} x {a.d}, numpy {np.__version__}")
    print("| hvp | calls per run | hvp calls/s | us per hvp | run (ms) | first run (ms) "
          "| iterates vs dynamic | H v vs dynamic |")
    print("|---|---|---|---|---|---|---|---|")
    for name, options in MODES.items():
        first = run(X, y, options)   # compiles (static modes)
        rates, totals = [], []
        for _ in range(a.repeats):
            res, path, calls, inside, total = run(X, y, options)
            rates.append(calls / inside)
            totals.append(total)
        if reference is None:
            reference = path
        diff = (float(np.max(np.abs(path - reference)) / np.max(np.abs(reference)))
                if path.shape == reference.shape
                else f"{len(path)} iterates against {len(reference)}")
        hv_error = max(hv_difference(X, y, w, probe, options) for w in reference)
        rate = statistics.median(rates)
        print(f"| {name} | {calls} ({res.nit} iterations) | {rate:,.0f} | {1e6 / rate:.0f} "
              f"| {1e3 * statistics.median(totals):.1f} | {1e3 * first[4]:.0f} | "
              f"{diff if isinstance(diff, str) else f'{diff:.1e}'} | {hv_error:.1e} |")


if __name__ == "__main__":
    main()
