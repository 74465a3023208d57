"""yota-dask: data-parallel gradients for yota on Dask.

``yota_dask.grad(loss, model, X, y)`` returns what ``yota.grad`` returns on the whole data, with
the rows of the dask arrays ``X`` and ``y`` staying on the workers that hold them.
"""
from .grad import grad, value_and_grad
from .placement import persist

__version__ = "0.2.0"

__all__ = ["grad", "value_and_grad", "persist"]
