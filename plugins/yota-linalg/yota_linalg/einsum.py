"""einsum: one primitive for any subscripts, whose gradient for each operand is another einsum.

The wrapper rewrites the subscripts into an explicit form with one letter per axis (ellipses
expanded, implicit outputs spelled out), so the primitive and its rule never parse ``...``.
The gradient for operand k contracts the incoming gradient with the other operands into k's
subscripts. Two things einsum cannot express directly are handled around it:

- a letter repeated in operand k (``'ii->i'``): the gradient lands on a diagonal, so the repeat
  is renamed to a fresh letter and an identity matrix joins the two;
- a letter only operand k has (summed away, ``'ij->i'``): the gradient is the same along it, so it
  is computed without that axis and broadcast.
"""
from __future__ import annotations

import string

import numpy as np
from yota.core_pack.shape import astype, broadcast_to, reshape
from yota.extend import Primitive

from ._util import reject_out

IMPLEMENTS = {}
LETTERS = string.ascii_letters


def _einsum(*operands, subscripts, optimize=False):
    return np.einsum(subscripts, *operands, optimize=optimize)


einsum_p = Primitive(_einsum, name="einsum")


@einsum_p.defgrad_each
def _einsum_grad(k, dy, y, *operands, subscripts, optimize=False):
    inputs, output = _split(subscripts)
    target = inputs[k]
    shape = np.shape(operands[k])
    unused = iter(c for c in LETTERS if c not in subscripts)
    terms = [output] + [s for j, s in enumerate(inputs) if j != k]
    args = [dy] + [x for j, x in enumerate(operands) if j != k]
    wanted, seen = "", {}
    for pos, c in enumerate(target):
        if c in seen:                     # a diagonal: tie a fresh letter to c with an identity
            fresh = next(unused)
            terms.append(c + fresh)
            args.append(np.eye(shape[seen[c]], shape[pos], dtype=dy.dtype))
            c = fresh
        else:
            seen[c] = pos
        wanted += c
    have = set("".join(terms))
    present = "".join(c for c in wanted if c in have)
    g = einsum_p(*args, subscripts=",".join(terms) + "->" + present, **_opt(optimize))
    if present != wanted:                 # axes summed in operand k only: broadcast along them
        dims = iter(g.shape)
        full = tuple(next(dims) if c in have else n for c, n in zip(wanted, shape))
        g = reshape(g, tuple(m if c in have else 1 for c, m in zip(wanted, full)))
        g = broadcast_to(g, full)         # the operand's own length there (0 stays 0)
    return g


def _opt(optimize):
    return {"optimize": optimize} if optimize is not False else {}


def _split(subscripts):
    inputs, output = subscripts.split("->")
    return inputs.split(","), output


# --- parsing NumPy's subscripts into the explicit form -----------------------------------------
def _from_sublists(args):
    """einsum(op0, sublist0, op1, sublist1, ..., [sublistout]) -> (subscripts, operands)."""
    args = list(args)
    out = args.pop() if len(args) % 2 == 1 else None

    def letters(sub):
        return "".join("..." if s is Ellipsis else LETTERS[s] for s in sub)

    operands, terms = args[0::2], [letters(s) for s in args[1::2]]
    subscripts = ",".join(terms) + ("" if out is None else "->" + letters(out))
    return subscripts, operands


def normalize(subscripts, shapes):
    """Explicit subscripts with one letter per axis: ``'...ij,jk'`` -> ``'Aij,jk->Aik'``."""
    subscripts = subscripts.replace(" ", "")
    if "->" in subscripts:
        inputs, output = subscripts.split("->")
    else:
        inputs, output = subscripts, None
    inputs = inputs.split(",")
    if len(inputs) != len(shapes):
        raise ValueError(f"yota-linalg: numpy.einsum: subscripts {subscripts!r} name "
                         f"{len(inputs)} operand(s) but {len(shapes)} were given")
    free = [c for c in LETTERS if c not in subscripts]
    n_ell = 0
    for term, shape in zip(inputs, shapes):
        if "..." in term:
            n_ell = max(n_ell, len(shape) - (len(term) - 3))
    ell = "".join(free[:n_ell])
    explicit = []
    for term, shape in zip(inputs, shapes):
        if "..." in term:
            n = len(shape) - (len(term) - 3)
            if n < 0:
                raise ValueError(f"yota-linalg: numpy.einsum: term {term!r} has more letters "
                                 f"than its operand has dimensions ({len(shape)})")
            term = term.replace("...", ell[n_ell - n:])
        if len(term) != len(shape):
            raise ValueError(f"yota-linalg: numpy.einsum: term {term!r} names {len(term)} axes "
                             f"but its operand has {len(shape)} dimensions")
        explicit.append(term)
    if output is None:                    # implicit: ellipsis first, then letters used once
        counts = {}
        for c in "".join(inputs).replace(".", ""):
            counts[c] = counts.get(c, 0) + 1
        output = ell + "".join(sorted(c for c, n in counts.items() if n == 1))
    elif "..." in output:
        output = output.replace("...", ell)
    elif n_ell:
        raise ValueError("yota-linalg: numpy.einsum: output has more dimensions than subscripts "
                         "given in einstein sum, but no '...' ellipsis provided to broadcast the "
                         "extra dimensions")
    return ",".join(explicit) + "->" + output


def einsum(*operands, out=None, optimize=False, dtype=None, order="K", casting="safe"):
    """np.einsum on tracked values; ``optimize`` is passed to NumPy (forward and gradients)."""
    reject_out("einsum", out)
    if isinstance(operands[0], str):
        subscripts, operands = operands[0], operands[1:]
    else:
        subscripts, operands = _from_sublists(operands)
    subscripts = normalize(subscripts, [np.shape(x) for x in operands])
    if dtype is not None:
        operands = [astype(x, dtype) for x in operands]
    return einsum_p(*operands, subscripts=subscripts, **_opt(optimize))


IMPLEMENTS[np.einsum] = einsum
PRIMITIVES = (einsum_p,)
