"""Each compiler pass alone, on small programs traced from real functions."""
from __future__ import annotations

import numpy as np
import pytest

from yota.compile import interpret, passes
from yota.compile.ir import Aval, Instr, Program, Var
from yota.compile.key import signature
from yota.compile.trace import trace_program
from yota.transforms import build_grad
from yota.core_pack import elementwise, shape


def traced(f, *args):
    _, inputs = signature(f, args, {}, None)
    return trace_program(f, args, {}, None, inputs, build_grad)


def prims(program):
    return [i.prim.name for i in program.instrs]


def outputs_match(a, b, values):
    for x, y in zip(interpret.run(a, values), interpret.run(b, values)):
        np.testing.assert_allclose(np.asarray(x, dtype=float), np.asarray(y, dtype=float),
                                   rtol=1e-12, atol=0)


def test_dce_drops_what_reaches_no_output():
    def f(x, y):
        np.exp(y)                     # computed, never used
        return np.sum(np.sin(x))

    x, y = np.random.rand(3), np.random.rand(3)
    program, _ = traced(lambda x, y: f(x, y).sum() if False else (np.sin(x) * 2)[0]
                        + 0 * np.exp(y)[0], x, y)
    plain = Program(program.params, program.instrs + [
        Instr(elementwise.cos, (Var(program.params[0]),), {}, 999)],
        program.outputs, program.guards, {**program.avals, 999: Aval.of(x)})
    out = passes.dce(plain)
    assert "cos" in prims(plain) and 999 not in [i.out for i in out.instrs]
    outputs_match(plain, out, [x, y])


def test_cse_merges_repeated_calls_across_forward_and_backward():
    x = np.random.rand(4)
    program, _ = traced(lambda x: (np.sin(x) * np.sin(x))[0] + np.sin(x)[1], x)
    before = prims(program).count("sin")
    out = passes.cse(program)
    assert before == 3 and prims(out).count("sin") == 1
    outputs_match(program, out, [x])


def test_cse_keeps_signed_zero_constants_apart():
    assert passes.freeze(0.0) != passes.freeze(-0.0)
    assert passes.freeze((slice(0, 2), None)) == passes.freeze((slice(0, 2), None))


def test_constant_folding_evaluates_calls_without_variables():
    x = np.random.rand(3)
    c = np.arange(3.0)
    program = Program([0], [
        Instr(elementwise.exp, (c,), {}, 1),
        Instr(elementwise.multiply, (Var(0), Var(1)), {}, 2),
    ], [Var(2)], [], {0: Aval.of(x), 1: Aval.of(c), 2: Aval.of(x)})
    out = passes.fold_constants(program)
    assert prims(out) == ["multiply"]
    np.testing.assert_allclose(out.instrs[0].args[1], np.exp(c))
    outputs_match(program, out, [x])


def test_simplify_removes_noop_shape_ops_and_multiplication_by_one():
    x = np.random.rand(3, 4)
    program = Program([0], [
        Instr(shape.reshape, (Var(0), (3, 4)), {}, 1),
        Instr(shape.transpose, (Var(1), (0, 1)), {}, 2),
        Instr(shape.sum_to, (Var(2), (3, 4)), {}, 3),
        Instr(shape.astype, (Var(3), np.float64), {}, 4),
        Instr(elementwise.multiply, (np.ones((3, 4)), Var(4)), {}, 5),
        Instr(shape.reshape, (Var(5), (4, 3)), {}, 6),        # a real reshape stays
    ], [Var(6)], [], {n: Aval.of(x) for n in range(6)} | {6: Aval.of(x.reshape(4, 3))})
    out = passes.simplify(program)
    assert prims(out) == ["reshape"] and out.instrs[0].args[0] == Var(0)
    outputs_match(program, out, [x])


def test_simplify_keeps_broadcasting_multiplication_by_one():
    x = np.random.rand(3)
    program = Program([0], [Instr(elementwise.multiply, (Var(0), np.ones((2, 3))), {}, 1)],
                      [Var(1)], [], {0: Aval.of(x), 1: Aval.of(np.ones((2, 3)))})
    assert prims(passes.simplify(program)) == ["multiply"]


def test_memory_plan_writes_in_place_only_into_dying_fresh_buffers():
    x = np.random.rand(1000)
    program = Program([0], [
        Instr(elementwise.sin, (Var(0),), {}, 1),            # fresh
        Instr(elementwise.multiply, (Var(1), 2.0), {}, 2),    # sin dies here: in place
        Instr(elementwise.add, (Var(2), Var(0)), {}, 3),      # v2 dies: in place; x never
        Instr(elementwise.cos, (Var(3),), {}, 4),
        Instr(elementwise.add, (Var(3), Var(4)), {}, 5),      # v3 is an output: not in place
    ], [Var(5), Var(3)], [], {n: Aval.of(x) for n in range(6)})
    out = passes.plan_memory(program, inplace_min_bytes=0)
    assert [i.inplace for i in out.instrs] == [None, 0, 0, None, 1]
    outputs_match(program, out, [x.copy()])
    x0 = x.copy()
    interpret.run(out, [x])
    np.testing.assert_array_equal(x, x0)  # the input was never written


def test_memory_plan_respects_views():
    x = np.random.rand(1000)
    program = Program([0], [
        Instr(elementwise.sin, (Var(0),), {}, 1),
        Instr(shape.reshape, (Var(1), (10, 100)), {}, 2),     # a view of v1's buffer
        Instr(elementwise.multiply, (Var(1), 2.0), {}, 3),    # v1 dies, but v2 lives on
        Instr(shape.reshape, (Var(3), (10, 100)), {}, 4),
        Instr(elementwise.add, (Var(2), Var(4)), {}, 5),
    ], [Var(5)], [], {0: Aval.of(x), 1: Aval.of(x), 2: Aval.of(x.reshape(10, 100)),
                      3: Aval.of(x), 4: Aval.of(x.reshape(10, 100)),
                      5: Aval.of(x.reshape(10, 100))})
    out = passes.plan_memory(program, inplace_min_bytes=0)
    assert out.instrs[2].inplace is None
    outputs_match(program, out, [x])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_whole_pipeline_keeps_values(dtype):
    x = np.random.rand(5, 3).astype(dtype)
    b = np.random.rand(3).astype(dtype)

    def f(x, b):
        h = np.tanh(x * 2.0 + b) * x
        return (h.T.reshape(15) * h.reshape(15))[3] + (h * 1.0)[1:, :2].T[0, 1] + np.tanh(x * 2.0 + b)[0, 0]

    program, _ = traced(f, x, b)
    out = passes.optimize(program)
    assert len(out.instrs) < len(program.instrs)
    outputs_match(program, out, [x, b])
