"""yota's benchmark: W1-W4 of the static-graphs issue, against hand-written NumPy.

    python benchmarks/bench.py [--repeats 31] [--only W1,W3] [--no-others] [--numba]
    python benchmarks/bench.py --numba-first-calls [--only W1,W3]

Every workload times, in one process and interleaved (one batch of calls per library in turn,
repeated, the order turning by one each time), the median microseconds of one forward+backward
call, and prints a markdown table with the ratio to the hand-written NumPy reference measured in
the same run. yota static mode, yota dynamic mode, and autograd, PyTorch (CPU) and JAX (jit,
CPU) when they are installed (``pip install -e .[bench]``; never a test dependency). Every
library runs on one thread: the environment variables below are set before NumPy is imported,
and threadpoolctl pins BLAS too when it is installed. W4 also reports the peak memory of one
call (tracemalloc, which sees NumPy's allocations) relative to the reference. ``--numba`` adds a
"yota numba" column (the yota-numba pack's backend, driven directly until backend selection
lands) and prints each workload's first-call (trace + compile) time for yota static and yota
numba (numba's may load from the on-disk cache of earlier runs). ``--numba-first-calls``
measures only first calls, each in a fresh process: yota static, then yota numba with an empty
on-disk cache (cold: compile and store) and again with the cache the previous process filled
(warm: load).
"""
from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
             "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                      "intra_op_parallelism_threads=1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import argparse  # noqa: E402
import gc  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

import attrs  # noqa: E402
import numpy as np  # noqa: E402

import yota  # noqa: E402

try:
    from threadpoolctl import threadpool_limits
    _POOL = threadpool_limits(1)
except ImportError:  # the env variables above already pin OpenBLAS
    _POOL = None


# --- the models, as a user writes them ---------------------------------------------------------
@attrs.define
class Linear:
    W: np.ndarray
    b: np.ndarray


@attrs.define
class MLP:
    layers: list


def w1_loss(m, X):
    return np.sum(m.W @ X + m.b[:, None])


def w3_loss(x):
    for _ in range(200):
        x = np.sin(x) * 1.01 + 0.1 * x
    return np.sum(x)


try:
    from yota_reductions import logsumexp
except ImportError:  # without the pack's fused primitive: the textbook stable form
    def logsumexp(a, axis):
        m = np.max(a, axis=axis, keepdims=True)
        return np.log(np.sum(np.exp(a - m), axis=axis)) + np.squeeze(m, axis)


def cross_entropy(logits, y):
    return np.mean(logsumexp(logits, axis=1) - logits[np.arange(len(y)), y])


def mlp_loss(model, X, y, act):
    h = X
    for i, layer in enumerate(model.layers):
        h = h @ layer.W + layer.b
        if i < len(model.layers) - 1:
            h = act(h)
    return cross_entropy(h, y)


def tanh_loss(model, X, y):
    return mlp_loss(model, X, y, np.tanh)


def relu_loss(model, X, y):
    return mlp_loss(model, X, y, lambda a: np.maximum(a, 0))


# --- hand-written NumPy forward + backward (a fresh array for every intermediate) --------------
def w1_numpy(W, b, X):
    Y = W @ X + b[:, None]
    loss = Y.sum()
    dY = np.ones_like(Y)
    return loss, dY @ X.T, dY.sum(axis=1), W.T @ dY


def w3_numpy(x):
    xs = []
    for _ in range(200):
        xs.append(x)
        x = np.sin(x) * 1.01 + 0.1 * x
    loss = x.sum()
    g = np.ones_like(x)
    for xi in reversed(xs):
        g = g * 1.01 * np.cos(xi) + 0.1 * g
    return loss, g


