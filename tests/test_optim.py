"""yota.optim: each optimizer against a hand-written NumPy update, models of every shape,
schedules, clipping, freezing, saved state, and the errors users meet."""
import math

import attrs
import numpy as np
import pytest

import yota
from yota import GradientResult, grad
from yota.optim import (SGD, Adam, AdamW, RMSProp, constant, cosine, exponential, sgd,
                        step_decay)


@attrs.define
class Dense:
    W: np.ndarray
    b: np.ndarray
    name: str = "dense"


@attrs.frozen
class FrozenDense:
    W: np.ndarray
    b: np.ndarray


@attrs.define
class Net:
    layers: list
    head: FrozenDense
    scale: float
    steps: np.ndarray = attrs.Factory(lambda: np.array([1, 2]))


def _dense(rng, dtype=np.float64, cls=Dense):
    return cls(rng.normal(size=(3, 2)).astype(dtype), rng.normal(size=2).astype(dtype))


def _net(rng):
    return Net([_dense(rng), _dense(rng)], _dense(rng, cls=FrozenDense), 0.5)


def _grads_like(model, rng, skip=()):
    """A random gradient dict for every float leaf of ``model`` (as grad would return)."""
    out = {}
    for path, leaf in yota.tree.leaves(model):
        if path in skip:
            continue
        if isinstance(leaf, np.ndarray) and leaf.dtype.kind == "f":
            out[path] = rng.normal(size=leaf.shape).astype(leaf.dtype)
        elif isinstance(leaf, float):
            out[path] = float(rng.normal())
    return out


# --- hand-written references, one parameter at a time, PyTorch's documented updates -----------
def ref_sgd(p, gs, lr, momentum=0.0, nesterov=False, wd=0.0):
    buf = None
    for g in gs:
        g = g + wd * p
        if momentum:
            buf = g if buf is None else momentum * buf + g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
    return p


