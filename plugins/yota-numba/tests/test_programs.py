"""Whole programs through the numba backend: random elementwise chains with their gradients
(float64 and float32), transforms, programs split by primitives without a numba lowering,
guards, and the benchmark's workloads in small. Compared with the "numpy" code generator's
function and the interpreter, on the traced inputs and on new ones."""
import numpy as np
import pytest

import yota
from numba_testing import VALUE, compiled

UNARY = [np.sin, np.cos, np.tanh, np.exp, lambda a: np.log(np.abs(a) + 1.0),
         lambda a: a * a, np.negative, lambda a: np.sqrt(np.abs(a) + 0.5),
         lambda a: np.maximum(a, 0.1), lambda a: np.where(a > 0, a, 0.5 * a),
         lambda a: 1.0 / (1.0 + np.exp(-a)), lambda a: a ** 3]
BINARY = [np.add, np.subtract, np.multiply, lambda a, b: a / (np.abs(b) + 1.0),
          np.maximum, np.minimum, lambda a, b: a * 0.5 + b * 2]
SHAPES = [(4, 3), (3,), (4, 1), ()]


def random_chain(seed):
    """A loss over a random chain of elementwise steps on broadcasting inputs."""
    rng = np.random.default_rng(seed)
    n_inputs = rng.integers(1, 4)
    shapes = [SHAPES[0]] + [SHAPES[rng.integers(len(SHAPES))] for _ in range(n_inputs - 1)]
    steps = []
    for _ in range(rng.integers(3, 9)):
        if rng.random() < 0.5:
            steps.append(("u", int(rng.integers(len(UNARY))), int(rng.integers(8))))
        else:
            steps.append(("b", int(rng.integers(len(BINARY))), int(rng.integers(8)),
                          int(rng.integers(8))))
    weights = rng.standard_normal(len(steps))

    def loss(*xs):
        vals = list(xs)
        for s in steps:
            if s[0] == "u":
                vals.append(UNARY[s[1]](vals[s[2] % len(vals)]))
            else:
                vals.append(BINARY[s[1]](vals[s[2] % len(vals)], vals[s[3] % len(vals)]))
        total = 0.0
        for w, v in zip(weights, vals[len(xs):]):
            total = total + float(w) * np.sum(v)
        return total

    def draw(r, dtype):
        return [r.standard_normal(s).astype(dtype) if s else dtype(r.standard_normal())
                for s in shapes]

    return loss, draw


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_random_chains(seed, dtype):
    loss, draw = random_chain(seed)
    c = compiled(("chain", seed, dtype), loss, draw(np.random.default_rng(seed), dtype))
    rtol = 2e-3 if dtype is np.float32 else 1e-9
    c.check(rtol=rtol, atol=1e-5 if dtype is np.float32 else 1e-12)
    c.check(draw(np.random.default_rng(seed + 100), dtype), rtol=rtol,
            atol=1e-5 if dtype is np.float32 else 1e-12)


def _mlp(W1, b1, W2, X):
    h = np.tanh(X @ W1 + b1)
    return np.mean((h @ W2) ** 2)


def test_value_and_grad_and_jacobian():
    rng = np.random.default_rng(3)
    args = (rng.standard_normal((5, 7)), rng.standard_normal(7), rng.standard_normal((7, 2)),
            rng.standard_normal((4, 5)))
    vg = yota.value_and_grad(_mlp, argnums=(0, 1, 2))
    c = compiled("vg", _mlp, args, spec=vg.transform, argnums=vg.argnums)
    c.check()
    c.check([rng.standard_normal(np.shape(a)) for a in args])

    def f(x):
        return np.exp(np.sin(x) * 2.0) + x * x

    jac = yota.jacobian(f)
    c = compiled("jac", f, (rng.standard_normal(6),), spec=jac.transform, argnums=jac.argnums)
    c.check()
    c.check([rng.standard_normal(6)])


def _split(x):
    y = np.cumsum(np.sin(x) * 2.0 + 1.0)         # cumsum has no numba lowering: NumPy step
    return np.sum(np.tanh(y) * y + x)


def test_split_by_unlowered_primitive():
    x = np.random.default_rng(4).standard_normal(9)
    c = compiled("split", _split, (x,))
    assert "cumsum" in c.source.split("# numba kernel")[0]
    assert c.source.count("# numba kernel") >= 2
    c.check()
    c.check([np.random.default_rng(5).standard_normal(9)])


def _branchy(x):
    y = np.sin(x) * 3.0 + 1.0
    if np.sum(y) > 0:                             # a guard on a fused value
        return np.sum(y * y)
    return np.sum(-y)


def test_guards_return_the_failing_index():
    x = np.full(6, 0.5)
    c = compiled("branchy", _branchy, (x,))
    c.check()
    flipped = c.inputs_for([np.full(6, -1.5)])
    assert isinstance(c.numba(*flipped), int)
    assert c.numba(*flipped) == c.numpy(*flipped)