def mlp_numpy(params, X, y, act):
    """params: [(W, b), ...]; act: 'tanh' or 'relu'."""
    hs, pre = [X], []
    h = X
    n = len(params)
    for i, (W, b) in enumerate(params):
        a = h @ W + b
        if i < n - 1:
            pre.append(a)
            h = np.tanh(a) if act == "tanh" else np.maximum(a, 0)
            hs.append(h)
        else:
            h = a
    z = h - h.max(axis=1, keepdims=True)
    e = np.exp(z)
    s = e.sum(axis=1, keepdims=True)
    rows = np.arange(len(y))
    loss = np.mean(np.log(s[:, 0]) - z[rows, y])
    d = e / s
    d[rows, y] -= 1
    d = d / len(y)
    grads = []
    for i in range(n - 1, -1, -1):
        W, b = params[i]
        grads.append((hs[i].T @ d, d.sum(axis=0)))
        if i:
            dh = d @ W.T
            d = dh * (1 - hs[i] * hs[i]) if act == "tanh" else dh * (pre[i - 1] > 0)
    return loss, grads[::-1]


# --- the workloads -----------------------------------------------------------------------------
def make_mlp(sizes, dtype, rng):
    return MLP([Linear((rng.standard_normal((a, b)) / np.sqrt(a)).astype(dtype),
                       np.zeros(b, dtype)) for a, b in zip(sizes[:-1], sizes[1:])])


def workloads(rng, only):
    out = []
    if "W1" in only:
        out.append(_w1(rng))
    for batch in (32, 1024):
        if f"W2-{batch}" in only:
            out.append(_w2(rng, batch))
    if "W3" in only:
        out.append(_w3(rng))
    if "W4" in only:
        out.append(_w4(rng))
    return out


def _w1(rng):
    m = Linear(rng.random((3, 4)), rng.random(3))
    X = rng.random((4, 5))
    return dict(
        name="W1", number=2000, loss=w1_loss, args=(m, X),
        numpy=lambda: w1_numpy(m.W, m.b, X),
        autograd=lambda ag: _ag_call(ag, lambda W, b: _ag_np(ag).sum(
            _ag_np(ag).dot(W, X) + b[:, None]), (m.W, m.b)),
        torch=lambda torch: _torch_setup(torch, lambda W, b, X: (W @ X + b[:, None]).sum(),
                                         [m.W, m.b], [X]),
        jax=lambda jax: _jax_setup(jax, lambda p, X: (p[0] @ X + p[1][:, None]).sum(),
                                   [m.W, m.b], [X]),
    )


def _w2(rng, batch):
    model = make_mlp([64, 128, 10], np.float64, rng)
    X = rng.standard_normal((batch, 64))
    y = rng.integers(0, 10, batch)
    params = [(layer.W, layer.b) for layer in model.layers]
    return dict(name=f"W2 batch {batch}", number=200 if batch < 100 else 20,
                loss=tanh_loss, args=(model, X, y), argnums=0,
                numpy=lambda: mlp_numpy(params, X, y, "tanh"),
                **_others(model, X, y, "tanh"))


def _w3(rng):
    x = rng.random(10)
    return dict(name="W3", number=20, loss=w3_loss, args=(x,),
                numpy=lambda: w3_numpy(x),
                autograd=lambda ag: _ag_call(ag, _ag_w3(ag), (x,)),
                torch=lambda torch: _torch_setup(torch, _torch_w3(torch), [x], []),
                jax=lambda jax: _jax_setup(jax, _jax_w3(jax), [x], []))


def _w4(rng):
    model = make_mlp([784, 512, 512, 10], np.float32, rng)
    X = rng.standard_normal((256, 784)).astype(np.float32)
    y = rng.integers(0, 10, 256)
    params = [(layer.W, layer.b) for layer in model.layers]
    return dict(name="W4", number=3, loss=relu_loss, args=(model, X, y), argnums=0,
                numpy=lambda: mlp_numpy(params, X, y, "relu"), memory=True,
                **_others(model, X, y, "relu"))


# --- other libraries (optional) ----------------------------------------------------------------
def _ag_np(ag):
    import autograd.numpy as anp

    return anp


def _ag_call(ag, f, params):
    vg = ag.value_and_grad(lambda ps: f(*ps))
    ps = list(params)
    return lambda: vg(ps)


def _ag_w3(ag):
    anp = _ag_np(ag)

    def f(x):
        for _ in range(200):
            x = anp.sin(x) * 1.01 + 0.1 * x
        return anp.sum(x)

    return f


