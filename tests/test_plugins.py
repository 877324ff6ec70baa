"""The plugin manager, against fake distributions installed into a temporary folder."""
from __future__ import annotations

import importlib.metadata as metadata
import inspect
import json
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
    register(MethodInfo(name={name!r}, summary='fake', modality='video', configs={{}},
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
    make_dist(site, 'harness-alpha', '1.2', 'alpha', 'fake_alpha',
              METHOD_PLUGIN.format(name='alpha'))
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
    make_dist(site, 'harness-alpha', '1.0', 'alpha', 'fake_alpha',
              METHOD_PLUGIN.format(name='alpha'))
    (site / 'fake_explicit.py').write_text(METHOD_PLUGIN.format(name='explicit'))
    monkeypatch.setenv(AUTOLOAD_ENV, '1')
    pm = PluginManager(['fake_explicit'], entry_points=entry_points(site))
    assert sorted(pm.components['method']) == ['explicit']


def test_unknown_name_suggests_closest(site):
    make_dist(site, 'harness-alpha', '1.0', 'alpha', 'fake_alpha',
              METHOD_PLUGIN.format(name='brave'))
    pm = PluginManager(entry_points=entry_points(site))
    with pytest.raises(PluginError, match=r"unknown method 'bravo'; did you mean 'brave'\?"):
        pm.get('method', 'bravo')
    with pytest.raises(PluginError, match="known: brave"):
        pm.get('method', 'zzzzzzzz')


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


# --- the hook contract: a misspelt hook ----------------------------------------------------

MISSPELT_PLUGIN = '''
from harness import hookimpl
from harness.api import MethodInfo

@hookimpl
def harness_register_method(register):
    register(MethodInfo(name='typo', summary='fake', modality='video', configs={},
                        default_backbone='r3d18'))

@hookimpl
def harness_run_start(run):
    raise AssertionError('a plugin that breaks the contract must not be called')
'''

MISSPELT_ERROR = ("plugin 'myplugin' (dist my-dist) implements 'harness_register_method', which "
                  "is no harness hook; did you mean 'harness_register_methods'?")


def test_misspelt_hook_is_that_plugins_load_error_and_others_still_load(site):
    make_dist(site, 'harness-good', '1.0', 'good', 'fake_good', METHOD_PLUGIN.format(name='good'))
    make_dist(site, 'my-dist', '0.1', 'myplugin', 'fake_misspelt', MISSPELT_PLUGIN)
    pm = PluginManager(entry_points=entry_points(site))
    assert sorted(pm.components['method']) == ['good']
    [broken] = pm.load_errors()
    assert broken.name == 'myplugin'
    assert broken.error == ("'harness_register_method' is no harness hook; did you mean "
                            "'harness_register_methods'?")
    assert broken.unknown_hooks == ['harness_register_method'] and broken.registers == {}
    assert (broken.error_file, broken.error_line) == (str(site / 'fake_misspelt.py'), 5)
    pm.run_start('plan')  # its correct hooks are unloaded with it
    with pytest.raises(PluginError) as caught:
        pm.check_hooks()
    assert str(caught.value) == MISSPELT_ERROR


def test_misspelt_hook_of_a_p_module_and_a_name_close_to_no_hook(site, monkeypatch):
    (site / 'fake_far.py').write_text(textwrap.dedent('''
        from harness import hookimpl

        @hookimpl
        def upload_everything(record):
            pass

        @hookimpl(optionalhook=True)
        def harness_maybe_later(run):
            pass
    '''))
    monkeypatch.setenv(AUTOLOAD_ENV, '1')
    pm = PluginManager(['fake_far'])
    with pytest.raises(PluginError) as caught:
        pm.check_hooks()
    assert str(caught.value) == ("plugin 'fake_far' implements 'upload_everything', which is no "
                                 'harness hook; the hooks are listed in harness/hookspecs.py')


def test_a_run_with_a_misspelt_hook_stops_with_one_line_and_exit_2(site, monkeypatch, capsys):
    from harness import cli

    make_dist(site, 'my-dist', '0.1', 'myplugin', 'fake_misspelt', MISSPELT_PLUGIN)
    monkeypatch.setattr(metadata, 'entry_points',
                        lambda group=None: [ep for ep in entry_points(site) if group == 'harness'])
    assert cli.main(['run', '--method', 'typo', '--eval', 'ucf101']) == 2
    assert capsys.readouterr().err == f'harness: error: {MISSPELT_ERROR}\n'
    assert cli.main(['list']) == 0
    err = capsys.readouterr().err
    assert err == ("plugin myplugin failed to load: 'harness_register_method' is no harness hook; "
                   "did you mean 'harness_register_methods'?\n")
    assert cli.main(['plugins']) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert listed['name'] == 'myplugin' and 'harness_register_method' in listed['error']


# --- the hook contract: every hook specified, documented and tested ------------------------

HOOKS = [name for name, _ in inspect.getmembers(hookspecs, inspect.isfunction)
         if name.startswith('harness_')]


def readme_plugin_section() -> str:
    text = README.read_text()
    start = text.index('\n## Plugins\n')
    return text[start:text.index('\n## ', start + 1)]


def test_the_hooks_are_the_hookspecs_pluggy_knows():
    pm = PluginManager(autoload=False)
    specified = sorted(name for name in vars(pm._pm.hook) if not name.startswith('_'))
    assert specified == HOOKS


@pytest.mark.parametrize('name', HOOKS)
def test_every_hook_is_typed_and_documented_in_its_docstring(name):
    spec = getattr(hookspecs, name)
    parameters = inspect.signature(spec).parameters
    assert spec.__doc__ and len(spec.__doc__.split()) >= 8, f'{name} needs a docstring'
    for parameter in parameters.values():
        assert parameter.annotation is not parameter.empty, f'{name}({parameter.name}) is untyped'
        assert f':param {parameter.name}:' in spec.__doc__, \
            f'{name}: its docstring does not document {parameter.name}'


@pytest.mark.parametrize('name', HOOKS)
def test_every_hook_is_documented_in_the_readme_with_its_parameters(name):
    signature = f"{name}({', '.join(inspect.signature(getattr(hookspecs, name)).parameters)})"
    assert f'`{signature}`' in readme_plugin_section(), \
        f'README.md, section Plugins, does not list `{signature}`'


@pytest.mark.parametrize('name', HOOKS)
def test_every_hook_has_a_test(name):
    """As datasette does: each hook has a ``test_hook_<hook>`` test in this module."""
    tests = [test for test in globals() if test.startswith('test_hook_')]
    assert any(test.startswith(f"test_hook_{name.removeprefix('harness_')}") for test in tests), \
        f'{name} has no test_hook_{name.removeprefix("harness_")}* test in {__name__}'


# --- each hook, called --------------------------------------------------------------------

def test_hook_register_methods_adds_methods_by_plugin(site):
    for name in ('beta', 'alpha'):
        make_dist(site, f'harness-{name}', '1.0', name, f'fake_{name}',
                  METHOD_PLUGIN.format(name=name))
    pm = PluginManager(entry_points=entry_points(site))
    assert {name: entry.plugin.name for name, entry in pm.components['method'].items()} == \
        {'alpha': 'alpha', 'beta': 'beta'}


PARTS_PLUGIN = '''
from harness import hookimpl
from harness.api import BackboneInfo, DatasetInfo, EvaluatorInfo, ProtocolInfo

@hookimpl
def harness_register_backbones(register):
    register(BackboneInfo(name='tiny', summary='fake', modality='video', cfg={}, feat_dim=8))

@hookimpl
def harness_register_evaluators(register):
    register(EvaluatorInfo(name='fake-eval', summary='fake', modality='video', dataset='fake-set',
                           protocols=[ProtocolInfo('linear', '1', 'fake',
                                                   implementation='fake_parts:Nothing')]))

@hookimpl
def harness_register_datasets(register):
    register(DatasetInfo(name='fake-set', summary='fake', modality='video', layout='fake_parts:x'))
'''


@pytest.fixture
def parts(site):
    make_dist(site, 'harness-parts', '1.0', 'parts', 'fake_parts', PARTS_PLUGIN)
    return PluginManager(entry_points=entry_points(site))


def test_hook_register_backbones(parts):
    assert parts.get('backbone', 'tiny').info.feat_dim == 8
    assert parts.plugins[0].registers['backbone'] == ['tiny']


def test_hook_register_evaluators(parts):
    assert parts.get('evaluator', 'fake-eval').info.protocol('linear').version == '1'
    assert parts.plugins[0].registers['evaluator'] == ['fake-eval']


def test_hook_register_datasets(parts):
    assert parts.get('dataset', 'fake-set').plugin.distribution == 'harness-parts'
    assert parts.plugins[0].registers['dataset'] == ['fake-set']


WATCH_PLUGIN = '''
from harness import hookimpl
seen = []

@hookimpl
def harness_run_start(run):
    seen.append(('start', run))

@hookimpl
def harness_pretrain_end(run, backbone_weights, reused):
    seen.append(('pretrain', run, backbone_weights, reused))

@hookimpl
def harness_record_written(run, record, path):
    seen.append(('record', run, record, path))
'''


@pytest.fixture
def watched(site):
    make_dist(site, 'harness-watch', '1.0', 'watch', 'fake_watch', WATCH_PLUGIN)
    return PluginManager(entry_points=entry_points(site)), sys.modules['fake_watch'].seen


def test_hook_run_start_gets_the_plan(watched):
    pm, seen = watched
    pm.run_start('plan')
    assert seen == [('start', 'plan')]


def test_hook_pretrain_end_gets_the_backbone_weights_and_whether_reused(watched):
    pm, seen = watched
    pm.pretrain_end('plan', 'work/pretrain/x/backbone.pth', True)
    pm.pretrain_end('plan', backbone_weights='b.pth', reused=False)
    assert seen == [('pretrain', 'plan', 'work/pretrain/x/backbone.pth', True),
                    ('pretrain', 'plan', 'b.pth', False)]


def test_hook_record_written_gets_the_record_and_its_path(watched):
    pm, seen = watched
    pm.record_written('plan', {'method': 'x'}, Path('r.json'))
    assert seen == [('record', 'plan', {'method': 'x'}, Path('r.json'))]


def test_a_hookimpl_may_take_a_subset_of_the_parameters(site):
    make_dist(site, 'harness-few', '1.0', 'few', 'fake_few', '''
        from harness import hookimpl
        seen = []

        @hookimpl
        def harness_pretrain_end(reused):
            seen.append(reused)
    ''')
    pm = PluginManager(entry_points=entry_points(site))
    pm.pretrain_end('plan', 'b.pth', True)
    assert sys.modules['fake_few'].seen == [True]
