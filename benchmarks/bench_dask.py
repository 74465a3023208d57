"""yota-dask's benchmark: one gradient step over ~2,000,000 rows, one process against Dask.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_dask.py [--rows 2000000]

Workloads: the mean logistic loss of a linear model (float64) and the mean softmax
cross-entropy of an MLP (float32). For each, the median seconds of one ``(value, gradient)``
step: ``yota.grad`` in this process with BLAS on one thread, and ``yota_dask.grad`` on a LocalCluster of 1 and of 2 single-threaded worker processes, the rows
generated on the workers and persisted there. Then the per-step overhead of ``yota_dask.grad``
for small steps (1,000 to 100,000 rows), where the round trips dominate. Every result is checked
against the one-process gradient. Prints markdown tables and the BLAS that ran (threadpoolctl),
here and on the workers. Never part of the test suite.
"""
from __future__ import annotations

import argparse
import logging
import os
import statistics
import time

import attrs
import dask
import dask.array as da
import numpy as np
from dask.distributed import Client, LocalCluster
from threadpoolctl import threadpool_info, threadpool_limits

import yota
import yota_dask
from yota_dask import pickling
from yota_nn import cross_entropy, relu


# --- the workloads -----------------------------------------------------------------------------
@attrs.define
class Dense:
    W: np.ndarray
    b: np.ndarray


@attrs.define
class MLP:
    layers: list


def logistic_loss(w, X, y):
    z = X @ w
    return np.mean(np.log1p(np.exp(-np.abs(z))) + np.maximum(z, 0) - y * z)


def mlp_loss(model, X, y):
    for layer in model.layers[:-1]:
        X = relu(X @ layer.W + layer.b)
    last = model.layers[-1]
    return cross_entropy(X @ last.W + last.b, y)


def logistic_problem(rows, chunk, features=100):
    rng = da.random.default_rng(0)
    X = rng.standard_normal((rows, features), chunks=(chunk, -1))
    y = (rng.random(rows, chunks=chunk) < 0.5).astype(np.float64)
    w = np.random.default_rng(1).standard_normal(features) * 0.1
    return "logistic regression, 100 features, float64", logistic_loss, w, X, y


def mlp_problem(rows, chunk, sizes=(32, 64, 10)):
    rng = da.random.default_rng(0)
    X = rng.standard_normal((rows, sizes[0]), chunks=(chunk, -1)).astype(np.float32)
    y = rng.integers(0, sizes[-1], rows, chunks=chunk)
    init = np.random.default_rng(1)
    model = MLP([Dense((init.standard_normal((a, b)) / np.sqrt(a)).astype(np.float32),
                       np.zeros(b, np.float32)) for a, b in zip(sizes[:-1], sizes[1:])])
    return "MLP 32-64-10, relu, float32", mlp_loss, model, X, y


# --- timing ------------------------------------------------------------------------------------
def median_seconds(step, repeats):
    step()                       # compile (static mode) and warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def rel_error(got, want):
    if isinstance(want, dict):
        return max(rel_error(got[k], want[k]) for k in want)
    want = np.asarray(want, np.float64)
    return float(np.max(np.abs(np.asarray(got, np.float64) - want)) / np.max(np.abs(want)))


def local_arrays(*arrays):
    """The same rows in this process (Dask's random arrays do not depend on the scheduler)."""
    return dask.compute(*arrays, scheduler="sync")


def start(n_workers):
    # Dask sets MALLOC_TRIM_THRESHOLD_ in its workers, which turns off glibc's adaptive mmap
    # threshold: every large NumPy temporary is then a fresh mmap with its page faults (20-30%
    # slower steps here). Workers that only run NumPy steps are better off without it.
    dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None})
    # Work stealing moves a shard task, and its rows, to a worker that looks idle: on this
    # shared 2-core machine that cost a 3x slower step (see the yota-dask README).
    dask.config.set({"distributed.scheduler.work-stealing": False})
    cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                           dashboard_address=":0", silence_logs=logging.ERROR)
    return Client(cluster)


def stop(client):
    cluster = client.cluster
    client.close()
    cluster.close()


def blas(info):
    return "; ".join(f"{p['internal_api']} {p.get('version')} {p.get('architecture')} "
                     f"({p['num_threads']} thread(s))" for p in info if p["user_api"] == "blas")


def one_process(problems, repeats):
    """Seconds per step here (no cluster running, BLAS on one thread, like each worker), and the
    reference results. (BLAS on both cores was slower, up to 20x for the float32 MLP, on the
    2-core machine: not a fair baseline to beat.)"""
    out = []
    for name, loss, params, X, y in problems:
        X_np, y_np = local_arrays(X, y)
        with threadpool_limits(1):
            seconds = median_seconds(
                lambda: yota.grad(loss, params, X_np, y_np, argnums=0), repeats)
            reference = yota.grad(loss, params, X_np, y_np, argnums=0)
        out.append((seconds, reference))
        del X_np, y_np
    return out