def _ag_mlp(ag, act):
    anp = _ag_np(ag)

    def f(params, X, y):
        h = X
        for i, (W, b) in enumerate(params):
            h = anp.dot(h, W) + b
            if i < len(params) - 1:
                h = anp.tanh(h) if act == "tanh" else anp.maximum(h, 0)
        z = h - anp.max(h, axis=1, keepdims=True)
        return anp.mean(anp.log(anp.sum(anp.exp(z), axis=1)) - z[anp.arange(len(y)), y])

    return f


def _others(model, X, y, act):
    params = [(layer.W, layer.b) for layer in model.layers]

    def autograd_(ag):
        vg = ag.value_and_grad(_ag_mlp(ag, act))
        return lambda: vg(params, X, y)

    def torch_(torch):
        def f(*a):
            *ps, Xt, yt = a
            h = Xt
            for i in range(0, len(ps), 2):
                h = h @ ps[i] + ps[i + 1]
                if i < len(ps) - 2:
                    h = torch.tanh(h) if act == "tanh" else torch.relu(h)
            return torch.nn.functional.cross_entropy(h, yt)

        flat = [a for p in params for a in p]
        return _torch_setup(torch, f, flat, [X, y])

    def jax_(jax):
        jnp = jax.numpy

        def f(ps, X, y):
            h = X
            for i, (W, b) in enumerate(ps):
                h = h @ W + b
                if i < len(ps) - 1:
                    h = jnp.tanh(h) if act == "tanh" else jnp.maximum(h, 0)
            z = h - jax.lax.stop_gradient(h.max(axis=1, keepdims=True))
            return jnp.mean(jnp.log(jnp.exp(z).sum(axis=1)) - z[jnp.arange(len(y)), y])

        return _jax_setup(jax, f, params, [X, y])

    return dict(autograd=autograd_, torch=torch_, jax=jax_)


def _torch_setup(torch, f, params, consts):
    ps = [torch.tensor(p, requires_grad=True) for p in params]
    cs = [torch.tensor(c) for c in consts]

    def step():
        for p in ps:
            p.grad = None
        loss = f(*ps, *cs)
        loss.backward()
        return loss.item(), [p.grad for p in ps]

    return step


def _torch_w3(torch):
    def f(x):
        for _ in range(200):
            x = torch.sin(x) * 1.01 + 0.1 * x
        return x.sum()

    return f


def _jax_setup(jax, f, params, consts):
    vg = jax.jit(jax.value_and_grad(lambda ps, *cs: f(ps, *cs) if consts else f(*ps)))
    ps = jax.tree_util.tree_map(jax.numpy.asarray, [tuple(p) if isinstance(p, tuple) else p
                                                   for p in params])
    cs = [jax.numpy.asarray(c) for c in consts]
    return lambda: jax.block_until_ready(vg(ps, *cs))


def _jax_w3(jax):
    jnp = jax.numpy

    def f(x):
        for _ in range(200):
            x = jnp.sin(x) * 1.01 + 0.1 * x
        return jnp.sum(x)

    return f


def _import(name):
    try:
        if name == "torch":
            import torch

            torch.set_num_threads(1)
            return torch
        if name == "jax":
            import jax

            jax.config.update("jax_enable_x64", True)  # W1-W3 are float64, as the others

            return jax
        if name == "autograd":
            import autograd

            return autograd
    except Exception:
        return None


# --- timing ------------------------------------------------------------------------------------
def timed(fn, number):
    t0 = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - t0) / number * 1e6


def peak_memory(fn):
    fn()
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def numba_grad(f, args, argnums):
    """``yota.grad(f, *args)`` in static mode with the yota-numba backend (compiled on the
    first call; what the benchmark times is every later call)."""
    def call():
        return yota.grad(f, *args, argnums=argnums, backend="numba")

    return call


def first_call_seconds(make):
    t0 = time.perf_counter()
    fn = make()
    fn()
    return fn, time.perf_counter() - t0


