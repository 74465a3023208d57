"""Training a model: constant fields, dataclass models, opt.minimize, meta-learning through an
optimizer step, loaded state that does not fit, and what users see when something is wrong."""
import dataclasses
import os
import subprocess
import sys
import textwrap
import warnings

import attrs
import numpy as np
import pytest

import yota
from yota.errors import a_or_an
from yota.optim import SGD, Adam, RMSProp, sgd

MODES = [True, False]   # dynamic, static
IDS = ["dynamic", "static"]


@attrs.define
class Norm:
    W: np.ndarray
    eps: float = yota.constant_field(default=1e-5)


@dataclasses.dataclass
class Lin:
    W: np.ndarray
    b: float
    eps: float = dataclasses.field(default=1e-5, metadata={"yota": "constant"})


@dataclasses.dataclass(frozen=True)
class FrozenLin:
    W: np.ndarray
    b: np.ndarray
    scale: float = yota.constant_field(default=2.0, dataclass=True)


def norm_loss(m, x):
    return np.sum((m.W * x) ** 2) / np.sqrt(m.eps + np.sum(x * x))


def lin_loss(m, x, y):
    return np.mean((x @ m.W + m.b - y) ** 2) + m.eps


# --- item 6: constant fields -----------------------------------------------------------------
@pytest.mark.parametrize("dynamic", MODES, ids=IDS)
def test_a_constant_field_gets_no_gradient_and_is_never_updated(dynamic):
    m, x = Norm(np.ones(3)), np.arange(3.0)
    _, g = yota.grad(norm_loss, m, x, dynamic=dynamic)
    assert set(g[0]) == {("W",)}
    opt = Adam(0.5)
    for _ in range(50):
        m, value = opt.minimize(norm_loss, m, x, dynamic=dynamic)
    assert m.eps == 1e-5 and np.isfinite(value)
    assert set(opt.state) == {("W",)}


@pytest.mark.parametrize("dynamic", MODES, ids=IDS)
def test_a_constant_field_keys_static_mode_by_value(dynamic):
    x = np.arange(3.0)
    _, g1 = yota.grad(norm_loss, Norm(np.ones(3), eps=1.0), x, dynamic=dynamic)
    _, g2 = yota.grad(norm_loss, Norm(np.ones(3), eps=3.0), x, dynamic=dynamic)
    np.testing.assert_allclose(g1[0][("W",)], 2 * x * x / np.sqrt(1.0 + 5.0))
    np.testing.assert_allclose(g2[0][("W",)], 2 * x * x / np.sqrt(3.0 + 5.0))


def test_freeze_patterns_do_not_see_constant_fields():
    with pytest.raises(yota.InputError, match=r"freeze pattern 'eps' matches no float field"):
        SGD(0.1, freeze="eps")(Norm(np.ones(3)), {("W",): np.ones(3)})


# --- item 6: opt.minimize differentiates the model only -----------------------------------------
@pytest.mark.parametrize("dynamic", MODES, ids=IDS)
def test_minimize_differentiates_the_model_only(dynamic):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(8, 3)), rng.normal(size=8)
    m = Lin(rng.normal(size=3), 0.0)
    opt = SGD(0.1)
    new, value = opt.minimize(lin_loss, m, x, y, dynamic=dynamic)
    _, g = yota.grad(lin_loss, m, x, y, dynamic=dynamic, argnums=0)
    assert value == pytest.approx(lin_loss(m, x, y)) and opt.last_value == value
    np.testing.assert_allclose(new.W, m.W - 0.1 * g[0][("W",)])
    assert type(new) is Lin and new is not m and new.eps == m.eps

    def loss(m, x, z):   # object data: differentiating it would be refused
        return lin_loss(m, x, z.astype(float))

    z = y.astype(object)
    opt.minimize(loss, m, x, z, dynamic=dynamic)
    with pytest.raises(yota.InputError, match="object array as argument 2"):
        yota.grad(loss, m, x, z, dynamic=dynamic)


def test_minimize_takes_the_loss_first():
    with pytest.raises(TypeError, match=r"minimize: the first argument is the loss function, "
                                        r"got a Lin; call opt.minimize\(loss, model, \*data\)"):
        SGD(0.1).minimize(Lin(np.ones(2), 0.0), lin_loss, np.ones((1, 2)), np.ones(1))


# --- item 7: dataclasses ---------------------------------------------------------------------
@pytest.mark.parametrize("dynamic", MODES, ids=IDS)
@pytest.mark.parametrize("opt", [lambda: SGD(0.1, momentum=0.9), lambda: Adam(0.1),
                                 lambda: RMSProp(0.1)], ids=["sgd", "adam", "rmsprop"])
def test_dataclass_models_get_field_path_gradients_and_are_trained(dynamic, opt):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(16, 2)), rng.normal(size=16)
    for m in (Lin(np.zeros(2), 0.5), FrozenLin(np.zeros(2), np.array(0.5))):
        loss = lin_loss if type(m) is Lin else (
            lambda m, x, y: np.mean((m.scale * (x @ m.W) + m.b - y) ** 2))
        _, g = yota.grad(loss, m, x, y, dynamic=dynamic)
        assert set(g[0]) == {("W",), ("b",)}
        o, first = opt(), loss(m, x, y)
        for _ in range(30):
            m, value = o.minimize(loss, m, x, y, dynamic=dynamic)
        assert value < first and dataclasses.is_dataclass(m)
        assert (m.eps if type(m) is Lin else m.scale) == (1e-5 if type(m) is Lin else 2.0)


class Plain:
    def __init__(self):
        self.W = np.ones(3)


def plain_loss(p, x):
    return np.sum(p.W * x)