def on_dask(client, problems, references, repeats):
    """Seconds per step on the cluster, rows generated and persisted on the workers."""
    out = []
    for (name, loss, params, X, y), (ref_value, ref_g) in zip(problems, references):
        Xd, yd = yota_dask.persist(X, y, client=client)
        out.append(median_seconds(
            lambda: yota_dask.grad(loss, params, Xd, yd, argnums=0, client=client), repeats))
        value, g = yota_dask.grad(loss, params, Xd, yd, argnums=0, client=client)
        err = max(abs(value - ref_value) / abs(ref_value), rel_error(g[0], ref_g[0]))
        print(f"  {name}, {len(client.scheduler_info()['workers'])} worker(s): "
              f"{out[-1]:.3f} s per step, relative error {err:.1e}", flush=True)
        del Xd, yd
    return out


def shard_seconds(make, rows, repeats=5):
    """Median seconds of ``yota.grad`` on ``rows`` rows made in this process (run on workers)."""
    import dask as _dask

    name, loss, params, X, y = make(rows, rows)
    X, y = _dask.compute(X, y, scheduler="sync")
    with threadpool_limits(1):
        return median_seconds(lambda: yota.grad(loss, params, X, y, argnums=0), repeats)


def call_pickled(blob):
    import cloudpickle

    return cloudpickle.loads(blob)()


def ceiling(client, make, rows):
    """What two processes can gain on this machine for this workload: one worker computing a
    shard alone, then both at once; 2 * alone / together is the speed-up the hardware allows
    (memory bandwidth and other load included)."""
    first = sorted(client.scheduler_info()["workers"])[0]
    # Pickled as yota_dask does, so the workers get the registered primitives (yota_nn.relu).
    work = pickling.dumps(lambda: shard_seconds(make, rows))

    def on(workers):       # tasks, not client.run: a long client.run blocks a worker's comms
        return client.gather([client.submit(call_pickled, work, workers=[w], pure=False)
                              for w in workers])

    alone = on([first])[0]
    together = max(on(sorted(client.scheduler_info()["workers"])))
    return 2 * alone / together


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=2_000_000)
    p.add_argument("--chunk", type=int, default=250_000, help="rows per chunk (shard)")
    p.add_argument("--repeats", type=int, default=7)
    args = p.parse_args(argv)
    print(f"BLAS here: {blas(threadpool_info())}; load average {os.getloadavg()[0]:.1f}")
    big = [make(args.rows, args.chunk) for make in (logistic_problem, mlp_problem)]
    sizes = (1_000, 10_000, 100_000)
    small = [logistic_problem(n, -(-n // 2)) for n in sizes]
    local_big = one_process(big, args.repeats)
    local_small = one_process(small, 21)
    dask_big, dask_small = {}, []
    for n in (1, 2):
        client = start(n)
        try:
            print(f"BLAS on the {n}-worker cluster: "
                  + " | ".join(sorted({blas(i) for i in client.run(threadpool_info).values()})))
            dask_big[n] = on_dask(client, big, [r for _, r in local_big], args.repeats)
            if n == 2:
                dask_small = on_dask(client, small, [r for _, r in local_small], 21)
                ceilings = [ceiling(client, make, args.chunk)
                            for make in (logistic_problem, mlp_problem)]
        finally:
            stop(client)

    print(f"\n{args.rows:,} rows in chunks of {args.chunk:,}; median of {args.repeats} steps "
          "(seconds); every process uses one BLAS thread\n")
    print("| workload | one process | dask, 1 worker | dask, 2 workers | speed-up, 2 workers | "
          "2 processes at once (ceiling) |")
    print("|---|---|---|---|---|---|")
    for i, (name, *_) in enumerate(big):
        local = local_big[i][0]
        print(f"| {name} | {local:.3f} | {dask_big[1][i]:.3f} | {dask_big[2][i]:.3f} | "
              f"{local / dask_big[2][i]:.2f}x | {ceilings[i]:.2f}x |")
    print("\nSmall steps (logistic regression, 2 chunks, 2 workers): per-step overhead = "
          "dask step - half the one-process step\n")
    print("| rows | one process (ms) | dask, 2 workers (ms) | overhead (ms) |")
    print("|---|---|---|---|")
    for n, (local, _), t_dask in zip(sizes, local_small, dask_small):
        print(f"| {n:,} | {1e3 * local:.2f} | {1e3 * t_dask:.2f} | "
              f"{1e3 * (t_dask - local / 2):.2f} |")
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f} (2 cores; other sessions share "
          "the machine)")


if __name__ == "__main__":
    main()
