"""``harness validate``: the conformance table of installed plugins (harness/conformance.py),
on a built-in plugin, on the example third-party plugin, and on a copy of the example whose
config has a typo."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.cli import main

REPO = Path(__file__).resolve().parent.parent


def rows(stdout: str) -> dict[str, tuple[str, str]]:
    """check -> (result, reason) of a validate table of one plugin (columns are separated by
    at least two spaces; the header and the count line left out)."""
    table = {}
    for line in stdout.splitlines()[1:-1]:
        plugin, check, result, *reason = re.split(r' {2,}', line, maxsplit=3)
        table[check] = (result, reason[0] if reason else '')
    return table


def test_a_builtin_plugin_passes_without_smoke_runs(capsys):
    assert main(['validate', 'counting', '--skip-smoke']) == 0
    result = capsys.readouterr()
    table = rows(result.out)
    assert table == {
        'registration': ('PASS', 'method: counting'),
        'hooks': ('PASS', ''),
        'config counting:demo': ('PASS', ''),
        'config counting:paper': ('PASS', ''),
        'export counting': ('PASS', table['export counting'][1]),
    }, result.out
    assert table['export counting'][1] == '30 tensors load into alexnet-bn'
    assert result.out.splitlines()[-1] == '5 passed, 0 failed (smoke runs skipped)'
    assert result.err == ''


@pytest.mark.slow
def test_the_example_plugin_passes_with_its_smoke_run(harness_cli):
    result = harness_cli('validate', 'example')
    assert result.returncode == 0, result.stdout + result.stderr
    table = rows(result.stdout)
    assert table == {
        'registration': ('PASS', 'method: tinysiam; backbone: tiny3d'), 'hooks': ('PASS', ''),
        'backbone tiny3d': ('PASS', '32 channels out; 4 transferred tensors kept by '
                                    'init_weights()'),
        'config tinysiam:demo': ('PASS', ''), 'config tinysiam:paper': ('PASS', ''),
        'export tinysiam': ('PASS', '4 tensors load into tiny3d'),
        'smoke tinysiam:demo': ('PASS', '2 iterations on demo ucf101')}
    assert result.stdout.splitlines()[-1] == '7 passed, 0 failed'


def typo_plugin(tmp_path: Path) -> Path:
    """A copy of the example plugin whose paper config misspells the loop's max_iters."""
    site = tmp_path / 'site'
    shutil.copytree(REPO / 'tests' / 'example_plugin' / 'harness_example',
                    site / 'harness_example')
    config = site / 'harness_example' / 'configs' / 'tinysiam_paper.py'
    text = config.read_text()
    assert 'max_iters=10_000' in text
    config.write_text(text.replace('max_iters=10_000', 'max_itres=10_000'))
    return site


def test_a_config_with_a_typo_fails_with_a_row_naming_it(tmp_path):
    site = typo_plugin(tmp_path)
    env = dict(os.environ, PYTHONPATH=str(site), HARNESS_DISABLE_PLUGIN_AUTOLOAD='1')
    result = subprocess.run(
        [sys.executable, '-m', 'harness.cli', '-p', 'harness_example.plugin', 'validate',
         '--skip-smoke'], env=env, capture_output=True, text=True)
    assert result.returncode == 1, result.stdout + result.stderr
    table = rows(result.stdout)
    status, reason = table['config tinysiam:paper']
    assert status == 'FAIL'
    assert reason == ("pretraining config 'paper' of tinysiam: train_cfg.max_itres=10000: is "
                      'not an argument of IterBasedTrainLoop (its arguments: max_iters, '
                      'val_begin, val_interval, dynamic_intervals)')
    assert table['config tinysiam:demo'] == ('PASS', '')
    assert result.stdout.splitlines()[-1] == '5 passed, 1 failed (smoke runs skipped)'
    assert result.stderr == ''


def test_an_unknown_plugin_name_is_one_line_exit_2(capsys):
    assert main(['validate', 'countin', '--skip-smoke']) == 2
    result = capsys.readouterr()
    assert result.err.startswith("harness: error: no plugin named 'countin'; installed: ")
    assert 'counting' in result.err and len(result.err.splitlines()) == 1
    assert result.out == ''  # nothing checked, no table


def test_a_plugin_with_a_misspelt_hook_fails_its_hooks_row(tmp_path):
    (tmp_path / 'misspelt_plugin.py').write_text(
        'from harness import hookimpl\n\n\n@hookimpl\ndef harness_register_method(register):\n'
        '    pass\n')
    env = dict(os.environ, PYTHONPATH=str(tmp_path), HARNESS_DISABLE_PLUGIN_AUTOLOAD='1')
    result = subprocess.run(
        [sys.executable, '-m', 'harness.cli', '-p', 'misspelt_plugin', 'validate'],
        env=env, capture_output=True, text=True)
    assert result.returncode == 1, result.stdout + result.stderr
    table = rows(result.stdout)
    hint = ("'harness_register_method' is no harness hook; did you mean "
            "'harness_register_methods'?")
    assert table == {'registration': ('FAIL', hint), 'hooks': ('FAIL', hint)}


def test_an_export_missing_a_backbone_tensor_fails_naming_it(monkeypatch):
    """check_export on a method whose backbone_state_dict() leaves one tensor out and adds one
    the backbone does not have."""
    import harness.testing
    from harness.conformance import NonConformance, check_export
    from harness.plugins import PluginManager

    pm = PluginManager()
    build = harness.testing.build_method_model

    def dropping(*args, **kwargs):
        model, cfg = build(*args, **kwargs)
        exported = model.backbone_state_dict()
        first = next(iter(exported))
        model.backbone_state_dict = lambda: {**{k: v for k, v in exported.items()
                                                if k != first}, 'extra.weight': exported[first]}
        return model, cfg

    monkeypatch.setattr(harness.testing, 'build_method_model', dropping)
    method = pm.get('method', 'counting').info
    with pytest.raises(NonConformance, match=r'^1 backbone tensors missing from the export, '
                                             r'e\.g\. features\.0\.weight$'):
        check_export(pm, method)


def test_a_backbone_stating_the_wrong_width_fails_naming_both():
    import dataclasses

    from harness.conformance import NonConformance, check_backbone_width
    from harness.plugins import PluginManager

    info = PluginManager().get('backbone', 'alexnet-bn').info
    assert check_backbone_width(info) == 256
    with pytest.raises(NonConformance, match=r'^outputs shape \(2, 256, 1, 1\) for a batch of 2; '
                                             r'its BackboneInfo states feat_dim=128$'):
        check_backbone_width(dataclasses.replace(info, feat_dim=128))
