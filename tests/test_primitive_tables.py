"""A primitive's table (static_shape, fresh, noop, per-backend emitters) is what the compiler
asks: a pack's primitive declaring an entry is honoured exactly like the core's, and an
undeclared primitive is treated conservatively (shape guard, never written in place, never
dropped, called through its implementation)."""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

import yota
from yota.compile import codegen, interpret, passes
from yota.compile.ir import Aval, Instr, Program, Var
from yota.core_pack import elementwise, indexing, shape
from yota.extend import infix, passes_first_on, prefix
from yota.kernel import unbroadcast
from yota.transforms import source


def fresh_prim(name="scale2", **entries):
    """A pack-style primitive (x * 2 through its own implementation), with ``entries`` declared."""
    p = yota.primitive(lambda x: np.multiply(x, 2.0), name=name)
    p.defgrad(lambda dy, y, x: dy * 2.0)
    if entries:
        p.declare(**entries)
    return p


def source_of(f, *args):
    yota.clear_cache()
    return source(f, *args)


def check_grad(f, x, expected):
    """The compiled call (second call: the cached program) gives ``f(x)`` and ``expected``."""
    for _ in range(2):
        value, g = yota.grad(f, x)
        np.testing.assert_allclose(value, f(x))
        np.testing.assert_allclose(g[0], expected)


# --- the table --------------------------------------------------------------------------------
def test_core_primitives_declare_their_entries_beside_themselves():
    assert elementwise.add.emitters["numpy"] and elementwise.negative.emitters["numpy"]
    assert indexing.getitem.emitters["numpy"] and shape.reshape.emitters["numpy"]
    assert shape.reshape.noop is passes_first_on and unbroadcast.sum_to.fresh
    assert shape.concatenate.fresh and shape.concatenate.static_shape is True
    assert elementwise.sin.fresh and elementwise.sin.static_shape   # ufuncs by default
    assert not shape.transpose.fresh                                # a view


def test_an_undeclared_primitive_is_unknown_everywhere():
    p = yota.primitive(lambda x: x)
    assert p.static_shape is False and p.fresh is False and p.noop is None and p.emitters == {}
    assert not p.output_shape_is_static((Var(0),), {}, [Aval.of(np.ones(3))])


def test_the_table_is_closed():
    p = yota.primitive(lambda x: x)
    with pytest.raises(AttributeError, match="no table entry 'fersh'"):
        p.fersh = True


def test_the_compiler_imports_no_core_pack_module():
    """It asks the primitives; a list of the core's primitives would leave packs out."""
    root = Path(codegen.__file__).parent
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert "core_pack" not in (node.module or ""), path.name


# --- static_shape -----------------------------------------------------------------------------
def test_undeclared_pack_primitive_gets_a_shape_guard():
    p = fresh_prim()
    f = lambda x: np.sum(p(x) * x)
    x = np.random.rand(4)
    src = source_of(f, x)
    assert "if v1.shape != (4,)" in src
    check_grad(f, x, 4 * x)


def test_static_shape_pack_primitive_needs_no_guard():
    p = fresh_prim(static_shape=True)
    f = lambda x: np.sum(p(x) * x)
    x = np.random.rand(4)
    assert "(4,)" not in source_of(f, x)
    check_grad(f, x, 4 * x)


def test_static_shape_rule_sees_the_arguments_avals():
    seen = []

    def rule(args, kwargs, avals):
        seen.append((avals[0].shape, avals[1]))
        return avals[1] is None      # static when the second argument is a constant

    p = yota.primitive(lambda x, c: x * c, name="times").declare(static_shape=rule)
    p.defgrad(lambda dy, y, x, c: dy * c)
    x = np.random.rand(3)
    src = source_of(lambda x: np.sum(p(x, 3.0)), x)
    assert ((3,), None) in seen and "(3,)" not in src


# --- fresh ------------------------------------------------------------------------------------
def test_fresh_pack_primitive_output_is_reused_in_place():
    f = lambda x: np.sum(np.sin(prim(x) * 3.0))
    x = np.random.rand(5)
    prim = fresh_prim(static_shape=True)
    src = source_of(f, x)
    assert "v2 = v1 * 3.0" in src and "v1 *= 3.0" not in src  # may be a view of x: not written
    prim = fresh_prim(static_shape=True, fresh=True)
    src = source_of(f, x)
    assert "v1 *= 3.0" in src and "v2 = v1 * 3.0" not in src
    check_grad(f, x, 6 * np.cos(6 * x))


