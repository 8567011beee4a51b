"""No first-party import names something that does not exist (checked statically, nothing imported):
`import x.y` finds a module, and `from x.y import name` finds `name` defined in x/y.py (or x/y/__init__.py)
or a submodule x/y/name."""

from __future__ import annotations

import ast
import importlib.util
from functools import cache
from pathlib import Path

from helpers import PROJECT

FIRST_PARTY = ("digit", "training", "bench", "testing", "helpers", "hostile", "old_feedback", "test_feedback_disk")
FOLDERS = ("digit", "training", "bench", "testing", "tests")


def module_file(name: str) -> Path | None:
    """The source of a first-party module, from the project folder or tests/ (pytest's pythonpath)."""
    for root in (Path(PROJECT), Path(PROJECT) / "tests"):
        base = root.joinpath(*name.split("."))
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


@cache
def defined_names(path: Path) -> frozenset[str]:
    """Names a module binds at its top level: definitions, assignments, imports (re-exports)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.col_offset == 0:
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)) and node.col_offset == 0:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(n.id for target in targets for n in ast.walk(target) if isinstance(n, ast.Name))
    return frozenset(names)


def missing_imports(path: Path) -> list[str]:
    missing = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
            missing += [f"{path}:{node.lineno}: import {m}" for m in modules
                        if m.split(".")[0] in FIRST_PARTY and module_file(m) is None]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module.split(".")[0] in FIRST_PARTY:
            source = module_file(node.module)
            if source is None:
                missing.append(f"{path}:{node.lineno}: from {node.module}")
                continue
            for alias in node.names:
                if alias.name != "*" and alias.name not in defined_names(source) \
                        and module_file(f"{node.module}.{alias.name}") is None:
                    missing.append(f"{path}:{node.lineno}: from {node.module} import {alias.name}")
    return missing


def test_every_first_party_import_names_something_that_exists():
    files = [path for folder in FOLDERS for path in (Path(PROJECT) / folder).rglob("*.py")] + [Path(PROJECT) / "app.py"]
    assert len(files) > 50
    assert importlib.util.find_spec("digit") is not None
    missing = [line for path in files for line in missing_imports(path)]
    assert missing == []


def test_the_check_sees_a_name_that_is_not_there(tmp_path):
    broken = tmp_path / "broken.py"
    broken.write_text("from digit.feedback import storable_image\nfrom digit import app_actions\n"
                      "from digit.reading.images import read_picture\n")
    assert [line.split(": ", 1)[1] for line in missing_imports(broken)] == [
        "from digit.feedback import storable_image", "from digit import app_actions"]
