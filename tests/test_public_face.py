"""The core's public face: plugins import the core through ``harness.api`` only, everything it
exports resolves, and the core's code names no method."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import harness.api as api

ROOT = Path(__file__).resolve().parents[1]
#: Names of methods and of their mechanics that belong to plugins, not to the core.
METHOD_WORDS = re.compile(r'brave|transrank|byol|moco|simclr|random_conv|turns|stretch', re.I)


def plugin_sources() -> list[Path]:
    packages = [*ROOT.glob('plugins/*/harness_*'), ROOT / 'tests/example_plugin/harness_example']
    return sorted(p for package in packages for p in package.rglob('*.py')
                  if 'tests' not in p.relative_to(package).parts)


def core_imports(path: Path) -> list[str]:
    """The core modules ``path`` imports other than ``harness`` and ``harness.api``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding='utf-8'))):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules = [node.module]
            if node.module == 'harness':
                modules = [f'harness.{a.name}' for a in node.names if a.name != 'hookimpl']
        elif isinstance(node, ast.Import):
            modules = [a.name for a in node.names]
        else:
            continue
        found += [m for m in modules if m.split('.')[0] == 'harness' and m != 'harness.api'
                  and m != 'harness']
    return sorted(found)


def test_every_exported_name_resolves():
    for name in [*api._ORIGIN, *api._NAMESPACES]:
        assert getattr(api, name) is not None, name
    assert {'MODELS', 'DataError', 'RunnerProtocol', 'demo'} <= set(dir(api))


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchThing'"):
        api.NoSuchThing  # noqa: B018


def test_the_checker_sees_a_core_import(tmp_path):
    source = tmp_path / 'mod.py'
    source.write_text('from harness import hookimpl\nfrom harness.api import MODELS\n'
                      'def f():\n    from harness.data import views\n'
                      'import harness.registry\n')
    assert core_imports(source) == ['harness.data', 'harness.registry']


def test_plugins_import_the_core_through_the_public_face_only():
    sources = plugin_sources()
    assert len(sources) > 50
    offenders = {str(p.relative_to(ROOT)): core_imports(p) for p in sources if core_imports(p)}
    assert not offenders


def code_without_docs(path: Path) -> str:
    """``path``'s code with its docstrings and comments left out."""
    tree = ast.parse(path.read_text(encoding='utf-8'))
    for node in ast.walk(tree):
        body = getattr(node, 'body', None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            body[0] = ast.Pass()
    return ast.unparse(tree)


def test_the_core_code_names_no_method():
    sources = sorted((ROOT / 'harness').rglob('*.py'))
    assert len(sources) > 30
    named = {str(p.relative_to(ROOT)): sorted(set(METHOD_WORDS.findall(code_without_docs(p))))
             for p in sources}
    assert not {path: words for path, words in named.items() if words}


def test_the_method_name_check_would_see_one(tmp_path):
    source = tmp_path / 'mod.py'
    source.write_text('"""BraVe in a docstring is fine."""\n# so is byol here\n'
                      "STEP = 'random_conv'\n")
    assert METHOD_WORDS.findall(code_without_docs(source)) == ['random_conv']