def test_memory_pass_asks_the_primitive_whether_its_output_is_fresh():
    x = np.random.rand(8)
    for fresh, expect in ((False, None), (True, 0)):
        p = fresh_prim(fresh=fresh) if fresh else fresh_prim()
        program = Program([0], [Instr(p, (Var(0),), {}, 1),
                                Instr(elementwise.multiply, (Var(1), 3.0), {}, 2)],
                          [Var(2)], [], {n: Aval.of(x) for n in range(3)})
        out = passes.plan_memory(program, inplace_min_bytes=0)
        assert out.instrs[1].inplace == expect
        np.testing.assert_allclose(interpret.run(out, [x.copy()])[0], x * 6.0)


# --- noop -------------------------------------------------------------------------------------
def test_simplify_drops_a_pack_primitive_declared_noop_at_these_avals():
    squeeze_p = yota.primitive(lambda x: np.squeeze(x), name="squeeze_p")
    x = np.random.rand(3)
    program = Program([0], [Instr(squeeze_p, (Var(0),), {}, 1),
                            Instr(elementwise.sin, (Var(1),), {}, 2)],
                      [Var(2)], [], {n: Aval.of(x) for n in range(3)})
    assert [i.prim for i in passes.simplify(program).instrs][0] is squeeze_p  # undeclared: kept
    squeeze_p.declare(noop=passes_first_on)
    out = passes.simplify(program)
    assert [i.prim for i in out.instrs] == [elementwise.sin] and out.instrs[0].args == (Var(0),)
    np.testing.assert_allclose(interpret.run(out, [x])[0], np.sin(x))


def test_noop_rule_is_asked_with_the_output_aval():
    calls = []

    def rule(args, kwargs, avals, out):
        calls.append((avals, out))
        return None

    p = yota.primitive(lambda x: x + 0.0, name="plus0").declare(noop=rule)
    x = np.random.rand(2)
    program = Program([0], [Instr(p, (Var(0), ), {}, 1)], [Var(1)], [],
                      {0: Aval.of(x), 1: Aval.of(x)})
    passes.simplify(program)
    (avals, out), = calls
    assert avals[0].same(Aval.of(x)) and out.same(Aval.of(x))


# --- emitters ---------------------------------------------------------------------------------
def test_pack_emitter_writes_the_generated_source():
    p = fresh_prim(name="double", static_shape=True)
    p.defemit("numpy", lambda em, ins: f"({em.ref(ins.args[0])} * 2.0)")
    f = lambda x: np.sum(np.sin(p(x)))
    x = np.random.rand(3)
    src = source_of(f, x)
    assert "= (x * 2.0)" in src and "double(" not in src
    check_grad(f, x, 2 * np.cos(2 * x))


def test_emitter_returning_none_falls_back_to_the_implementation():
    p = fresh_prim(name="double", static_shape=True)
    p.defemit("numpy", lambda em, ins: None)
    src = source_of(lambda x: np.sum(np.sin(p(x))), np.random.rand(3))
    assert "double(x)" in src


def test_another_backends_entry_is_not_used_by_numpy_codegen():
    p = fresh_prim(name="double", static_shape=True)
    p.defemit("numba", lambda em, ins: "NOT NUMPY")
    src = source_of(lambda x: np.sum(np.sin(p(x))), np.random.rand(3))
    assert "NOT NUMPY" not in src and "double(x)" in src


def test_register_emitter_still_works_and_never_sees_in_place_calls():
    p = fresh_prim(name="double", static_shape=True)
    codegen.register_emitter(p, lambda em, ins: f"({em.ref(ins.args[0])} * 2.0)")
    assert "= (x * 2.0)" in source_of(lambda x: np.sum(np.sin(p(x))), np.random.rand(3))


def test_operator_emitters():
    x = np.random.rand(4)
    src = source_of(lambda x: np.sum(-x * 2 + x / 3 - x ** 2 + x % 1.5 + x // 2), x)
    for text in ("= -x", "= x / 3", "= x ** 2", "= x % 1.5", "= x // 2", " += ", " -= "):
        assert text in src


def test_pack_operator_emitter_in_place():
    # A pack's elementwise ufunc primitive spelt as an operator, augmented when in place.
    p = yota.Primitive(np.logaddexp, name="lae")
    p.defemit("numpy", infix("<<LAE>>", augmented=True))
    em_ins = Instr(p, (Var(0), Var(1)), {}, 2)
    prog = Program([0, 1], [em_ins], [Var(2)], [], {n: Aval.of(np.ones(2)) for n in range(3)})
    em = codegen._Emitter(prog, "f")
    em.names.update({0: "a", 1: "b"})
    assert p.emitters["numpy"](em, em_ins) == "a <<LAE>> b"
    assert p.emitters["numpy"](em, em_ins.replace(inplace=0)) == "a <<LAE>>= b"
    assert p.emitters["numpy"](em, em_ins.replace(inplace=1)) is None   # not commutative
    assert prefix("~")(em, Instr(p, (Var(0),), {}, 2)) == "~a"
    assert infix("+")(em, Instr(p, (Var(0), [1, 2]), {}, 2)) is None    # a list repeats