def first_call_child(name, backend):
    """In this (fresh) process: the first call's seconds of workload ``name`` and what
    yota-numba's kernels did (compiled / loaded from disk), as JSON on stdout."""
    w = next(w for w in workloads(np.random.default_rng(0), {name}))
    f, args, argnums = w["loss"], w["args"], w.get("argnums")
    if backend == "numba":
        make = lambda: numba_grad(f, args, argnums)
    else:
        make = lambda: (lambda: yota.grad(f, *args, argnums=argnums))
    _, seconds = first_call_seconds(make)
    counts = {}
    if backend == "numba":
        from yota_numba import cache
        counts = dict(cache.counts)
    print(json.dumps({"seconds": seconds, "counts": counts}))


def fresh_first_calls(only):
    """Per workload, first calls in fresh processes: yota static; yota numba with an empty
    cache directory (cold), then with the one it filled (warm)."""
    rows = []
    with tempfile.TemporaryDirectory() as cache_dir:
        env = {k: v for k, v in os.environ.items() if k != "YOTA_NO_DISK_CACHE"}
        env["YOTA_CACHE_DIR"] = cache_dir

        def child(name, backend):
            done = subprocess.run([sys.executable, __file__, "--first-call-child", name,
                                   backend], env=env, capture_output=True, text=True,
                                  check=True)
            return json.loads(done.stdout.splitlines()[-1])

        for w in workloads(np.random.default_rng(0), only):
            key = {"W2 batch 32": "W2-32", "W2 batch 1024": "W2-1024"}.get(w["name"],
                                                                           w["name"])
            static = child(key, "numpy")
            cold, warm = child(key, "numba"), child(key, "numba")
            rows.append((w["name"], static, cold, warm))
            print(f"# {w['name']} done", file=sys.stderr)
    lines = ["| workload | yota static | yota numba, cold cache | yota numba, warm cache |",
             "|---|---|---|---|"]
    for name, static, cold, warm in rows:
        def cell(r):
            c = r["counts"]
            return (f"{r['seconds']:.2f} s ({c.get('compiled', 0)} compiled, "
                    f"{c.get('loaded', 0)} loaded)")
        lines.append(f"| {name} | {static['seconds']:.2f} s | {cell(cold)} | {cell(warm)} |")
    return "\n".join(lines)


def run(repeats, only, others, numba=False):
    rng = np.random.default_rng(0)
    libs = {name: _import(name) for name in ("autograd", "torch", "jax")} if others else {}
    libs = {k: v for k, v in libs.items() if v is not None}
    rows = []
    for w in workloads(rng, only):
        f, args = w["loss"], w["args"]
        candidates = {
            "numpy": w["numpy"],
            "yota static": lambda f=f, args=args, n=w.get("argnums"): yota.grad(
                f, *args, argnums=n),
            "yota dynamic": lambda f=f, args=args, n=w.get("argnums"): yota.grad(
                f, *args, argnums=n, dynamic=True),
        }
        first = {}
        if numba:
            yota.compile.clear_cache()
            candidates["yota static"], first["yota static"] = first_call_seconds(
                lambda c=candidates["yota static"]: c)
            candidates["yota numba"], first["yota numba"] = first_call_seconds(
                lambda f=f, args=args, n=w.get("argnums"): numba_grad(f, args, n))
        for name, lib in libs.items():
            try:
                candidates[name] = w[name](lib)
            except Exception as exc:  # an optional library failing must not stop the run
                print(f"# {w['name']}: {name} skipped ({type(exc).__name__}: {exc})",
                      file=sys.stderr)
        _check(w, candidates)
        for fn in candidates.values():   # warm up: compile, jit, caches
            fn()
            fn()
        # torch and jax bring hundreds of thousands of objects: without this, the cyclic
        # garbage collector's full passes land on whichever library allocates containers
        gc.collect()
        gc.freeze()
        times = {name: [] for name in candidates}
        number = w["number"]
        names = list(candidates)
        for r in range(repeats):
            # the order turns each batch: what runs after a candidate pays for the caches it
            # left (after yota dynamic, W4's next candidate ran 4% slower, whichever it was)
            turn = r % len(names)
            for name in names[turn:] + names[:turn]:
                times[name].append(timed(candidates[name], number))
        med = {name: statistics.median(ts) for name, ts in times.items()}
        row = dict(name=w["name"], med=med, first=first)
        if w.get("memory"):
            ref = peak_memory(candidates["numpy"])
            row["memory"] = {n: peak_memory(candidates[n]) / ref
                             for n in ("yota static", "yota dynamic", "yota numba")
                             if n in candidates}
            row["memory_ref"] = ref
        rows.append(row)
        print(f"# {w['name']} done", file=sys.stderr)
    return rows, list(libs)


