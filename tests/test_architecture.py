"""The package structure DESIGN.md asks for: no import cycles, and tfkit reaching feature_columns' internals only
through its documented module. Imports are read from the source (function-level ones included, so a cycle
cannot hide inside a function)."""

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
PACKAGES = ("feature_columns", "tfkit")
# The feature_columns modules tfkit may import: the package itself and its documented public modules.
FEATURE_COLUMNS_PUBLIC = {"feature_columns", "feature_columns.integration", "feature_columns.testing"}


def _modules() -> dict:
    """`{dotted module name: path}` of every module of the two packages."""
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def _imports(path: pathlib.Path, modules: dict) -> set:
    """The project modules a file imports: `from a.b import c` counts as `a.b.c` when that is a module."""
    targets = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets |= {alias.name for alias in node.names if alias.name.split(".")[0] in PACKAGES}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in PACKAGES:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                targets.add(submodule if submodule in modules else node.module)
    return targets


def _graph() -> dict:
    modules = _modules()
    return {name: _imports(path, modules) - {name} for name, path in modules.items()}


def _cycle(graph: dict) -> list | None:
    """One import cycle as a list of modules, or None (depth-first search with colours)."""
    state, stack = {}, []

    def visit(module):
        state[module] = "open"
        stack.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                return [*stack[stack.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        state[module] = "done"
        stack.pop()
        return None

    for module in sorted(graph):
        if module not in state and (found := visit(module)):
            return found
    return None


def test_the_packages_have_no_import_cycle():
    assert _cycle(_graph()) is None, f"import cycle: {' -> '.join(_cycle(_graph()))}"


def test_the_cycle_finder_finds_a_cycle():
    # a -> b -> c -> a, and d alone: the search must report the loop.
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_feature_columns_never_imports_tfkit():
    offenders = {m: sorted(t) for m, ts in _graph().items() if m.startswith("feature_columns")
                 for t in [{t for t in ts if t.startswith("tfkit")}] if t}  # fmt: skip
    assert not offenders, f"feature_columns must not depend on tfkit: {offenders}"


def test_tfkit_uses_only_the_public_feature_columns_modules():
    offenders = {
        module: sorted(private)
        for module, targets in _graph().items()
        if module.startswith("tfkit")
        for private in [{t for t in targets if t.startswith("feature_columns") and t not in FEATURE_COLUMNS_PUBLIC}]
        if private
    }
    assert not offenders, f"tfkit imports private feature_columns modules: {offenders}"


def test_no_library_module_is_over_400_lines():
    # DESIGN.md: "No module over about 400 lines"; 10% slack for "about".
    long = {name: n for name, path in _modules().items() if (n := len(path.read_text().splitlines())) > 440}
    assert not long, f"modules over about 400 lines: {long}"
