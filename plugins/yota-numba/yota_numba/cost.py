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
# numba's scalar libm calls on big arrays: from this many elements on, these run as NumPy steps
# and split the chain around them. Measured again (one loop of the kernel alone against the
# ufunc with out=): 4,096 float64: tanh 12.7 us against 9.0, exp 10.9 against 4.9; 32,768:
# tanh 105 against 79, exp 95 against 41; 4,096 float32: tanh 7.4 against 1.4.
SIMD_IN_NUMPY = frozenset([np.exp, np.tanh, np.sin, np.cos])
BIG_ELEMENTS = 1024


def keep_on_numpy(ins, out_aval):
    """Should this elementwise instruction stay a NumPy step even though it lowers?"""
    size = int(np.prod(out_aval.shape, dtype=np.int64))
    try:
        simd = ins.prim.impl in SIMD_IN_NUMPY
    except TypeError:
        simd = False
    return simd and size >= BIG_ELEMENTS


def worth_fusing(cluster, program):
    n = len(cluster.elementwise)
    return n >= 2 or (n >= 1 and len(cluster.members) > n)
