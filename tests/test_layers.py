"""yota's modules import in one direction only: each layer from the layers before it.

The test parses every module under yota/ (no import is executed), so it also sees imports made
inside functions. A function-level import of a yota module is refused everywhere but in the
few places listed in LAZY, each with its reason: such imports are how cycles hide.
"""
import ast
from pathlib import Path

import pytest

import yota

ROOT = Path(yota.__file__).parent

# Bottom to top. A module may import from its own layer (without a cycle) and from lower ones.
LAYERS = [
    ("errors", ["yota.errors"]),
    ("kernel", ["yota.kernel.*"]),
    ("pack API", ["yota.hookspecs", "yota.registry"]),
    ("core pack", ["yota.core_pack.*"]),
    ("pack host", ["yota.packs.*", "yota.plugins", "yota.extend"]),
    ("trees and results", ["yota.tree", "yota.result"]),
    ("tracing", ["yota.tracing"]),
    ("compile", ["yota.compile.*"]),
    ("transforms", ["yota.transforms.*"]),
    ("optimizers", ["yota.optim"]),
    ("public API", ["yota"]),
    ("tools", ["yota.testing", "yota.strategies", "yota.cli", "yota.__main__",
               "yota.pytest_plugin"]),
]

# Function-level imports of yota modules that are allowed, and why.
LAZY = {
    "yota.pytest_plugin": "pytest loads it in every project that has yota installed; yota "
                          "itself is imported when a yota fixture is used",
}


def module_name(path):
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(name):
    for i, (_, patterns) in enumerate(LAYERS):
        for p in patterns:
            if p.endswith(".*") and (name == p[:-2] or name.startswith(p[:-1])):
                return i
            if name == p:
                return i
    raise AssertionError(f"{name} belongs to no layer: add it to LAYERS in {__file__}")


def resolve(module, node, is_package):
    """The yota modules an import statement reads (a package's __init__ included)."""
    if isinstance(node, ast.Import):
        return [a.name for a in node.names if a.name.split(".")[0] == "yota"]
    base = module if is_package else module.rsplit(".", 1)[0]
    if node.level:
        for _ in range(node.level - 1):
            base = base.rsplit(".", 1)[0]
        target = f"{base}.{node.module}" if node.module else base
    else:
        target = node.module or ""
    if target.split(".")[0] != "yota":
        return []
    subs = [f"{target}.{a.name}" for a in node.names if _is_module(f"{target}.{a.name}")]
    if len(subs) == len(node.names):
        return subs  # `from .. import tree` reads yota.tree, not yota's __init__
    return [target] + subs


def _is_module(name):
    path = ROOT.parent / Path(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def parents(name):
    """Importing yota.a.b runs yota.a's __init__ first: it is a dependency too."""
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(2, len(parts))]


def collect():
    graph, lazy = {}, []
    for path in sorted(ROOT.rglob("*.py")):
        name = module_name(path)
        tree = ast.parse(path.read_text(), str(path))
        deps = set()
        is_package = path.name == "__init__.py"
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                targets = resolve(name, node, is_package)
                deps.update(t for t in targets if t != name)
                if targets and node.col_offset > 0 and not _top_level(tree, node):
                    lazy.append((name, node.lineno, targets))
        for d in list(deps):
            deps.update(p for p in parents(d) if p != name and not name.startswith(p + "."))
        graph[name] = deps
    return graph, lazy


def _top_level(tree, node):
    """True for an import at module level (also inside a module-level if/try)."""
    for stmt in tree.body:
        for inner in ast.walk(stmt):
            if inner is node:
                return not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef,
                                             ast.ClassDef))
    return False


GRAPH, LAZY_IMPORTS = collect()


def test_every_module_is_in_a_layer():
    for name in GRAPH:
        layer_of(name)


@pytest.mark.parametrize("name", sorted(GRAPH))
def test_imports_go_down_the_layers(name):
    mine = layer_of(name)
    for dep in sorted(GRAPH[name]):
        if dep == "yota" and name == "yota":
            continue
        theirs = layer_of(dep)
        assert theirs <= mine, (
            f"{name} (layer {LAYERS[mine][0]!r}) imports {dep} (layer {LAYERS[theirs][0]!r}), "
            "a layer above it; move the shared piece down or invert the dependency")


def test_no_import_cycles():
    index, low, stack, on_stack, cycles = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in GRAPH.get(v, ()):
            if w not in GRAPH:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for v in sorted(GRAPH):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles among yota's modules: {cycles}"


def test_no_function_level_imports_of_yota_modules():
    hidden = [(name, line, targets) for name, line, targets in LAZY_IMPORTS
              if name not in LAZY]
    assert not hidden, (
        "imports of yota modules inside functions (they hide cycles; import at the top, or "
        f"add the module to LAZY with the reason): {hidden}")


def test_the_checker_sees_a_cycle_and_an_upward_import(tmp_path):
    """The checks above can fail: a kernel module importing the compiler is caught."""
    assert layer_of("yota.kernel.tape") < layer_of("yota.compile.static")
    fake = dict(GRAPH)
    fake["yota.kernel.tape"] = GRAPH["yota.kernel.tape"] | {"yota.compile.static"}
    with pytest.raises(AssertionError, match="a layer above it"):
        mine = layer_of("yota.kernel.tape")
        for dep in fake["yota.kernel.tape"]:
            assert layer_of(dep) <= mine, f"yota.kernel.tape imports {dep}, a layer above it"
    tree = ast.parse("def f():\n    from .compile import static\n")
    node = tree.body[0].body[0]
    assert resolve("yota.tracing", node, False) == ["yota.compile.static"]
    assert not _top_level(tree, node)
