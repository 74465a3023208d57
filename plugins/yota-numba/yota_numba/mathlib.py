"""Vectorizable exp, expm1, log and tanh for numba loops, accurate to a few ULP of NumPy's.

numba from the package index has no vector math library: ``np.exp`` in a loop is a scalar libm
call, about 10x slower than NumPy's SIMD ufuncs. These are branch-free (selects only), reduce the
argument with Cody-Waite constants and scale by 2^k through the float's bits, so LLVM vectorizes
loops that call them. Float32 callers compute in float64 and round once.
"""
from __future__ import annotations

import math

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

__all__ = ["exp64", "expm1_64", "log64", "tanh64"]


@intrinsic
def _f64_from_bits(typingctx, x):
    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return types.float64(types.int64), codegen


@intrinsic
def _bits_of_f64(typingctx, x):
    def codegen(context, builder, sig, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return types.int64(types.float64), codegen


@intrinsic
def _fma(typingctx, a, b, c):
    """a * b + c rounded once (llvm.fma: one instruction where the CPU has FMA)."""
    def codegen(context, builder, sig, args):
        return builder.fma(*args)
    return types.float64(types.float64, types.float64, types.float64), codegen


_LOG2E = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01   # ln 2 with its low bits zero: k * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_jit = numba.njit(inline="always", error_model="numpy", cache=False)


@_jit
def _expm1_reduced(r):
    """e^r - 1 for |r| <= ln2 / 2: Taylor to degree 14 (relative error < 1e-17)."""
    p = 1.0 / 87178291200.0
    p = _fma(p, r, 1.0 / 6227020800.0)
    p = _fma(p, r, 1.0 / 479001600.0)
    p = _fma(p, r, 1.0 / 39916800.0)
    p = _fma(p, r, 1.0 / 3628800.0)
    p = _fma(p, r, 1.0 / 362880.0)
    p = _fma(p, r, 1.0 / 40320.0)
    p = _fma(p, r, 1.0 / 5040.0)
    p = _fma(p, r, 1.0 / 720.0)
    p = _fma(p, r, 1.0 / 120.0)
    p = _fma(p, r, 1.0 / 24.0)
    p = _fma(p, r, 1.0 / 6.0)
    p = _fma(p, r, 0.5)
    return _fma(r * r, p, r)


_SHIFT = 6755399441055744.0   # 1.5 * 2^52: adding it rounds to an integer held in the low bits


@_jit
def _reduce(x):
    """(kbits, kf, r): x = kf ln2 + r, |r| <= ln2 / 2, kf an integer-valued float whose value
    also sits in the low bits of ``kbits`` (as 2^51 + k). x is clamped to [-746, 710] (nan ->
    -746). No float-to-int conversion and no floor: both keep LLVM from vectorizing."""
    xc = x if x > -746.0 else -746.0
    xc = xc if xc < 710.0 else 710.0
    kd = xc * _LOG2E + _SHIFT
    kbits = _bits_of_f64(kd)
    kf = kd - _SHIFT
    r = (xc - kf * _LN2_HI) - kf * _LN2_LO
    return kbits, kf, r


@_jit
def _scale_bits(kbits):
    """The float 2^k for ``kbits`` holding 2^51 + k (only the low 12 bits of the sum count)."""
    return _f64_from_bits((kbits + 1023) << 52)


@_jit
def exp64(x):
    kbits, kf, r = _reduce(x)
    # 2^k must stay a normal float: near the ends scale by 2^(k+600) then 2^-600 (one rounding
    # into the denormals), or 2^(k-1) then 2. Selects, not shifts: AVX2 has no 64-bit
    # arithmetic shift, and one blocks vectorization.
    tiny = kf < -1000.0
    big = kf > 1000.0
    kbits = kbits + (600 if tiny else (-1 if big else 0))
    factor = 2.409919865102884e-181 if tiny else (2.0 if big else 1.0)
    y = ((1.0 + _expm1_reduced(r)) * _scale_bits(kbits)) * factor
    y = y if x < 709.782712893384 else math.inf
    y = y if x > -745.1332191019412 else 0.0
    return y if x == x else x


@_jit
def expm1_64(x):
    """e^x - 1, accurate for x >= 0 and for |x| <= ln2 / 2 (what tanh needs)."""
    kbits, kf, r = _reduce(x)
    s = _scale_bits(kbits)
    y = s * _expm1_reduced(r) + (s - 1.0)
    y = y if x < 709.782712893384 else math.inf
    return y if x == x else x


@_jit
def log64(x):
    """fdlibm's log: x = 2^e m, m in [sqrt(2)/2, sqrt(2)), log(m) = 2 atanh(s), s = f / (2 + f)."""
    tiny = x < 2.2250738585072014e-308
    xs = x * 18014398509481984.0 if tiny else x          # denormals: scale by 2^54 first
    bits = _bits_of_f64(xs)
    e = ((bits >> 52) & 0x7FF) - 1023 - (54 if tiny else 0)
    mbits = (bits & 0xFFFFFFFFFFFFF) | 0x3FF0000000000000
    m = _f64_from_bits(mbits)
    big = m > 1.4142135623730951
    m = m * 0.5 if big else m
    e = e + 1 if big else e
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (3.999999999940941908e-01 + w * (2.222219843214978396e-01
                                               + w * 1.531383769920937332e-01))
    t2 = z * (6.666666666666735130e-01 + w * (2.857142874366239149e-01
                                               + w * (1.818357216161805012e-01
                                                      + w * 1.479819860511658591e-01)))
    big_r = t2 + t1
    hfsq = 0.5 * f * f
    dk = np.float64(e)
    y = dk * _LN2_HI - ((hfsq - (s * (hfsq + big_r) + dk * _LN2_LO)) - f)
    y = y if x > 0.0 else (-math.inf if x == 0.0 else math.nan)
    return y if x < math.inf else x                     # inf -> inf, nan -> nan


@_jit
def tanh64(x):
    """sign(x) q / (q + 2), q = e^(2|x|) - 1; |x| >= 20 rounds to +-1."""
    a = abs(x)
    a = a if a < 20.0 else 20.0
    q = expm1_64(2.0 * a)
    y = q / (q + 2.0)
    y = math.copysign(y, x)
    return y if x == x else x
