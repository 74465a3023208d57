"""The cost model: does a cluster pay for its own loop?

NumPy's SIMD transcendental functions on big arrays beat the fused kernels, so such an
instruction stays a NumPy step (``keep_on_numpy``). A numba call costs about a microsecond of dispatch and a loop without NumPy's hand-tuned SIMD
inner loops; fusing pays by dropping a NumPy call and a pass over memory per instruction. So a
lone elementwise instruction (a big ``tanh``, an ``x += b``) or a lone reduction stays with
NumPy; two or more instructions, or a chain ending in its reduction, get a loop.
"""
from __future__ import annotations

import numpy as np

# NumPy's own SIMD loops beat the fused kernels (mathlib.py) or numba's scalar libm calls on
# big arrays (4,096 float64 here: tanh 8 us against 20, exp 3 against 9): from this many
# elements on, these run as NumPy steps and split the chain around them.
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
