"""scipy.stats log-densities, densities and CDFs, written with yota_scipy.special's primitives and
NumPy calls, so every continuous parameter (x, loc, scale, shapes, means, covariances) gets a
gradient of any order. Integer arguments (counts k, trials n) get none.

    import yota_scipy.stats as st
    st.norm.logpdf(x, mu, sigma)     # SciPy's signature and broadcasting

The distributions are namespaces of functions mirroring SciPy's (``norm.logpdf``...), not
SciPy's distribution objects: no frozen distributions, no sampling (use SciPy for those).
"""
from __future__ import annotations

import math

import numpy as np

from .linalg import solve_triangular
from .special import (bdtr, betainc, betaln, gammainc, gammaincc, gammaln, log_ndtr, ndtr,
                      pdtr, stdtr, t_logpdf, xlog1py, xlogy)

__all__ = ["norm", "multivariate_normal", "t", "gamma", "beta", "dirichlet", "poisson",
           "bernoulli", "binom"]
PRIMITIVES = ()   # everything here is built from special's and linalg's primitives

_LOG_2PI = math.log(2.0 * math.pi)


def _standardize(x, loc, scale):
    return (x - loc) / scale


def _outside(value, mask):
    """-inf where ``mask`` (outside the support), as SciPy's log-densities give."""
    return np.where(mask, -np.inf, value)


class _Distribution:
    """Namespace of one distribution's functions; pdf and pmf are exp of their logs."""

    def pdf(self, *args, **kwargs):
        return np.exp(self.logpdf(*args, **kwargs))

    def pmf(self, *args, **kwargs):
        return np.exp(self.logpmf(*args, **kwargs))

    def logcdf(self, *args, **kwargs):
        return np.log(self.cdf(*args, **kwargs))

    def __repr__(self):
        return f"<yota_scipy.stats.{type(self).__name__.lstrip('_').lower()}>"


class _Norm(_Distribution):
    def logpdf(self, x, loc=0.0, scale=1.0):
        z = _standardize(x, loc, scale)
        return -0.5 * z * z - np.log(scale) - 0.5 * _LOG_2PI

    def cdf(self, x, loc=0.0, scale=1.0):
        return ndtr(_standardize(x, loc, scale))

    def logcdf(self, x, loc=0.0, scale=1.0):
        return log_ndtr(_standardize(x, loc, scale))

    def sf(self, x, loc=0.0, scale=1.0):
        return ndtr(-_standardize(x, loc, scale))

    def logsf(self, x, loc=0.0, scale=1.0):
        return log_ndtr(-_standardize(x, loc, scale))


class _T(_Distribution):
    def logpdf(self, x, df, loc=0.0, scale=1.0):
        return t_logpdf(_standardize(x, loc, scale), df) - np.log(scale)

    def cdf(self, x, df, loc=0.0, scale=1.0):
        """Differentiable in x, loc, scale; not in df (see yota_scipy.special.stdtr)."""
        return stdtr(df, _standardize(x, loc, scale))

    def sf(self, x, df, loc=0.0, scale=1.0):
        return stdtr(df, -_standardize(x, loc, scale))


class _Gamma(_Distribution):
    def logpdf(self, x, a, loc=0.0, scale=1.0):
        z = _standardize(x, loc, scale)
        return _outside(xlogy(a - 1.0, z) - z - gammaln(a) - np.log(scale), z < 0)

    def cdf(self, x, a, loc=0.0, scale=1.0):
        """Differentiable in x, loc, scale; not in a (see yota_scipy.special.gammainc)."""
        return gammainc(a, np.maximum(_standardize(x, loc, scale), 0.0))

    def sf(self, x, a, loc=0.0, scale=1.0):
        return gammaincc(a, np.maximum(_standardize(x, loc, scale), 0.0))


