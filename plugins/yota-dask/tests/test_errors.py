"""Every refusal of yota_dask.grad names the function, the argument and what to do. Most are
caught before any task runs; one cluster serves the few that need a client."""
from __future__ import annotations

import sys
import threading

import cloudpickle
import dask.array as da
import numpy as np
import pytest

import yota
import yota_dask

cloudpickle.register_pickle_by_value(sys.modules[__name__])


def loss(w, X, y):
    return np.mean((X @ w - y) ** 2)


@pytest.fixture(scope="module")
def arrays():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 3)), rng.standard_normal(40)
    return np.ones(3), X, y, da.from_array(X, chunks=(10, -1)), da.from_array(y, chunks=(10,))


def _refused(error, match, *args, **kwargs):
    with pytest.raises(error, match=match):
        yota_dask.grad(*args, **kwargs)


def test_no_dask_argument(arrays, client):
    w, X, y, _, _ = arrays
    _refused(yota.InputError, r"yota_dask.grad\(loss\): no argument is a dask array.*"
             r"dask.array.from_array\(X, chunks=\(rows, -1\)\).*or call yota.grad",
             loss, w, X, y, client=client)


def test_rows_that_differ(arrays, client):
    w, _, _, Xd, yd = arrays
    _refused(yota.InputError, r"yota_dask.grad\(loss\): argument 2 \(y\) has 39 rows but "
             r"argument 1 \(X\) has 40; .*same number of rows", loss, w, Xd, yd[:39],
             client=client)


def test_differentiating_a_dask_argument(arrays, client):
    w, _, _, Xd, yd = arrays
    _refused(yota.InputError, r"yota_dask.grad\(loss\): argnums=\(0, 1\) names argument 1 \(X\), "
             r"a dask array;.*Leave it out of argnums", loss, w, Xd, yd, argnums=(0, 1),
             client=client)


def test_nothing_but_data(arrays, client):
    _, _, _, Xd, yd = arrays
    _refused(yota.InputError, r"yota_dask.grad\(.*<lambda>\): no argument to differentiate: the "
             r"dask arrays are data.*Pass the parameters", lambda X, y, n: np.mean(X) * n, Xd, yd,
             3, client=client)


def test_bad_reduction(arrays, client):
    w, _, _, Xd, yd = arrays
    _refused(yota.InputError, r"yota_dask.grad\(loss\): reduction='max'; .*reduction='mean' "
             r"\(the default\) or reduction='sum'", loss, w, Xd, yd, reduction="max",
             client=client)


def test_zero_dimensional_and_nested_dask_arrays(arrays, client):
    w, _, _, Xd, yd = arrays
    _refused(yota.InputError, r"argument 2 \(y\) is a 0-d dask array.*pass it as a NumPy array "
             "or a number", loss, w, Xd, da.from_array(np.float64(1.0)), client=client)
    _refused(yota.InputError, r"argument 1 \(X\) holds a dask array inside a list;.*as its own "
             "argument", lambda w, X, y: loss(w, X[0], y), w, [Xd], yd, client=client)


def test_unknown_chunk_sizes(arrays, client):
    w, _, _, Xd, yd = arrays
    keep = yd > 0
    _refused(yota.InputError, r"argument 1 \(X\) has chunks of unknown size.*"
             r"\.compute_chunk_sizes\(\)", loss, w, Xd[keep], yd[keep], client=client)


def test_unpicklable_loss(arrays, client):
    w, _, _, Xd, yd = arrays
    lock = threading.Lock()

    def locked_loss(w, X, y):
        with lock:
            return loss(w, X, y)

    _refused(yota.InputError, r"yota_dask.grad\(.*locked_loss\): the loss function cannot be "
             r"pickled for the workers \(TypeError: .*lock.*\); .*keep unpicklable objects",
             locked_loss, w, Xd, yd, client=client)


def test_no_client_running(arrays):
    w, _, _, Xd, yd = arrays
    with pytest.raises(yota.YotaError, match=r"yota_dask.value_and_grad\(loss\): no Dask client "
                       r"is running; start one first: dask.distributed.Client\(\)"):
        yota_dask.value_and_grad(loss)(w, Xd, yd)
