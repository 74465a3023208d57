"""Real Dask clusters for the yota-dask tests: worker processes on this machine, closed at the
end so pytest never waits on them."""
import contextlib

import pytest

distributed = pytest.importorskip("distributed")


@contextlib.contextmanager
def local_cluster(n_workers=2):
    """A LocalCluster of ``n_workers`` single-threaded processes and a client that is not made
    the default one, so tests say which client they use."""
    cluster = distributed.LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                                       dashboard_address=":0", silence_logs=50)
    client = distributed.Client(cluster, set_as_default=False)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@pytest.fixture(scope="session")
def client():
    """One cluster for every test that does not kill workers."""
    with local_cluster() as c:
        yield c


@pytest.fixture(scope="session")
def new_cluster():
    """``with new_cluster() as client:`` for a module that needs a cluster of its own."""
    return local_cluster
