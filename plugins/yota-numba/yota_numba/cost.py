"""The cost model: does a cluster pay for its own loop?

NumPy's SIMD transcendental functions on big arrays beat the fused kernels, so such an
instruction stays a NumPy step (``keep_on_numpy``). A numba call costs about a microsecond of dispatch and a loop without NumPy's hand-tuned SIMD
inner loops; fusing pays by dropping a NumPy call and a pass over memory per instruction. So a
lone elementwise instruction (a big ``tanh``, an ``x += b``) or a lone reduction stays with
NumPy; two or more instructions, or a chain ending in its reduction, get a loop.
"""
from __future__ import annotations

import numpy as np

# NumPy's own SIMD loops (AVX-512 here) beat the fused kernels (mathlib.py, AVX2 at best) or
# numba's scalar libm calls on all but small arrays: from this many elements on, these run as
# NumPy steps and split the chain around them. The thresholds are where a 30-step chain
# ``x = f(x) * 1.01 + 0.1 * x`` with its gradient runs as fast fused as with the numpy backend
# (median ratio numba / numpy over 15 interleaved batches): exp(-x*x) 0.63 at 96 elements,
# 0.90 at 128, 1.09 at 192, 2.43 at 512; tanh 0.85 at 96, 1.09 at 128, 2.73 at 512; sin 0.53
# at 128, 0.93 at 384, 1.16 at 768 (cos alike). One loop of a kernel alone loses by less (4,096
# float64: tanh 12.7 us against 9.0, exp 10.9 against 4.9), but in a long loop body the math
# kernels no longer vectorize.
SIMD_IN_NUMPY = {np.exp: 128, np.tanh: 112, np.sin: 448, np.cos: 448}


def keep_on_numpy(ins, out_aval):
    """Should this elementwise instruction stay a NumPy step even though it lowers?"""
    try:
        big = SIMD_IN_NUMPY.get(ins.prim.impl)
    except TypeError:          # an unhashable implementation: not one of these
        return False
    return big is not None and int(np.prod(out_aval.shape, dtype=np.int64)) >= big


def worth_fusing(cluster, program):
    n = len(cluster.elementwise)
    return n >= 2 or (n >= 1 and len(cluster.members) > n)
