"""``backend="auto"`` with the real numba backend: the fused function swapped in after the
background compile has its kernels compiled already (numba compiles lazily, on a kernel's first
call), so no caller's call pays numba's compile; the results stay the caller's."""
import numba
import numpy as np

import yota
from yota.compile.cache import CACHE
from yota.compile.tiers import wait_for_background


def chain(x, w):
    return np.sum(np.sin(x * w) * 1.5 + x * 0.25)


def test_auto_swaps_in_a_function_whose_kernels_are_compiled():
    x, w = np.linspace(0.0, 1.0, 7), np.linspace(1.0, 2.0, 7)
    x0, w0 = x.copy(), w.copy()
    first = yota.grad(chain, x, w, backend="auto")
    assert wait_for_background(timeout=120), "the background compile did not finish"
    (variant,) = [v for key, e in CACHE.entries.items() if key[0] == ("grad", "auto")
                  for v in e.variants if v.name.endswith("chain")]
    assert variant.backend == "numba", variant.note
    kernels = [v for v in variant.fn.__globals__.values()
               if isinstance(v, numba.core.registry.CPUDispatcher)]
    assert kernels, "the fused program has no numba kernel to check"
    assert all(k.signatures for k in kernels), \
        "a kernel of the swapped-in function is still to be compiled on a caller's call"
    np.testing.assert_array_equal(x, x0, "the warm-up run wrote into an input")
    np.testing.assert_array_equal(w, w0, "the warm-up run wrote into an input")
    again = yota.grad(chain, x, w, backend="auto")
    np.testing.assert_allclose(again[0], first[0], rtol=1e-12)
    for a, b in zip(again[1], first[1]):
        np.testing.assert_allclose(a, b, rtol=1e-12)
