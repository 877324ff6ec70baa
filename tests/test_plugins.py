"""The plugin manager, against fake distributions installed into a temporary folder."""
from __future__ import annotations

import importlib.metadata as metadata
import inspect
import sys
import textwrap
from pathlib import Path

import pytest

from harness import hookspecs
from harness.errors import PluginError
from harness.plugins import AUTOLOAD_ENV, PluginManager

README = Path(__file__).resolve().parent.parent / 'README.md'

METHOD_PLUGIN = '''
from harness import hookimpl
from harness.api import MethodInfo

@hookimpl
def harness_register_methods(register):
    register(MethodInfo(name={name!r}, summary='fake', data='video', configs={{}},
                        default_backbone='r3d18'))
'''


def make_dist(site: Path, dist: str, version: str, entry: str, module: str, code: str) -> None:
    """A fake installed distribution: a module plus a dist-info with a harness entry point."""
    (site / f'{module}.py').write_text(textwrap.dedent(code))
    info = site / f'{dist.replace("-", "_")}-{version}.dist-info'
    info.mkdir()
    (info / 'METADATA').write_text(f'Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n')
    (info / 'entry_points.txt').write_text(f'[harness]\n{entry} = {module}\n')


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [m for m in sys.modules if m.startswith('fake_')]:
        del sys.modules[name]


def entry_points(site: Path):
    return [ep for dist in metadata.distributions(path=[str(site)])
            for ep in dist.entry_points if ep.group == 'harness']


def test_loads_entry_points_and_records_distribution(site):
    make_dist(site, 'harness-alpha', '1.2', 'alpha', 'fake_alpha', METHOD_PLUGIN.format(name='alpha'))
    pm = PluginManager(entry_points=entry_points(site))
    entry = pm.get('method', 'alpha')
    assert entry.plugin.distribution == 'harness-alpha'
    assert entry.plugin.version == '1.2'
    assert pm.plugins[0].registers == {'method': ['alpha']}


def test_broken_plugin_is_reported_and_others_still_load(site):
    make_dist(site, 'harness-good', '1.0', 'good', 'fake_good', METHOD_PLUGIN.format(name='good'))
    make_dist(site, 'harness-bad', '0.1', 'bad', 'fake_bad', 'import no_such_module_xyz\n')
    pm = PluginManager(entry_points=entry_points(site))
    assert pm.get('method', 'good').info.name == 'good'
    errors = {p.name: p.error for p in pm.load_errors()}
    assert list(errors) == ['bad']
    assert 'no_such_module_xyz' in errors['bad']


def test_register_hook_that_raises_is_reported_not_fatal(site):
    make_dist(site, 'harness-good', '1.0', 'good', 'fake_good', METHOD_PLUGIN.format(name='good'))
    make_dist(site, 'harness-raises', '1.0', 'raises', 'fake_raises', '''
        from harness import hookimpl

        @hookimpl
        def harness_register_methods(register):
            register('not an info')
    ''')
    pm = PluginManager(entry_points=entry_points(site))
    assert 'good' in pm.components['method']
    assert 'expected a MethodInfo' in pm.load_errors()[0].error


def test_duplicate_names_name_both_distributions(site):
    make_dist(site, 'harness-one', '1.0', 'one', 'fake_one', METHOD_PLUGIN.format(name='same'))
    make_dist(site, 'harness-two', '2.0', 'two', 'fake_two', METHOD_PLUGIN.format(name='same'))
    pm = PluginManager(entry_points=entry_points(site))
    with pytest.raises(PluginError) as info:
        pm.components
    message = str(info.value)
    assert 'harness-one 1.0' in message and 'harness-two 2.0' in message
    assert "method 'same'" in message and '-p no:' in message


def test_block_one_plugin_with_no_prefix(site):
    make_dist(site, 'harness-one', '1.0', 'one', 'fake_one', METHOD_PLUGIN.format(name='same'))
    make_dist(site, 'harness-two', '2.0', 'two', 'fake_two', METHOD_PLUGIN.format(name='same'))
    pm = PluginManager(['no:two'], entry_points=entry_points(site))
    assert pm.get('method', 'same').plugin.distribution == 'harness-one'
    assert [p.name for p in pm.plugins] == ['one']


def test_autoload_can_be_disabled_and_plugins_loaded_explicitly(site, monkeypatch):
    make_dist(site, 'harness-alpha', '1.0', 'alpha', 'fake_alpha', METHOD_PLUGIN.format(name='alpha'))
    (site / 'fake_explicit.py').write_text(METHOD_PLUGIN.format(name='explicit'))
    monkeypatch.setenv(AUTOLOAD_ENV, '1')
    pm = PluginManager(['fake_explicit'], entry_points=entry_points(site))
    assert sorted(pm.components['method']) == ['explicit']


def test_unknown_name_suggests_closest(site):
    make_dist(site, 'harness-alpha', '1.0', 'alpha', 'fake_alpha', METHOD_PLUGIN.format(name='brave'))
    pm = PluginManager(entry_points=entry_points(site))
    with pytest.raises(PluginError, match=r"unknown method 'bravo'; did you mean 'brave'\?"):
        pm.get('method', 'bravo')
    with pytest.raises(PluginError, match="known: brave"):
        pm.get('method', 'zzzzzzzz')


def test_lifecycle_hooks_reach_plugins(site):
    make_dist(site, 'harness-watch', '1.0', 'watch', 'fake_watch', '''
        from harness import hookimpl
        seen = []

        @hookimpl
        def harness_run_start(run):
            seen.append(('start', run))

        @hookimpl
        def harness_pretrain_end(run, checkpoint, reused):
            seen.append(('pretrain', checkpoint, reused))

        @hookimpl
        def harness_record_written(run, record, path):
            seen.append(('record', path))
    ''')
    pm = PluginManager(entry_points=entry_points(site))
    pm.run_start('plan')
    pm.pretrain_end('plan', 'ckpt.pth', True)
    pm.record_written('plan', {}, 'r.json')
    assert sys.modules['fake_watch'].seen == [
        ('start', 'plan'), ('pretrain', 'ckpt.pth', True), ('record', 'r.json')]


def test_installed_builtin_plugins_register_the_walking_skeleton():
    pm = PluginManager(autoload=True)
    assert not pm.load_errors()
    assert {'brave', 'random'} <= set(pm.components['method'])
    assert 'r3d18' in pm.components['backbone']
    assert 'finetune' in [p.name for p in pm.get('evaluator', 'ucf101').info.protocols]


def test_plugin_modules_import_no_torch():
    """Listing plugins must stay cheap: plugin.py modules may not import torch."""
    import subprocess

    code = ('import sys; from harness.plugins import PluginManager; '
            'pm = PluginManager(); pm.components; '
            'print("torch" in sys.modules, "mmaction" in sys.modules)')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ['False', 'False']


@pytest.mark.parametrize('name', [n for n, f in inspect.getmembers(hookspecs, inspect.isfunction)
                                  if n.startswith('harness_')])
def test_every_hook_is_specified_and_documented(name):
    spec = getattr(hookspecs, name)
    assert spec.__doc__ and len(spec.__doc__.split()) >= 8, f'{name} needs a docstring'
    assert f'`{name}' in README.read_text(), f'{name} is not documented in README.md'
