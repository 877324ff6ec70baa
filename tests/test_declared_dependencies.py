"""Every distribution the harness and each plugin need is declared in their pyproject.toml: the
top-level modules their package code imports (lazily or not), the modules their configs'
``custom_imports`` name, and the plugins that register the datasets they pretrain or evaluate
on. Modules map to distributions through ``importlib.metadata.packages_distributions()``."""
from __future__ import annotations

import ast
import importlib.metadata as metadata
import re
import sys
import tomllib
from pathlib import Path

import pytest

from harness.plugins import PluginManager
from tests.conftest import REPO

PLUGINS = sorted(p.parent.name for p in (REPO / 'plugins').glob('*/pyproject.toml'))
#: modules a package may import without declaring them: the host of a pytest plugin module
EXEMPT = {('harness', 'testing.py'): {'pytest'}}


def normalized(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r'[-_.]+', '-', name).lower()


def declared(root: Path) -> tuple[str, set[str]]:
    """The project's name and its declared dependencies' names (normalised)."""
    project = tomllib.loads((root / 'pyproject.toml').read_text())['project']
    names = {normalized(re.split(r'[\s<>=!~;\[]', dep, maxsplit=1)[0])
             for dep in project.get('dependencies', [])}
    return normalized(project['name']), names


def package_of(root: Path) -> Path:
    """The import package a plugin folder holds (``plugins/brave`` -> ``harness_brave``)."""
    found = [p for p in root.glob('harness_*') if (p / '__init__.py').is_file()]
    assert len(found) == 1, found
    return found[0]


def imported_modules(path: Path) -> set[str]:
    """Top-level modules a Python file imports (absolute imports, at any depth)."""
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules |= {alias.name.partition('.')[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            modules.add(node.module.partition('.')[0])
    return modules


def custom_imports(path: Path) -> set[str]:
    """Top-level modules a config's ``custom_imports = dict(imports=[...])`` names."""
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Assign) and any(
                isinstance(target, ast.Name) and target.id == 'custom_imports'
                for target in node.targets):
            for keyword in ast.walk(node.value):
                if isinstance(keyword, ast.keyword) and keyword.arg == 'imports':
                    modules |= {item.value.partition('.')[0] for item in keyword.value.elts}
    return modules


def needed_modules(package: Path) -> dict[str, set[str]]:
    """``{top-level module: files that need it}`` for a package's code and configs, without
    the standard library and the package itself."""
    needed: dict[str, set[str]] = {}
    for path in sorted(package.rglob('*.py')):
        where = path.relative_to(package).as_posix()
        modules = imported_modules(path) | custom_imports(path)
        modules -= EXEMPT.get((package.name, where), set())
        for module in modules - set(sys.stdlib_module_names) - {package.name, '__future__'}:
            needed.setdefault(module, set()).add(where)
    return needed


def undeclared(root: Path, package: Path) -> list[str]:
    _, names = declared(root)
    providers = metadata.packages_distributions()
    missing = []
    for module, files in sorted(needed_modules(package).items()):
        candidates = {normalized(dist) for dist in providers.get(module, [])}
        if not candidates & names:
            missing.append(f"{module} (from {', '.join(sorted(candidates)) or 'nothing installed'}"
                           f"; {', '.join(sorted(files))})")
    return missing


def test_the_core_declares_what_it_imports():
    assert undeclared(REPO, REPO / 'harness') == []


@pytest.mark.parametrize('plugin', PLUGINS)
def test_a_plugin_declares_what_its_code_and_configs_import(plugin):
    root = REPO / 'plugins' / plugin
    assert undeclared(root, package_of(root)) == []


def test_the_check_finds_an_undeclared_import(tmp_path):
    package = tmp_path / 'harness_probe'
    (package / 'configs').mkdir(parents=True)
    (package / '__init__.py').write_text('import json\n')
    (package / 'model.py').write_text('def build():\n    import numpy\n    from torch import nn\n')
    (package / 'configs' / 'demo.py').write_text(
        "custom_imports = dict(imports=['harness.hooks', 'harness_probe.model'])\n")
    (tmp_path / 'pyproject.toml').write_text(
        '[project]\nname = "harness-probe"\ndependencies = ["ssl-harness", "torch>=2"]\n')
    assert needed_modules(package) == {'numpy': {'model.py'}, 'torch': {'model.py'},
                                       'harness': {'configs/demo.py'}}
    assert undeclared(tmp_path, package) == ['numpy (from numpy; model.py)']


PM = PluginManager()


@pytest.mark.parametrize('plugin', PLUGINS)
def test_a_plugin_declares_the_plugins_whose_datasets_it_names(plugin):
    """A method's demo pretraining set, an evaluator's dataset and demo pretraining set: the
    plugin that registers that dataset is a declared dependency (or the plugin itself)."""
    name, names = declared(REPO / 'plugins' / plugin)
    missing = []
    for kind in ('method', 'evaluator'):
        for entry in PM.components[kind].values():
            if normalized(entry.plugin.distribution or '') != name:
                continue
            for info in (entry.info, *getattr(entry.info, 'also', ())):
                for dataset in {getattr(info, 'dataset', ''), info.demo_pretrain} - {''}:
                    owner = normalized(PM.get('dataset', dataset).plugin.distribution)
                    if owner != name and owner not in names:
                        missing.append(f'{dataset} ({owner})')
    assert missing == []