class _Beta(_Distribution):
    def logpdf(self, x, a, b, loc=0.0, scale=1.0):
        z = _standardize(x, loc, scale)
        return _outside(xlogy(a - 1.0, z) + xlog1py(b - 1.0, -z) - betaln(a, b) - np.log(scale),
                        (z < 0) | (z > 1))

    def cdf(self, x, a, b, loc=0.0, scale=1.0):
        """Differentiable in x, loc, scale; not in a, b (see yota_scipy.special.betainc)."""
        return betainc(a, b, np.clip(_standardize(x, loc, scale), 0.0, 1.0))


class _Dirichlet(_Distribution):
    def logpdf(self, x, alpha):
        """``x`` has the K components along its first axis (K, or K by N points), as SciPy."""
        if np.ndim(x) > 1:
            alpha = np.reshape(alpha, np.shape(alpha) + (1,) * (np.ndim(x) - 1))
        norm = np.sum(gammaln(alpha), axis=0) - gammaln(np.sum(alpha, axis=0))
        return np.sum(xlogy(alpha - 1.0, x), axis=0) - norm


class _Poisson(_Distribution):
    def logpmf(self, k, mu, loc=0):
        """``k`` counts (no gradient); the rate ``mu`` is differentiable."""
        k = k - loc
        return _outside(xlogy(k, mu) - gammaln(k + 1.0) - mu, (k < 0) | (k != np.floor(k)))

    def cdf(self, k, mu, loc=0):
        k = k - loc
        return np.where(k < 0, 0.0, pdtr(np.maximum(k, 0), mu))


class _Bernoulli(_Distribution):
    def logpmf(self, k, p, loc=0):
        k = k - loc
        return _outside(xlogy(k, p) + xlog1py(1.0 - k, -p), (k != 0) & (k != 1))

    def cdf(self, k, p, loc=0):
        return binom.cdf(k, 1, p, loc)


class _Binom(_Distribution):
    def logpmf(self, k, n, p, loc=0):
        """``k`` and the number of trials ``n`` are integers (no gradient); ``p`` is."""
        k = k - loc
        combinations = gammaln(n + 1.0) - gammaln(k + 1.0) - gammaln(n - k + 1.0)
        return _outside(combinations + xlogy(k, p) + xlog1py(n - k, -p),
                        (k < 0) | (k > n) | (k != np.floor(k)))

    def cdf(self, k, n, p, loc=0):
        k = k - loc
        return np.where(k < 0, 0.0, bdtr(np.clip(k, 0, n), n, p))


class _MultivariateNormal(_Distribution):
    def logpdf(self, x, mean=None, cov=1):
        """Points along the last axis of ``x`` (SciPy's shapes: one point gives a scalar);
        ``cov`` a matrix, a vector (its diagonal) or a scalar, positive definite."""
        dim = _dimension(mean, cov)
        if dim == 1 and np.ndim(x) >= 1 and np.shape(x)[-1] != 1:
            x = np.reshape(x, np.shape(x) + (1,))   # SciPy: 1-D points given as a flat array
        diff = x if mean is None else x - mean
        if np.ndim(cov) < 2:
            var = np.broadcast_to(cov, (dim,)) if np.ndim(cov) == 0 else cov
            maha = np.sum(diff * diff / var, axis=-1)
            logdet = np.sum(np.log(var))
        else:
            chol = np.linalg.cholesky(cov)
            flat = np.reshape(diff, (-1, dim))
            z = solve_triangular(chol, np.swapaxes(flat, 0, 1), lower=True)
            maha = np.reshape(np.sum(z * z, axis=0), np.shape(diff)[:-1])
            logdet = 2.0 * np.sum(np.log(np.diagonal(chol)))
        return -0.5 * (maha + logdet + dim * _LOG_2PI)


def _dimension(mean, cov):
    if mean is not None and np.ndim(mean) >= 1:
        return np.shape(mean)[-1]
    return np.shape(cov)[-1] if np.ndim(cov) >= 1 else 1


norm = _Norm()
t = _T()
gamma = _Gamma()
beta = _Beta()
dirichlet = _Dirichlet()
poisson = _Poisson()
bernoulli = _Bernoulli()
binom = _Binom()
multivariate_normal = _MultivariateNormal()