def _w3(x):
    for _ in range(20):
        x = np.sin(x) * 1.01 + 0.1 * x
    return np.sum(x)


def test_elementwise_chain_is_one_loop():
    x = np.random.default_rng(6).random(10)
    c = compiled("w3", _w3, (x,))
    assert c.source.count("# numba kernel") == 1
    host = c.source.split("# numba kernel")[0]
    assert "sin" not in host
    c.check()
    c.check([np.random.default_rng(7).random(10)])


def _tanh_mlp(W, b, X):
    return np.sum(np.tanh(X @ W + b) * 0.5)


def test_float32_mlp_stays_float32():
    rng = np.random.default_rng(8)
    args = (rng.standard_normal((6, 4)).astype(np.float32),
            rng.standard_normal(4).astype(np.float32),
            rng.standard_normal((3, 6)).astype(np.float32))
    c = compiled("mlp32", _tanh_mlp, args)
    val, g = c.check(rtol=1e-4, atol=1e-6)
    assert all(a.dtype == np.float32 for a in g)


def test_backend_object():
    from yota.plugins import PLUGINS, ensure_loaded
    from yota.registry import REGISTRY, Registration
    from yota_numba import BACKEND, yota_register_backends
    assert BACKEND.name == "numba"
    assert BACKEND.available() == (True, "")
    registration = Registration("yota-numba")
    yota_register_backends(registration)
    assert registration.backends == {"numba": BACKEND}
    ensure_loaded()   # installed through its entry point, as users get it
    assert PLUGINS["yota-numba"].status == "loaded"
    assert REGISTRY.backends["numba"] == (BACKEND, "yota-numba")
    c = compiled("w3", _w3, (np.random.default_rng(6).random(10),))
    assert c.source.startswith("def fused(")


def _tanh_chain(x):
    return np.sum(np.tanh(x * 2.0 + 1.0) * 3.0)


def test_cost_model_keeps_big_tanh_on_numpy():
    rng = np.random.default_rng(9)
    big = compiled("tanh big", _tanh_chain, (rng.standard_normal(4096),))
    small = compiled("tanh small", _tanh_chain, (rng.standard_normal(16),))
    assert "tanh(" in big.source.split("# numba kernel")[0]       # NumPy's SIMD tanh
    assert "tanh" not in small.source.split("# numba kernel")[0]   # fused
    big.check()
    small.check()


@pytest.mark.parametrize("name", ["exp", "tanh", "sin", "cos"])
def test_cost_model_splits_transcendental_chains_from_a_few_hundred_elements(name):
    """Fused exp/tanh lose to NumPy's SIMD loops from about 128 elements, sin/cos from about
    450 (measured in cost.py): from there on the function is a NumPy step between loops."""
    from yota_numba.cost import SIMD_IN_NUMPY

    fn = getattr(np, name)
    assert 64 <= SIMD_IN_NUMPY[fn] <= 1024

    def chain(x):
        for _ in range(3):
            x = fn(x) * 1.01 + 0.1 * x
        return np.sum(x)

    rng = np.random.default_rng(4)
    for n, on_numpy in ((SIMD_IN_NUMPY[fn] - 1, False), (SIMD_IN_NUMPY[fn], True), (300, None)):
        c = compiled((name, n), chain, (rng.standard_normal(n) * 0.5,))
        host = c.source.split("# numba kernel")[0]
        if on_numpy is not None:
            assert (f"{name}(" in host) is on_numpy, host
        c.check()


def test_python_complex_and_float_parameters_keep_their_values():
    """The host function shares its parameter lines with the numpy backend's (a Python complex
    argument became float64 here, dropping the imaginary part, before they were shared)."""
    import warnings

    import yota

    def f(z, w, x):
        return np.sum(np.abs(z * x) ** 2) + w * np.sum(x)

    args = (1.0 + 2.0j, 0.5, np.arange(3.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # no fall-back to the numpy backend
        value, g = yota.grad(f, *args, backend="numba")
    dvalue, dg = yota.grad(f, *args, dynamic=True)
    assert value == dvalue
    assert type(g[0]) is complex and g[0] == dg[0]
    assert type(g[1]) is float and g[1] == dg[1]
    np.testing.assert_allclose(g[2], dg[2])


def _transpose_pair(x):
    y = x @ x                                     # a fresh buffer that dies in the loop...
    return y * 2.0 + y.T * 3.0                    # ...which also reads it transposed


def test_an_output_never_overwrites_a_buffer_the_loop_reads_through_a_view():
    # found by the fuzzer (eigvalsh's gradient, v47 * c + v47.transpose(...)): the loop wrote
    # its output over y while reading y.T, which reads other elements of the same buffer
    x = np.arange(9.0).reshape(3, 3)
    c = compiled("transpose pair", _transpose_pair, (x,), spec=VALUE)
    c.check()
    c.check([np.random.default_rng(8).standard_normal((3, 3))])
