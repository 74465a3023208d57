"""Training loops that pass a new Python scalar every step: static mode against dynamic mode.

Issue 13, item 8: an ODE solver's time ``t``, autograd's ``objective(params, iter)`` and an
LSTM-like loop with a learning-rate schedule used to re-trace static mode on every step (a neural
ODE: 7.8 s static against 0.25 s dynamic). Static mode must not be slower than dynamic mode on
any of them. Prints wall times and trace counts.

    python benchmarks/bench_retrace.py [--steps N]
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

import yota
from yota.compile import CACHE


def neural_ode(steps):
    """Euler steps of dx/dt = tanh(W x + b t); the loss at the end; the gradient w.r.t. W at
    every step (the adjoint-free way: one grad per step, ``t`` a new float each time)."""
    rs = np.random.RandomState(0)
    W, b, x = rs.randn(8, 8) * 0.3, rs.randn(8), rs.randn(8)

    def dynamics_loss(W, x, t):
        return np.sum(np.tanh(W @ x + b * t) ** 2)

    def run(dynamic):
        acc = 0.0
        for k in range(steps):
            t = 0.01 * k
            _, g = yota.grad(dynamics_loss, W, x, t, argnums=0, dynamic=dynamic)
            acc += float(g[0][0, 0])
        return acc
    return run


def mixture_vi(steps):
    """Variational inference of a 2-component mixture; ``objective(params, i)`` with the
    iteration number, the autograd idiom."""
    rs = np.random.RandomState(1)
    data = np.concatenate([rs.randn(50) - 2, rs.randn(50) + 2])
    noise = rs.randn(20)

    def objective(params, i):
        mu, log_sigma, logits = params[:2], params[2:4], params[4:]
        w = np.exp(logits) / np.sum(np.exp(logits))
        z = mu[:, None] + np.exp(log_sigma)[:, None] * noise[None, :]
        ll = np.sum(w[:, None, None] * np.exp(-0.5 * (data[None, None, :] - z[:, :, None]) ** 2))
        anneal = 1.0 - 1.0 / (i + 2)
        return -np.log(ll) * anneal + np.sum(log_sigma)

    def run(dynamic):
        params = np.zeros(6)
        params[:2] = (-1, 1)
        for i in range(steps):
            _, g = yota.grad(objective, params, i, argnums=0, dynamic=dynamic)
            params = params - 0.01 * g[0]
        return params
    return run


def lstm(steps):
    """An LSTM cell unrolled over 5 steps, trained with a decaying learning rate passed in."""
    rs = np.random.RandomState(2)
    H, D = 6, 4
    seq = rs.randn(5, D)
    target = rs.randn(H)

    def loss(Wx, Wh, lr):
        h, c = np.zeros(H), np.zeros(H)
        for xt in seq:
            z = Wx @ xt + Wh @ h
            i, f, o, g = z[:H], z[H:2 * H], z[2 * H:3 * H], z[3 * H:]
            sig = lambda a: 1 / (1 + np.exp(-a))   # noqa: E731
            c = sig(f) * c + sig(i) * np.tanh(g)
            h = sig(o) * np.tanh(c)
        return np.sum((h - target) ** 2) * (1.0 + 0.0 * lr)

    def run(dynamic):
        Wx, Wh = rs.randn(4 * H, D) * 0.1, rs.randn(4 * H, H) * 0.1
        for k in range(steps):
            lr = 0.1 / (1 + k)
            _, g = yota.grad(loss, Wx, Wh, lr, argnums=(0, 1), dynamic=dynamic)
            Wx, Wh = Wx - lr * g[0], Wh - lr * g[1]
        return Wx
    return run


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200, help="steps per loop (the ODE: 10x)")
    args = ap.parse_args()
    warnings.simplefilter("error")
    yota.grad(lambda x: np.sum(x), np.ones(1))   # load the packs before timing anything
    print(f"{'loop':<12}{'static s':>10}{'dynamic s':>11}{'traces':>8}")
    loops = [("neural ODE", neural_ode, 10), ("mixture VI", mixture_vi, 1), ("LSTM", lstm, 1)]
    for name, make, scale in loops:
        yota.clear_cache()
        t0 = time.perf_counter()
        make(args.steps * scale)(False)
        static = time.perf_counter() - t0
        traces = CACHE.misses
        t0 = time.perf_counter()
        make(args.steps * scale)(True)
        dynamic = time.perf_counter() - t0
        print(f"{name:<12}{static:>10.3f}{dynamic:>11.3f}{traces:>8}")


if __name__ == "__main__":
    main()
