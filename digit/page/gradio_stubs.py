"""Gradio without its type stubs. At import, Gradio 6 parses the source of every component class
again to rewrite a .pyi stub beside it (gradio/component_meta.py, create_or_modify_pyi): ~2.5 s of
CPU of a 4 s import, spent for editors, and a write into the installed package and into digit/page/
at run time. A served app needs neither: `skip()` before Gradio's first import turns it off."""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys

MODULE = "gradio.component_meta"


def _no_stub(*_arguments, **_keywords) -> None:
    return None


class _WithoutStubs(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != MODULE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def exec_module(module) -> None:
            run(module)
            module.create_or_modify_pyi = _no_stub  # looked up by ComponentMeta at each class it makes

        spec.loader.exec_module = exec_module
        return spec


def skip() -> None:
    """Gradio's components are made without writing stubs, if Gradio is not imported yet."""
    if MODULE not in sys.modules and not any(isinstance(finder, _WithoutStubs) for finder in sys.meta_path):
        sys.meta_path.insert(0, _WithoutStubs())
