"""The layers README's "How it works" describes: who may import whom, and no cycles."""

from __future__ import annotations

import ast

from helpers import PROJECT

PACKAGES = ("digit", "training", "bench", "testing", "experiments")


def imports(ours_only: bool = True) -> dict[str, set[str]]:
    """Each of our modules -> the modules of ours it imports (at any depth of its code); with
    ours_only=False, every module it imports."""
    found = {}
    for package in PACKAGES:
        for path in (PROJECT / package).rglob("*.py"):
            module = ".".join(path.relative_to(PROJECT).with_suffix("").parts).removesuffix(".__init__")
            names = set()
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.module:
                    names.add(node.module)
                elif isinstance(node, ast.Import):
                    names.update(alias.name for alias in node.names)
            found[module] = {name for name in names if not ours_only or name.split(".")[0] in PACKAGES}
    return found


def test_the_library_never_imports_the_page_the_training_or_the_bench():
    for module, used in imports().items():
        if module.startswith("digit") and not module.startswith("digit.page"):
            assert not {name for name in used if not name.startswith("digit") or name.startswith("digit.page")}, module


def test_the_library_never_imports_gradio():
    """Gradio is the page's: the feedback store is no flagging callback, the page's callback
    (digit/page/flagging.py) wraps it."""
    everything = imports(ours_only=False)
    assert "gradio" in everything["digit.page.flagging"]  # the check sees a gradio import where there is one
    for module, used in everything.items():
        if module.startswith("digit") and not module.startswith("digit.page"):
            assert not {name for name in used if name.split(".")[0] in ("gradio", "gradio_client")}, module


def test_training_never_imports_the_page_or_the_bench():
    for module, used in imports().items():
        if module.startswith("training"):
            assert not {name for name in used if name.startswith(("digit.page", "bench"))}, module


def test_the_product_never_imports_the_experiments_record():
    # experiments/ re-runs past choices against the library; nothing shipped or trained depends on it.
    product = {module: used for module, used in imports().items() if module.startswith(("digit", "training"))}
    assert "training.retrain" in product
    for module, used in product.items():
        assert not {name for name in used if name.split(".")[0] == "experiments"}, module


def test_the_page_never_imports_the_training_or_the_bench():
    pages = {module: used for module, used in imports().items() if module.startswith("digit.page")}
    assert pages
    for module, used in pages.items():
        assert not {name for name in used if name.startswith(("training", "bench"))}, module


def test_neither_the_library_nor_the_page_imports_testing():
    # What the tests and the benchmarks share stays out of what the Space runs.
    library = {module: used for module, used in imports().items() if module.startswith("digit")}
    assert "digit.page.actions" in library
    for module, used in library.items():
        assert not {name for name in used if name == "testing" or name.startswith("testing.")}, module


def test_testing_imports_only_the_library_and_itself():
    shared = {module: used for module, used in imports().items() if module.startswith("testing")}
    assert "testing.hub.server" in shared and "testing.local_app" in shared
    for module, used in shared.items():
        assert not {name for name in used if not name.startswith(("digit", "testing"))}, module


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A chain of imports that comes back to where it started, if there is one."""
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> list[str] | None:
        if module in path:
            return path[path.index(module):] + [module]
        if module in done or module not in graph:
            return None
        for name in sorted(graph[module]):
            found = visit(name, path + [module])
            if found:
                return found
        done.add(module)
        return None

    return next((found for module in sorted(graph) if (found := visit(module, []))), None)


def test_there_is_no_import_cycle():
    assert cycle(imports()) is None


def test_a_cycle_would_be_found():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None