@pytest.mark.parametrize("dynamic", MODES, ids=IDS)
def test_a_plain_object_asked_for_is_an_error_that_says_why(dynamic):
    with pytest.raises(yota.InputError, match=r"argument 0 of plain_loss is a Plain, which yota "
                                              r"cannot differentiate.*attrs and dataclass.*"
                                              r"or a dataclass"):
        yota.grad(plain_loss, Plain(), np.ones(3), argnums=0, dynamic=dynamic)
    with pytest.raises(yota.InputError, match=r"argument 0 of .* has dtype int64"):
        yota.grad(lambda i, x: np.sum(x), np.arange(3), np.ones(3), argnums=0, dynamic=dynamic)


def test_a_plain_object_in_the_default_positions_warns_once_per_signature():
    def loss(p, x):
        return np.sum(p.W * x)

    with pytest.warns(RuntimeWarning) as rec:
        for dynamic in (True, True, False, False):
            _, g = yota.grad(loss, Plain(), np.ones(3), dynamic=dynamic)
            assert g[0] is None
    shown = [w for w in rec if "holding float arrays" in str(w.message)]
    assert len(shown) == 1
    assert shown[0].filename == __file__
    assert "is a Plain holding float arrays, which yota does not walk" in str(shown[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yota.grad(loss, Plain(), np.ones(3), argnums=1)   # not asked: no warning


def test_sgd_on_a_model_yota_does_not_walk_says_why_not_argnum():
    g = yota.grad(plain_loss, Plain(), np.ones(3), argnums=1)
    with pytest.raises(yota.InputError, match=r"argument 0 of the grad call was not "
                                              r"differentiated: the model is a Plain, which yota "
                                              r"does not walk.*or a dataclass$"):
        sgd(Plain(), g, lr=0.1)


# --- item 8: meta-learning -------------------------------------------------------------------
def _meta(kind):
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(6, 3)), rng.normal(size=6)
    x2, y2 = rng.normal(size=(6, 3)), rng.normal(size=6)

    def inner(m, x, y):
        return np.mean((x @ m.W + m.b - y) ** 2)

    def meta(m0, lr, dynamic):
        opt = SGD(lr, momentum=0.9) if kind == "sgd" else Adam(lr)
        m = m0
        for _ in range(2):
            m, _ = opt.minimize(inner, m, x, y, dynamic=dynamic)
        return inner(m, x2, y2)

    return meta, FrozenLin(rng.normal(size=3), np.array(0.1))


@pytest.mark.parametrize("outer", MODES, ids=["outer-dynamic", "outer-static"])
@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_the_loss_after_optimizer_steps_differentiates_wrt_model_and_lr(kind, outer):
    meta, m0 = _meta(kind)
    lr, h = 0.05, 1e-6
    value, g = yota.grad(meta, m0, lr, outer, argnums=(0, 1), dynamic=outer)
    assert value == pytest.approx(meta(m0, lr, True))
    fd_lr = (meta(m0, lr + h, True) - meta(m0, lr - h, True)) / (2 * h)
    assert g[1] == pytest.approx(fd_lr, rel=1e-5)
    for i in range(3):
        e = np.zeros(3)
        e[i] = h
        up, down = dataclasses.replace(m0, W=m0.W + e), dataclasses.replace(m0, W=m0.W - e)
        fd = (meta(up, lr, True) - meta(down, lr, True)) / (2 * h)
        assert g[0][("W",)][i] == pytest.approx(fd, rel=1e-5, abs=1e-8)


# --- item 9: loaded state that does not fit -------------------------------------------------------
def test_loaded_state_of_another_shape_names_the_path_and_both_shapes():
    opt = Adam(0.1)
    small = Lin(np.ones(2), 0.0)
    opt(small, {("W",): np.ones(2), ("b",): 1.0})
    other = Adam(0.1)
    other.load_state_dict(opt.state_dict())
    with pytest.raises(yota.InputError, match=r"Adam: the loaded state 'm' for W has shape "
                                              r"\(2,\) but the parameter \('W',\) has shape "
                                              r"\(5,\)"):
        other(Lin(np.ones(5), 0.0), {("W",): np.ones(5), ("b",): 1.0})
    again = Adam(0.1)
    again.load_state_dict(opt.state_dict())
    again(small, {("W",): np.ones(2), ("b",): 1.0})   # the right shapes load as before


# --- what users see ---------------------------------------------------------------------------
def _run(code):
    env = dict(os.environ, PYTHONWARNINGS="default")
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=env, timeout=120)


def test_a_static_failure_is_shown_once_not_chained():
    out = _run("""
        import numpy as np, yota
        def f(x):
            return np.sum(x) + undefined_name
        yota.grad(f, np.ones(3))
    """)
    assert out.returncode == 1
    assert out.stderr.count("NameError: name 'undefined_name' is not defined") == 1
    assert "During handling" not in out.stderr


def test_the_fallback_after_too_many_variants_is_reported_once_at_the_users_line():
    out = _run("""
        import numpy as np, yota
        def f(x):
            return np.sum(x[:int(np.argmax(x)) + 1] ** 2)
        for i in range(12):
            x = np.zeros(20); x[i] = 1.0
            yota.grad(f, x)
    """)
    assert out.stderr.count("falls back to dynamic mode") == 1, out.stderr
    assert out.stderr.startswith("<string>:7: RuntimeWarning: yota: f falls back"), out.stderr


@pytest.mark.parametrize("word, expected", [
    ("int", "an int"), ("float", "a float"), ("Adam", "an Adam"), ("ndarray", "an ndarray"),
    ("uint8", "a uint8"), ("SGD", "an SGD"), ("list", "a list"), ("object", "an object")])
def test_a_or_an(word, expected):
    assert a_or_an(word) == expected