def ref_adam(p, gs, lr, b1=0.9, b2=0.999, eps=1e-8, wd=0.0, decoupled=False):
    m = np.zeros_like(p)
    v = np.zeros_like(p)
    for t, g in enumerate(gs, start=1):
        if decoupled:
            p = p * (1 - lr * wd)
        else:
            g = g + wd * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        m_hat = m / (1 - b1 ** t)
        v_hat = v / (1 - b2 ** t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
    return p


def ref_rmsprop(p, gs, lr, alpha=0.99, eps=1e-8, momentum=0.0, wd=0.0):
    sq = np.zeros_like(p)
    buf = np.zeros_like(p)
    for g in gs:
        g = g + wd * p
        sq = alpha * sq + (1 - alpha) * g ** 2
        step = g / (np.sqrt(sq) + eps)
        if momentum:
            buf = momentum * buf + step
            step = buf
        p = p - lr * step
    return p


CASES = [
    ("sgd", lambda: SGD(0.1), lambda p, gs: ref_sgd(p, gs, 0.1)),
    ("sgd-wd", lambda: SGD(0.1, weight_decay=0.05), lambda p, gs: ref_sgd(p, gs, 0.1, wd=0.05)),
    ("momentum", lambda: SGD(0.05, momentum=0.9),
     lambda p, gs: ref_sgd(p, gs, 0.05, momentum=0.9)),
    ("nesterov", lambda: SGD(0.05, momentum=0.8, nesterov=True, weight_decay=0.01),
     lambda p, gs: ref_sgd(p, gs, 0.05, momentum=0.8, nesterov=True, wd=0.01)),
    ("adam", lambda: Adam(0.01), lambda p, gs: ref_adam(p, gs, 0.01)),
    ("adam-wd", lambda: Adam(0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
     lambda p, gs: ref_adam(p, gs, 0.02, 0.8, 0.99, 1e-6, wd=0.1)),
    ("adamw", lambda: AdamW(0.01), lambda p, gs: ref_adam(p, gs, 0.01, wd=0.01, decoupled=True)),
    ("adamw-wd", lambda: AdamW(0.03, weight_decay=0.2),
     lambda p, gs: ref_adam(p, gs, 0.03, wd=0.2, decoupled=True)),
    ("rmsprop", lambda: RMSProp(0.01), lambda p, gs: ref_rmsprop(p, gs, 0.01)),
    ("rmsprop-momentum", lambda: RMSProp(0.01, alpha=0.9, momentum=0.5, weight_decay=0.1),
     lambda p, gs: ref_rmsprop(p, gs, 0.01, alpha=0.9, momentum=0.5, wd=0.1)),
]


@pytest.mark.parametrize("name,make,ref", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matches_numpy_reference_over_several_steps(name, make, ref, dtype):
    rng = np.random.default_rng(0)
    model = _dense(rng, dtype)
    start = attrs.evolve(model)
    opt = make()
    seq = [_grads_like(model, rng) for _ in range(6)]
    for g in seq:
        model = opt(model, g)
    for field in ("W", "b"):
        got = getattr(model, field)
        want = ref(getattr(start, field).astype(np.float64),
                   [g[(field,)].astype(np.float64) for g in seq])
        assert got.dtype == dtype
        rtol = 1e-12 if dtype == np.float64 else 2e-5
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol)
    assert opt.step_count == 6
    # the reference must be able to fail: one step fewer is far away
    assert not np.allclose(model.W, ref(start.W, [g[("W",)] for g in seq[:-1]]), rtol=1e-3)


@pytest.mark.parametrize("name,make,ref", CASES, ids=[c[0] for c in CASES])
def test_float_fields_stay_python_floats(name, make, ref):
    @attrs.define
    class Scalar:
        a: float

    opt = make()
    model = Scalar(0.7)
    gs = [0.3, -1.2, 0.5]
    for g in gs:
        model = opt(model, {("a",): g})
    assert type(model.a) is float
    assert math.isclose(model.a, float(ref(np.float64(0.7), [np.float64(g) for g in gs])),
                        rel_tol=1e-12)


# --- what the optimizer accepts ----------------------------------------------------------------
@attrs.define
class Line:
    a: np.ndarray
    c: float


def line_loss(m, x, y):
    r = m.a * x + m.c - y
    return sum(r[i] * r[i] for i in range(len(x)))  # elementwise and indexing only


def _line_data():
    x = np.array([0.0, 1.0, 2.0, 3.0])
    return x, 2.0 * x - 1.0


def test_sgd_one_liner_takes_what_grad_returns():
    x, y = _line_data()
    model = Line(np.array([0.0]), 0.0)
    losses = []
    for _ in range(200):
        losses.append(line_loss(model, x, y))
        model = sgd(model, grad(line_loss, model, x, y, dynamic=True), lr=0.02)
    assert losses[-1] < 1e-3 * losses[0]
    np.testing.assert_allclose(model.a, [2.0], atol=0.02)
    assert abs(model.c + 1.0) < 0.05


def test_optimizer_records_the_loss_value_and_step_returns_it():
    x, y = _line_data()
    model = Line(np.array([0.0]), 0.0)
    opt = Adam(0.1)
    assert opt.last_value is None
    expected = line_loss(model, x, y)
    model = opt(model, grad(line_loss, model, x, y, dynamic=True))
    assert opt.last_value == pytest.approx(expected)
    expected = line_loss(model, x, y)
    model, value = opt.step(model, grad(line_loss, model, x, y, dynamic=True))
    assert value == pytest.approx(expected)
    # a bare GradientResult or path dict carries no value
    _, g = grad(line_loss, model, x, y, dynamic=True)
    model, value = opt.step(model, g)
    assert value is None and opt.last_value is None


def test_value_and_grad_output_is_accepted_with_its_aux():
    x, y = _line_data()
    model = Line(np.array([0.5]), 0.25)
    vg = yota.value_and_grad(lambda m, x, y: (line_loss(m, x, y), "aux"), has_aux=True,
                             dynamic=True)
    opt = SGD(0.01)
    new = opt(model, vg(model, x, y))
    assert opt.last_value == (pytest.approx(line_loss(model, x, y)), "aux")
    assert new.a[0] != model.a[0]
    plain = SGD(0.01)(model, yota.gradient(line_loss)(model, x, y))   # the gradient alone
    np.testing.assert_allclose(plain.a, new.a)
    assert plain.c == pytest.approx(new.c)


@pytest.mark.parametrize("form", ["tuple", "result", "dict"])
def test_gradient_forms_give_the_same_update(form):
    x, y = _line_data()
    model = Line(np.array([0.5]), 0.25)
    out = grad(line_loss, model, x, y, dynamic=True)
    given = {"tuple": out, "result": out[1], "dict": out[1][0]}[form]
    new = sgd(model, given, lr=0.1)
    np.testing.assert_allclose(new.a, model.a - 0.1 * out[1][0][("a",)])
    assert new.c == pytest.approx(model.c - 0.1 * out[1][0][("c",)])


def test_argnum_picks_the_model_among_the_arguments():
    x, y = _line_data()
    model = Line(np.array([0.5]), 0.25)

    def loss(x, m, y):
        return line_loss(m, x, y)

    out = grad(loss, x, model, y, dynamic=True)
    new = SGD(0.1)(model, out, argnum=1)
    np.testing.assert_allclose(new.a, model.a - 0.1 * out[1][1][("a",)])
    with pytest.raises(yota.InputError, match=r"SGD: the model is a Line but its gradient is an "
                                              r"ndarray.*argnum="):
        SGD(0.1)(model, out)  # argnum 0 is x's gradient


def test_bare_array_and_float_models():
    p = np.array([1.0, 2.0])
    out = grad(lambda p: p[0] * p[1], p, dynamic=True)
    new = sgd(p, out, lr=0.5)
    np.testing.assert_allclose(new, [1.0 - 0.5 * 2.0, 2.0 - 0.5 * 1.0])
    np.testing.assert_allclose(p, [1.0, 2.0])
    assert sgd(3.0, grad(lambda s: s * s, 3.0, dynamic=True), lr=0.25) == pytest.approx(1.5)


# --- mutable, frozen, nested and container models -----------------------------------------------
def test_mutable_model_is_not_updated_in_place():
    rng = np.random.default_rng(1)
    model = _dense(rng)
    W, b = model.W, model.b
    W0, b0 = W.copy(), b.copy()
    new = Adam(0.1)(model, _grads_like(model, rng))
    assert new is not model and type(new) is Dense and new.name == "dense"
    assert model.W is W and model.b is b          # the old model still holds its arrays...
    np.testing.assert_array_equal(W, W0)          # ...which were not written to
    np.testing.assert_array_equal(b, b0)
    assert not np.allclose(new.W, W0)
    assert not np.shares_memory(new.W, W)


def test_frozen_model_gets_a_new_instance():
    rng = np.random.default_rng(2)
    model = _dense(rng, cls=FrozenDense)
    g = _grads_like(model, rng)
    new = SGD(0.1)(model, g)
    assert type(new) is FrozenDense and new is not model
    np.testing.assert_allclose(new.W, model.W - 0.1 * g[("W",)])
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        new.W = model.W


def test_nested_model_updates_every_float_leaf_and_keeps_the_rest():
    rng = np.random.default_rng(3)
    model = _net(rng)
    g = _grads_like(model, rng)
    assert ("steps",) not in g and ("layers", 1, "W") in g and ("scale",) in g
    new = SGD(0.1)(model, g)
    for path, gp in g.items():
        np.testing.assert_allclose(yota.tree.get_path(new, path),
                                   yota.tree.get_path(model, path) - 0.1 * gp)
    assert type(new.head) is FrozenDense and type(new.layers) is list
    assert new.steps is model.steps                 # integer field: same object
    assert new.layers[0].name == "dense"


def test_field_without_gradient_is_left_as_it_is():
    rng = np.random.default_rng(4)
    model = _net(rng)
    g = _grads_like(model, rng, skip={("layers", 0, "b"), ("head", "W")})
    opt = Adam(0.1)
    new = opt(model, g)
    assert new.layers[0].b is model.layers[0].b
    assert new.head.W is model.head.W
    assert ("layers", 0, "b") not in opt.state and ("layers", 0, "W") in opt.state


@pytest.mark.parametrize("container", [list, tuple, dict])
def test_containers_of_models(container):
    rng = np.random.default_rng(5)
    models = [_dense(rng), _dense(rng, cls=FrozenDense)]
    model = dict(enumerate(models)) if container is dict else container(models)
    g = _grads_like(model, rng)
    assert (1, "W") in g
    new = RMSProp(0.01)(model, g)
    assert type(new) is container
    np.testing.assert_allclose(new[1].W, ref_rmsprop(models[1].W, [g[(1, "W")]], 0.01))
    assert type(new[1]) is FrozenDense


def test_list_of_models_trains_with_grad():
    x, y = _line_data()

    def loss(ms, x, y):
        r = ms[0].a * x + ms[1].a * x + ms[0].c - y
        return sum(r[i] * r[i] for i in range(len(x)))

    models = [Line(np.array([0.0]), 0.0), Line(np.array([0.5]), 0.0)]
    opt = SGD(0.01, momentum=0.5)
    first = loss(models, x, y)
    for _ in range(50):
        models = opt(models, grad(loss, models, x, y, dynamic=True))
    assert opt.last_value < 1e-2 * first
    assert models[1].c == 0.0       # does not reach the loss: no gradient, untouched


# --- schedules -----------------------------------------------------------------------------------
def test_schedule_values():
    assert [constant(0.3)(s) for s in (0, 10)] == [0.3, 0.3]
    assert [step_decay(1.0, every=2, factor=0.5)(s) for s in range(5)] == [1, 1, .5, .5, .25]
    ex = exponential(2.0, rate=0.5, every=2)
    assert [ex(s) for s in (0, 1, 2, 4)] == pytest.approx([2.0, 2 * 0.5 ** 0.5, 1.0, 0.5])
    cs = cosine(1.0, total=10, warmup=2, final=0.1)
    got = [cs(s) for s in range(12)]
    assert got[:2] == pytest.approx([0.5, 1.0])                 # linear warm-up
    assert got[2] == pytest.approx(1.0)                          # peak after warm-up
    assert got[6] == pytest.approx(0.1 + 0.9 * 0.5)              # halfway down
    assert got[10:] == pytest.approx([0.1, 0.1])                 # floor after total
    assert all(a >= b for a, b in zip(got[1:], got[2:]))         # decays monotonically
    assert cosine(1.0, total=4)(0) == 1.0
    assert repr(cs) == "cosine(lr=1.0, total=10, warmup=2, final=0.1)"


def test_optimizer_follows_its_schedule_step_by_step():
    schedule = step_decay(0.1, every=2, factor=0.5)
    opt = SGD(schedule)
    model = Line(np.array([1.0]), 0.0)
    a = 1.0
    for step in range(5):
        assert opt.current_lr() == schedule(step)
        model = opt(model, {("a",): np.array([1.0])})
        a -= schedule(step)
    assert model.a[0] == pytest.approx(a)
    # any callable of the step works too
    opt = Adam(lambda step: 0.0 if step == 0 else 0.1)
    model = opt(Line(np.array([1.0]), 0.0), {("a",): np.array([1.0])})
    assert model.a[0] == 1.0


@pytest.mark.parametrize("bad, match", [
    (lambda: step_decay(0.1, every=0), r"step_decay: every must be an integer >= 1, got 0"),
    (lambda: cosine(0.1, total=5, warmup=5), r"cosine: warmup=5 must be smaller than total=5"),
    (lambda: exponential(-1.0, 0.5), r"exponential: lr must be a number >= 0, got -1.0"),
    (lambda: SGD(lambda s: -1.0)(Line(np.array([1.0]), 0.0), {("a",): np.array([1.0])}),
     r"SGD: lr schedule's value at step 0 must be a number >= 0, got -1.0"),
])
def test_schedule_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        bad()


# --- clipping and weight decay ---------------------------------------------------------------
def test_clip_by_global_norm():
    model = {"a": np.zeros(2), "b": np.zeros(1)}
    g = {("a",): np.array([3.0, 0.0]), ("b",): np.array([4.0])}    # global norm 5
    opt = SGD(1.0, clip_norm=1.0)
    new = opt(model, g)
    np.testing.assert_allclose(new["a"], [-0.6, 0.0])
    np.testing.assert_allclose(new["b"], [-0.8])
    assert opt.last_grad_norm == pytest.approx(5.0)
    new = SGD(1.0, clip_norm=10.0)(model, g)                       # under the limit: as is
    np.testing.assert_allclose(new["b"], [-4.0])


def test_clip_by_value_then_norm():
    model = {"a": np.zeros(3)}
    g = {("a",): np.array([-5.0, 0.5, 2.0])}
    np.testing.assert_allclose(SGD(1.0, clip_value=1.0)(model, g)["a"], [1.0, -0.5, -1.0])
    # value first: [-1, .5, 1] has norm 1.5; then scaled to norm 0.75
    new = SGD(1.0, clip_value=1.0, clip_norm=0.75)(model, g)
    np.testing.assert_allclose(new["a"], -np.array([-1.0, 0.5, 1.0]) * 0.5)


def test_clipping_keeps_float32():
    model = {"a": np.ones(3, np.float32)}
    g = {("a",): np.array([10.0, -10.0, 1.0], np.float32)}
    new = Adam(0.1, clip_norm=1.0, clip_value=5.0)(model, g)
    assert new["a"].dtype == np.float32


# --- freezing --------------------------------------------------------------------------------
@pytest.mark.parametrize("freeze, frozen", [
    (("layers",), {("layers", 0, "W"), ("layers", 0, "b"), ("layers", 1, "W"),
                   ("layers", 1, "b")}),
    (("layers", 1), {("layers", 1, "W"), ("layers", 1, "b")}),
    (("layers", "*", "b"), {("layers", 0, "b"), ("layers", 1, "b")}),
    ("head", {("head", "W"), ("head", "b")}),
    ("layers.*.W", {("layers", 0, "W"), ("layers", 1, "W")}),
    ([("head",), "scale"], {("head", "W"), ("head", "b"), ("scale",)}),
    (lambda path: path[-1] == "b", {("layers", 0, "b"), ("layers", 1, "b"), ("head", "b")}),
])
def test_freeze_by_path_pattern(freeze, frozen):
    rng = np.random.default_rng(6)
    model = _net(rng)
    g = _grads_like(model, rng)
    opt = Adam(0.1, freeze=freeze)
    new = opt(model, g)
    for path in g:
        same = yota.tree.get_path(new, path) is yota.tree.get_path(model, path)
        assert same == (path in frozen), path
    assert set(opt.state) == set(g) - frozen


def test_frozen_parameters_are_left_out_of_the_clipping_norm():
    model = {"enc": np.zeros(1), "dec": np.zeros(1)}
    g = {("enc",): np.array([100.0]), ("dec",): np.array([0.5])}
    opt = SGD(1.0, clip_norm=1.0, freeze=("enc",))
    new = opt(model, g)
    np.testing.assert_allclose(new["dec"], [-0.5])
    assert opt.last_grad_norm == pytest.approx(0.5)


def test_freeze_pattern_that_matches_nothing_is_an_error():
    rng = np.random.default_rng(7)
    model = _net(rng)
    with pytest.raises(yota.InputError, match=r"freeze pattern \('layer',\) matches no float "
                                              r"field of the model \(fields: layers\.0\.W"):
        SGD(0.1, freeze=("layer",))(model, _grads_like(model, rng))
    with pytest.raises(ValueError, match=r"freeze pattern 3 is an int; use a tuple path prefix"):
        SGD(0.1, freeze=[3])


# --- saved state ---------------------------------------------------------------------------
@pytest.mark.parametrize("make", [lambda: SGD(0.05, momentum=0.9), lambda: Adam(0.01),
                                  lambda: AdamW(0.01), lambda: RMSProp(0.01, momentum=0.3)],
                         ids=["sgd", "adam", "adamw", "rmsprop"])
def test_state_round_trips_through_np_savez(make, tmp_path):
    rng = np.random.default_rng(8)
    model = _net(rng)
    seq = [_grads_like(model, rng) for _ in range(5)]
    straight = make()
    m1 = model
    for g in seq:
        m1 = straight(m1, g)

    first = make()
    m2 = model
    for g in seq[:3]:
        m2 = first(m2, g)
    saved = first.state_dict()
    assert all(isinstance(v, np.ndarray) for v in saved.values())
    np.savez(tmp_path / "opt.npz", **saved)
    second = make()
    with np.load(tmp_path / "opt.npz") as f:
        second.load_state_dict(f)
    assert second.step_count == 3
    for g in seq[3:]:
        m2 = second(m2, g)
    for path, _ in seq[0].items():
        np.testing.assert_array_equal(yota.tree.get_path(m2, path),
                                      yota.tree.get_path(m1, path))
    # without the restored state the result differs (the test can fail)
    m3 = model
    fresh = make()
    for g in seq[:3]:
        m3 = make()(m3, g)
    for g in seq[3:]:
        m3 = fresh(m3, g)
    assert not np.allclose(m3.layers[0].W, m1.layers[0].W)


def test_state_dict_is_a_copy_and_names_paths():
    opt = SGD(0.1, momentum=0.9)
    model = {"w": np.zeros(2)}
    model = opt(model, {("w",): np.ones(2)})
    d = opt.state_dict()
    assert set(d) == {"optimizer", "step", 'momentum:["w"]'}
    d['momentum:["w"]'][:] = 99.0
    assert opt.state[("w",)]["momentum"][0] == 1.0


def test_loading_another_optimizers_state_is_an_error():
    opt = Adam(0.1)
    opt({"w": np.zeros(2)}, {("w",): np.ones(2)})
    with pytest.raises(ValueError, match=r"SGD.load_state_dict: the state was saved by Adam, "
                                         r"not SGD; load it into an Adam"):
        SGD(0.1).load_state_dict(opt.state_dict())
    with pytest.raises(ValueError, match=r"no 'step' entry"):
        Adam(0.1).load_state_dict({})


# --- errors --------------------------------------------------------------------------------
def test_gradient_for_another_model_is_an_error():
    rng = np.random.default_rng(9)
    model = _dense(rng)
    with pytest.raises(yota.InputError, match=r"SGD: the gradient has an entry for path "
                                              r"\('layers', 0, 'W'\), which the model does not"):
        sgd(model, {("layers", 0, "W"): np.ones((3, 2))}, lr=0.1)
    with pytest.raises(yota.InputError, match=r"gradient for \('W',\) has shape \(2, 3\) but "
                                              r"the parameter has shape \(3, 2\)"):
        sgd(model, {("W",): np.ones((2, 3))}, lr=0.1)
    with pytest.raises(yota.InputError, match=r"argument 1 of the grad call was not "
                                              r"differentiated"):
        sgd(model, GradientResult([{}, None]), lr=0.1, argnum=1)
    with pytest.raises(yota.InputError, match=r"argnum=3 but the gradient holds 1 argument"):
        sgd(model, GradientResult([{}]), lr=0.1, argnum=3)
    with pytest.raises(yota.InputError, match=r"gradient is a dict of field paths but the model "
                                              r"is an ndarray"):
        sgd(np.ones(2), {("a",): np.ones(2)}, lr=0.1)


@pytest.mark.parametrize("bad, match", [
    (lambda: SGD(-0.1), r"SGD: lr must be a number >= 0, got -0.1"),
    (lambda: SGD(0.1, nesterov=True), r"SGD: nesterov=True needs momentum > 0"),
    (lambda: Adam(betas=(0.9, 1.0)), r"Adam: betas must lie in \[0, 1\)"),
    (lambda: RMSProp(alpha=1.5), r"RMSProp: alpha must lie in \[0, 1\)"),
    (lambda: sgd({}, {}, lr=constant(0.1)), r"sgd: lr must be a float here"),
])
def test_hyperparameter_errors(bad, match):
    with pytest.raises(ValueError, match=match):
        bad()


def test_repr_shows_the_settings():
    assert repr(SGD(0.1, momentum=0.9)) == "SGD(lr=0.1, momentum=0.9, nesterov=False)"
    assert repr(AdamW(freeze="enc")) == (
        "AdamW(lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.01, freeze=['enc'])")


# --- training real models (matmul from yota-linalg, mean from yota-reductions) -------------
def _regression(rng):
    X = rng.normal(size=(64, 3))
    y = np.tanh(X @ np.array([[1.0], [-2.0], [0.5]])) + 0.5
    return X, y


def _mlp_forward(layers, X):
    h = np.tanh(X @ layers[0].W + layers[0].b)
    return h @ layers[1].W + layers[1].b


def _layers(rng, cls):
    return [cls(rng.normal(size=(3, 8)) * 0.5, np.zeros(8)),
            cls(rng.normal(size=(8, 1)) * 0.5, np.zeros(1))]


MODELS = {
    "mutable-net": lambda rng: Net(_layers(rng, Dense), FrozenDense(np.ones(1), np.zeros(1)), 1.0),
    "frozen-tuple": lambda rng: tuple(_layers(rng, FrozenDense)),
    "dict-of-layers": lambda rng: dict(enumerate(_layers(rng, Dense))),
}


def _model_loss(model, X, y):
    if isinstance(model, Net):
        pred = _mlp_forward(model.layers, X) * model.scale + model.head.b
    else:
        pred = _mlp_forward([model[0], model[1]], X)
    return np.mean((pred - y) ** 2)


@pytest.mark.parametrize("kind", sorted(MODELS))
@pytest.mark.parametrize("make", [lambda: SGD(0.1, momentum=0.9), lambda: Adam(0.02),
                                  lambda: AdamW(0.02), lambda: RMSProp(0.005)],
                         ids=["momentum", "adam", "adamw", "rmsprop"])
def test_models_of_every_shape_train(kind, make):
    rng = np.random.default_rng(10)
    X, y = _regression(rng)
    model = MODELS[kind](rng)
    start = model
    opt = make()
    first = _model_loss(model, X, y)
    for _ in range(150):
        model = opt(model, grad(_model_loss, model, X, y))
    assert type(model) is type(MODELS[kind](rng))
    assert _model_loss(model, X, y) < 0.1 * first
    if kind == "mutable-net":
        assert model.head.W is start.head.W and ("head", "W") not in opt.state  # unused
        assert model.head.b is not start.head.b
