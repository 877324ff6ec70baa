"""The videodata plugin registers its dataset layouts, cheaply, and every layout module offers
the layout API of harness.api.DatasetInfo."""
from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from harness.api import DatasetInfo
from harness_videodata import plugin

NAMES = ('ucf101', 'hmdb51', 'kinetics400', 'videofolder')


def registered() -> list[DatasetInfo]:
    infos: list[DatasetInfo] = []
    plugin.harness_register_datasets(register=infos.append)
    return infos


def test_registers_the_four_layouts():
    infos = registered()
    assert tuple(i.name for i in infos) == NAMES
    for info in infos:
        assert isinstance(info, DatasetInfo) and info.modality == 'video'
        assert info.summary and info.layout_help
        assert info.layout == f'harness_videodata.{info.name}'


@pytest.mark.parametrize('name', NAMES)
def test_layout_modules_offer_the_layout_api(name):
    module = importlib.import_module(f'harness_videodata.{name}')
    assert isinstance(module.SPLITS, tuple) and module.SPLITS and module.SPLITS[0] == '1'
    for function in ('read_split', 'generate_demo', 'is_demo'):
        assert callable(getattr(module, function))


def test_plugin_module_is_cheap_to_import():
    code = ('import sys, harness_videodata.plugin; '
            'print(sorted(m for m in ("torch", "cv2", "decord", "numpy") if m in sys.modules))')
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == '[]'


def test_found_through_the_entry_point():
    from harness.plugins import PluginManager

    manager = PluginManager()
    for name in NAMES:
        entry = manager.get('dataset', name)
        assert entry.info.layout == f'harness_videodata.{name}'
        assert entry.plugin.distribution == 'harness-videodata'
