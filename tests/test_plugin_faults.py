"""A third-party plugin that breaks: each case is one line naming the plugin, the file and the
line where it broke, in ``harness run``, ``harness list`` and ``harness plugins``."""
from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from harness import cli
from harness.errors import PluginError
from harness.plugin_faults import describe, plugin_root, syntax_error
from harness.plugins import PluginManager

PLUGIN = '''\
from harness import hookimpl
from harness.api import MethodInfo


@hookimpl
def harness_register_methods(register):
    register(MethodInfo(name='barlow', summary='fake', modality='video', default_backbone='r3d18',
                        configs={'demo': 'fake_barlow:configs/demo.py'}))
'''

CONFIG = '''\
default_scope = 'harness'
custom_imports = dict(imports=['fake_barlow.model'], allow_failed_imports=False)
model = dict(type='FakeBarlow')
'''

MODEL = '''\
"""The model."""
from harness.api import MODELS


@MODELS.register_module()
class FakeBarlow:
    pass
'''


def make_package(site: Path, files: dict[str, str]) -> Path:
    """Distribution harness-barlow 0.3: package fake_barlow, entry point barlow."""
    package = site / 'fake_barlow'
    for name, text in {'__init__.py': '', 'plugin.py': PLUGIN, 'configs/demo.py': CONFIG,
                       'model.py': MODEL, **files}.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text)
    info = site / 'harness_barlow-0.3.dist-info'
    info.mkdir(exist_ok=True)
    (info / 'METADATA').write_text('Metadata-Version: 2.1\nName: harness-barlow\nVersion: 0.3\n')
    (info / 'entry_points.txt').write_text('[harness]\nbarlow = fake_barlow.plugin\n')
    return package


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A site folder on sys.path: the harness loads its entry points with the installed ones."""
    site = tmp_path / 'site'
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))  # importlib.metadata finds its dist-info there
    monkeypatch.chdir(tmp_path)
    yield site
    for name in [m for m in sys.modules if m.startswith('fake_barlow')]:
        del sys.modules[name]


def harness(capsys, *args):
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def listed(capsys) -> dict:
    code, out, _ = harness(capsys, 'plugins')
    assert code == 0
    return {p['name']: p for p in json.loads(out)}['barlow']


RUN = ('run', '--method', 'barlow', '--eval', 'ucf101', '--dry-run')


def test_syntax_error_in_plugin_py(site, capsys):
    package = make_package(site, {'plugin.py': PLUGIN.replace(
        "@hookimpl\n", "@hookimpl\nbroken = = 1\n")})
    where = f"({package / 'plugin.py'}, line 6)"
    error = f'SyntaxError: invalid syntax {where}'
    code, _, err = harness(capsys, *RUN)
    assert code == 2
    assert err == (f"harness: error: plugin 'barlow' (dist harness-barlow) failed to load: "
                   f"{error}; method 'barlow' is not registered (is it that plugin's?)\n")
    code, out, err = harness(capsys, 'list')
    assert code == 0 and 'brave' in out
    assert err == f'plugin barlow failed to load: {error}\n'
    plugin = listed(capsys)
    assert (plugin['error'], plugin['error_file'], plugin['error_line']) == \
        (error, str(package / 'plugin.py'), 6)


def test_debug_shows_the_plugins_traceback(site, capsys):
    make_package(site, {'plugin.py': PLUGIN.replace("@hookimpl\n", "@hookimpl\nbroken = = 1\n")})
    with pytest.raises(PluginError) as caught:
        cli.main(['--debug', *RUN])
    assert isinstance(caught.value.__cause__, SyntaxError)
    assert caught.value.__cause__.lineno == 6


def test_import_error_raised_in_plugin_py(site, capsys):
    package = make_package(site, {'plugin.py': 'import os\nimport no_such_module_xyz\n' + PLUGIN})
    error = (f"ModuleNotFoundError: No module named 'no_such_module_xyz' "
             f"({package / 'plugin.py'}, line 2)")
    code, _, err = harness(capsys, *RUN)
    assert code == 2
    assert err == (f"harness: error: plugin 'barlow' (dist harness-barlow) failed to load: "
                   f"{error}; method 'barlow' is not registered (is it that plugin's?)\n")
    code, _, err = harness(capsys, 'list')
    assert (code, err) == (0, f'plugin barlow failed to load: {error}\n')
    plugin = listed(capsys)
    assert (plugin['error_file'], plugin['error_line']) == (str(package / 'plugin.py'), 2)


def test_error_raised_by_a_register_hook_names_the_plugins_line(site, capsys):
    package = make_package(site, {'plugin.py': PLUGIN.replace(
        "    register(", "    raise ValueError('no configs yet')\n    register(")})
    code, _, err = harness(capsys, 'list')
    assert (code, err) == (0, f"plugin barlow failed to load: ValueError: no configs yet "
                              f"({package / 'plugin.py'}, line 7)\n")


def test_syntax_error_in_a_model_module(site, capsys):
    package = make_package(site, {'model.py': MODEL.replace('    pass\n', '    pass(\n')})
    model = package / 'model.py'
    code, out, err = harness(capsys, 'list')
    assert code == 0 and 'barlow' in out  # registered, but its model module is broken
    assert err == f"plugin barlow failed to load: SyntaxError: invalid syntax ({model}, line 7)\n"
    plugin = listed(capsys)
    assert (plugin['error_file'], plugin['error_line']) == (str(model), 7)
    code, _, err = harness(capsys, *RUN)
    assert code == 2
    assert err == ("harness: error: plugin 'barlow' (dist harness-barlow): module "
                   f"fake_barlow.model failed to import: SyntaxError: invalid syntax "
                   f"({model}, line 7)\n")


def test_import_error_in_a_model_module_is_the_plugins_not_the_configs(site, capsys):
    package = make_package(site, {'model.py': MODEL.replace(
        'from harness.api import MODELS\n',
        'from harness.api import MODELS\nfrom harness.api import NoSuchThing\n')})
    code, _, err = harness(capsys, *RUN)
    assert code == 2
    assert err == ("harness: error: plugin 'barlow' (dist harness-barlow): module "
                   "fake_barlow.model failed to import: ImportError: cannot import name "
                   "'NoSuchThing' from 'harness.api' "
                   f"({Path(sys.modules['harness.api'].__file__)}) "
                   f"({package / 'model.py'}, line 3)\n")


def test_a_healthy_plugin_loads_and_its_model_imports(site, capsys):
    make_package(site, {})
    pm = PluginManager()
    assert 'barlow' not in [p.name for p in pm.load_errors()]
    assert pm.get('method', 'barlow').plugin.distribution == 'harness-barlow'
    pm.import_modules(['fake_barlow.model'])
    assert 'fake_barlow.model' in sys.modules
    # a module not installed at all is the config check's (it names the config key)
    pm.import_modules(['fake_barlow.absent', 'fake_absent_xyz.model'])
    assert not pm.load_errors()


def test_a_model_module_of_a_plugin_whose_package_does_not_import(site):
    package = make_package(site, {})
    pm = PluginManager()
    (package / '__init__.py').write_text('\n\nraise RuntimeError("half installed")\n')
    for name in [m for m in sys.modules if m.startswith('fake_barlow')]:
        del sys.modules[name]
    with pytest.raises(PluginError) as caught:
        pm.import_modules(['fake_barlow.model'])
    assert str(caught.value) == (
        "plugin 'barlow' (dist harness-barlow): module fake_barlow.model failed to import: "
        f"RuntimeError: half installed ({package / '__init__.py'}, line 3)")


def test_an_unrelated_broken_plugin_does_not_hide_a_known_name(site):
    make_package(site, {'plugin.py': 'raise RuntimeError("boom")\n'})
    pm = PluginManager()
    assert pm.get('method', 'brave').info.name == 'brave'
    assert [p.name for p in pm.load_errors()] == ['barlow']


def test_plugin_root_and_syntax_check_without_importing(tmp_path, monkeypatch):
    package = make_package(tmp_path, {'configs/bad.py': 'x = [\n'})
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / 'fake_single.py').write_text('x = 1\n')
    assert plugin_root('fake_barlow.plugin') == package.resolve()
    assert plugin_root('fake_single') == (tmp_path / 'fake_single.py').resolve()
    assert plugin_root('fake_absent_xyz') is None
    found = syntax_error(package)
    assert (found.filename, found.lineno) == (str(package / 'configs' / 'bad.py'), 1)
    assert 'fake_barlow' not in sys.modules
    assert syntax_error(tmp_path / 'fake_single.py') is None


def test_describe_takes_the_deepest_frame_inside_the_root(tmp_path):
    here = Path(__file__).resolve()
    try:
        json.loads('{')  # raised inside the json package, called from here
    except ValueError as exc:
        line = exc.__traceback__.tb_lineno
        assert describe(exc, here) == (f'JSONDecodeError: Expecting property name enclosed in '
                                       f'double quotes: line 1 column 2 (char 1) ({here}, '
                                       f'line {line})')
        deepest = describe(exc, tmp_path)  # no frame there: the deepest frame, json's own
        assert str(here) not in deepest and f"{Path(json.__file__).parent}" in deepest


@pytest.mark.slow
def test_the_example_plugin_pip_installed_with_a_broken_model_module(tmp_path):
    """As a third party meets it: the example plugin, its model module broken, installed by
    pip; the commands run in their own process."""
    import os
    import shutil
    import subprocess

    source = tmp_path / 'src'
    shutil.copytree(Path(__file__).resolve().parent / 'example_plugin', source)
    model = source / 'harness_example' / 'tinysiam.py'
    model.write_text(model.read_text().replace('def negative_cosine(p, z):',
                                               'def negative_cosine(p, z)'))
    line = model.read_text().splitlines().index('def negative_cosine(p, z)') + 1
    site = tmp_path / 'site'
    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps',
                    '--no-build-isolation', '--disable-pip-version-check', '--target', str(site),
                    str(source)], check=True, capture_output=True)
    env = dict(os.environ, PYTHONPATH=str(site))
    installed = site / 'harness_example' / 'tinysiam.py'
    error = f"SyntaxError: expected ':' ({installed}, line {line})"

    def harness(*args):
        return subprocess.run([sys.executable, '-m', 'harness.cli', *args], env=env,
                              cwd=tmp_path, capture_output=True, text=True)

    listed = harness('list')
    assert (listed.returncode, listed.stderr) == (0, f'plugin example failed to load: {error}\n')
    run = harness('run', '--method', 'tinysiam', '--eval', 'ucf101', '--dry-run')
    assert (run.returncode, run.stderr) == (
        2, "harness: error: plugin 'example' (dist harness-example): module "
           f"harness_example.tinysiam failed to import: {error}\n")
