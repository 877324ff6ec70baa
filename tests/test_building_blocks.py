"""docs/building-blocks.md against the code: every name it lists exists where it says, every
default it states is the code's, every export of harness.api is listed."""
from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import re

import pytest

from tests.conftest import REPO

PAGE = REPO / 'docs' / 'building-blocks.md'


def section(title: str) -> str:
    """The text of the page's ``## title`` section."""
    text = PAGE.read_text()
    start = text.index(f'\n## {title}\n')
    end = text.find('\n## ', start + 1)
    return text[start:end if end > 0 else None]


def table(text: str, after: str = '') -> dict[str, list[str]]:
    """The first table in ``text`` (after the line holding ``after``): first cell (its
    backticks removed) -> the other cells."""
    lines = text[text.index(after):].splitlines() if after else text.splitlines()
    rows, started = {}, False
    for line in lines:
        if line.startswith('|'):
            started = True
            cells = [cell.strip() for cell in line.strip('|').split('|')]
            if set(cells[0]) <= set('-') or not cells[0].startswith('`'):
                continue
            rows[cells[0].strip('`')] = [cell.strip('`') for cell in cells[1:]]
        elif started:
            break
    return rows


def literal(text: str):
    """A default as the page writes it (Python literals, ``32 / 255`` included)."""
    return eval(compile(ast.parse(text, mode='eval'), '<page>', 'eval'), {})  # noqa: S307


def test_every_type_is_registered_where_the_page_says():
    from harness import registry
    from harness.config import CORE_IMPORTS

    for module in CORE_IMPORTS:
        importlib.import_module(module)
    rows = table(section('Types a config names'))
    assert len(rows) == 12
    for name, (where, _) in rows.items():
        assert getattr(registry, where).get(name) is not None, f'{name} is not in {where}'


def test_view_spec_fields_and_defaults_are_the_code():
    from harness.data.views import ViewSpec

    rows = table(section('Types a config names'), after='A view spec')
    fields = {f.name: f for f in dataclasses.fields(ViewSpec)}
    assert list(rows) == list(fields)
    for name, (default, _) in rows.items():
        field = fields[name]
        if default == '(required)':
            assert field.default is dataclasses.MISSING
            assert field.default_factory is dataclasses.MISSING
        else:
            code = field.default_factory() if field.default is dataclasses.MISSING \
                else field.default
            assert literal(default) == code, name


def test_augment_options_and_defaults_are_the_code():
    from harness.data.augment import AUGMENT_DEFAULTS, JITTER
    from harness.data.augment_steps import ordered_steps

    rows = table(section('Augmentation options'))
    # the core's steps only: an imported plugin (brave, transrank) registers steps of its own
    core = [option for step in ordered_steps() if step.apply.__module__.startswith('harness.')
            for option in step.options]
    assert list(rows) == core == list(AUGMENT_DEFAULTS)
    assert {name: literal(default) for name, (default, _) in rows.items()} == AUGMENT_DEFAULTS
    assert AUGMENT_DEFAULTS['jitter'] == JITTER


def test_lars_arguments_and_defaults_are_the_code():
    from harness.registry import OPTIMIZERS
    from harness import optimizers  # noqa: F401  (registers LARS)

    rows = table(section('Optimizers and parameter groups'), after='Its arguments')
    signature = inspect.signature(OPTIMIZERS.get('LARS'))
    documented = {name: literal(default) for name, (default,) in rows.items()}
    in_code = {name: p.default for name, p in signature.parameters.items()
               if name not in ('params', 'foreach')}
    assert documented == in_code


def test_the_param_groups_example_builds_as_described():
    """The page's ParamGroupsOptimWrapperConstructor example, on a model with a predictor."""
    from mmengine.registry import DefaultScope
    from torch import nn

    from harness.optimizers import ParamGroupsOptimWrapperConstructor

    block = re.search(r'```python\n(optim_wrapper = .*?)```', section(
        'Optimizers and parameter groups'), re.S).group(1)
    scope: dict = {}
    exec(block, scope)  # noqa: S102 - the page's own config text
    cfg = dict(scope['optim_wrapper'])
    assert cfg.pop('constructor') == 'ParamGroupsOptimWrapperConstructor'
    model = nn.Module()
    model.backbone = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    model.predictor = nn.Linear(4, 4)
    with DefaultScope.overwrite_default_scope('harness'):  # configs run in the harness scope
        wrapper = ParamGroupsOptimWrapperConstructor(cfg, cfg.pop('paramwise_cfg'))(model)
    names = {id(p): n for n, p in model.named_parameters()}
    found = {names[id(p)]: (round(g['lr'], 6), g['weight_decay'])
             for g in wrapper.optimizer.param_groups for p in g['params']}
    assert found == {'backbone.0.weight': (0.2, 1.5e-6), 'backbone.0.bias': (0.0048, 0.0),
                     'backbone.1.weight': (0.0048, 0.0), 'backbone.1.bias': (0.0048, 0.0),
                     'predictor.weight': (2.0, 1.5e-6), 'predictor.bias': (0.048, 0.0)}


def test_plugin_hooks_are_the_hookspecs():
    from harness import hookspecs

    rows = table(section('Plugin hooks'))
    assert set(rows) == {name for name in dir(hookspecs) if name.startswith('harness_')}


def test_test_helpers_exist_with_the_documented_arguments():
    from harness import testing

    rows = table(section('Test helpers'))
    assert len(rows) == 13
    for name, (what,) in rows.items():
        assert hasattr(testing, name), name
        documented = re.match(r'\((.*?)\)`', what)
        if not documented:
            continue
        # the arguments the page gives are the signature's first ones, with their defaults
        parameters = list(inspect.signature(getattr(testing, name)).parameters.values())
        shown = [part for part in documented.group(1).split(', ') if part != '...']
        assert len(shown) <= len(parameters), name
        for part, parameter in zip(shown, parameters):
            argument, _, default = part.lstrip('*').partition('=')
            assert argument == parameter.name, (name, part)
            if default:
                assert literal(default) == parameter.default, (name, part)


def test_every_export_of_harness_api_is_listed():
    import harness.api as api

    text = section('Everything `harness.api` exports')
    intro, _, listing = text.partition('it exports')
    rows = [line.strip('|').split('|') for line in listing.splitlines()
            if line.startswith('|') and not set(line) <= set('|- ')]
    listed = {name for _, names in rows[1:] for name in re.findall(r'`(\w+)`', names)}
    assert listed == set(api._ORIGIN) | set(api._NAMESPACES)
    interfaces = set(re.findall(r'`(\w+)`', intro)) - {'harness', 'hookimpl'}
    defined = {name for name, value in vars(api).items() if not name.startswith('_')
               and getattr(value, '__module__', None) == 'harness.api'}
    assert interfaces == defined


@pytest.mark.parametrize('page', ['building-blocks.md', 'image-plugin-example.md'])
def test_the_readme_links_the_plugin_pages(page):
    assert f'docs/{page}' in (REPO / 'README.md').read_text()
