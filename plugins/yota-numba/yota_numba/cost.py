"""The cost model: does a cluster pay for its own loop?

A numba call costs about a microsecond of dispatch and a loop without NumPy's hand-tuned SIMD
inner loops; fusing pays by dropping a NumPy call and a pass over memory per instruction. So a
lone elementwise instruction (a big ``tanh``, an ``x += b``) or a lone reduction stays with
NumPy; two or more instructions, or a chain ending in its reduction, get a loop.
"""
from __future__ import annotations


def worth_fusing(cluster, program):
    n = len(cluster.elementwise)
    return n >= 2 or (n >= 1 and len(cluster.members) > n)