def _check(w, candidates):
    """Static and dynamic yota agree with the NumPy reference (a benchmark of wrong code is
    worthless)."""
    ref = w["numpy"]()
    ref_loss = float(ref[0])
    for name in ("yota static", "yota dynamic", "yota numba"):
        if name not in candidates:
            continue
        val, _ = candidates[name]()
        if not np.isclose(float(val), ref_loss, rtol=1e-4):
            raise SystemExit(f"{w['name']}: {name} loss {float(val)} != reference {ref_loss}")


def table(rows, libs):
    cols = ["yota static", "yota dynamic"] + (["yota numba"] if any(
        "yota numba" in r["med"] for r in rows) else []) + libs
    head = "| workload | NumPy by hand (us) | " + " | ".join(cols) + " |"
    lines = [head, "|" + "---|" * (len(cols) + 2)]
    for r in rows:
        ref = r["med"]["numpy"]
        cells = []
        for c in cols:
            t = r["med"].get(c)
            cells.append("n/a" if t is None else f"{t:,.1f} us ({t / ref:.2f}x)")
        lines.append(f"| {r['name']} | {ref:,.1f} | " + " | ".join(cells) + " |")
    firsts = [r for r in rows if r.get("first")]
    if firsts:
        lines += ["", "| workload | first call: " + " | ".join(firsts[0]["first"]) + " |",
                  "|---|" + "---|" * len(firsts[0]["first"])]
        for r in firsts:
            lines.append(f"| {r['name']} | " + " | ".join(
                f"{t:.2f} s" for t in r["first"].values()) + " |")
    mem = [r for r in rows if "memory" in r]
    for r in mem:
        lines.append("")
        lines.append(f"{r['name']} peak memory of one call, relative to NumPy by hand "
                     f"({r['memory_ref'] / 2**20:.1f} MiB): " + ", ".join(
                         f"{k} {v:.2f}x" for k, v in r["memory"].items()))
    return "\n".join(lines)


def blas_kernels():
    """Which BLAS (and which of its CPU kernels) ran, as threadpoolctl reports it."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return ""
    found = [f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')}"
             for i in threadpool_info() if i.get("user_api") == "blas"]
    return f"; BLAS: {', '.join(found)}" if found else ""


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=31)
    p.add_argument("--only", default="W1,W2,W3,W4")
    p.add_argument("--no-others", action="store_true", help="only NumPy and yota")
    p.add_argument("--numba", action="store_true",
                   help="add the yota-numba backend's column and first-call times")
    p.add_argument("--numba-first-calls", action="store_true",
                   help="only first-call times, in fresh processes: yota static, and yota "
                        "numba with a cold then a warm on-disk cache")
    p.add_argument("--first-call-child", nargs=2, metavar=("WORKLOAD", "BACKEND"),
                   help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.first_call_child:
        return first_call_child(*a.first_call_child)
    only = set(a.only.split(","))
    if "W2" in only:
        only |= {"W2-32", "W2-1024"}
    if a.numba_first_calls:
        print("first call (trace + compile or load) in a fresh process, one thread\n")
        print(fresh_first_calls(only))
        return
    rows, libs = run(a.repeats, only, not a.no_others, a.numba)
    print(f"numpy {np.__version__}, python {sys.version.split()[0]}, one thread, median of "
          f"{a.repeats} interleaved batches{blas_kernels()}\n")
    print(table(rows, libs))


if __name__ == "__main__":
    main()
