"""Per-step time of one SGD step on a 784-256-10 MLP, batch 256 (float32): the gradient of every
float argument (``opt(model, grad(loss, model, X, y))``) against the model's only
(``opt.minimize(loss, model, X, y)``). Run: python benchmarks/training_step.py"""
import pathlib
import sys
import time

import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "examples" / "mlp"))
from train import MLP, loss  # noqa: E402

from yota import grad, optim  # noqa: E402


def per_step(step, repeats=200):
    for _ in range(20):
        step()
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(repeats // 5):
            step()
        best = min(best, (time.perf_counter() - t0) / (repeats // 5))
    return best


def main():
    rng = np.random.default_rng(0)
    model = MLP.init(rng, [784, 256, 10])
    X = rng.normal(size=(256, 784)).astype(np.float32)
    y = rng.integers(0, 10, size=256)
    opt = optim.SGD(0.01)
    every = per_step(lambda: opt(model, grad(loss, model, X, y)))
    only = per_step(lambda: opt.minimize(loss, model, X, y))
    print(f"grad of every argument: {every * 1e3:.2f} ms/step")
    print(f"opt.minimize (model only): {only * 1e3:.2f} ms/step")


if __name__ == "__main__":
    main()
