"""The image-method example of "Writing a plugin" (docs/image-plugin-example.md) as a third
party ships it: its files are taken from the page, installed with pip into a temporary folder
(nothing stays installed), its own tests pass, and it runs through kNN on demo data."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

PAGE = REPO / 'docs' / 'image-plugin-example.md'
#: A fenced block that is a file of the package: its first line is ``# file: PATH``.
FILE_BLOCK = re.compile(r'^```[a-z]*\n(# file: (\S+)\n.*?)^```$', re.S | re.M)
PACKAGE_FILES = {'pyproject.toml', 'harness_barlow/__init__.py', 'harness_barlow/plugin.py',
                 'harness_barlow/losses.py', 'harness_barlow/model.py',
                 'harness_barlow/configs/barlow_demo.py',
                 'harness_barlow/configs/barlow_paper.py', 'tests/test_barlow.py'}
#: A 2-step pretraining at tiny widths (the demo config's own keys), one image a step.
TINY = ['train_cfg.max_iters=2', 'train_dataloader.batch_size=4',
        'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
        'model.hidden_dim=16', 'model.dim=16', 'param_scheduler.0.end=1',
        'param_scheduler.1.begin=1', 'param_scheduler.1.T_max=1']


def page_files() -> dict[str, str]:
    """path -> text of every file the page shows whole."""
    files: dict[str, str] = {}
    for match in FILE_BLOCK.finditer(PAGE.read_text()):
        assert match.group(2) not in files, f'{match.group(2)} is shown twice'
        files[match.group(2)] = match.group(1)
    return files


def test_the_page_shows_every_file_of_the_package_once():
    assert set(page_files()) == PACKAGE_FILES


@pytest.fixture(scope='module')
def barlow(tmp_path_factory) -> tuple[Path, Path]:
    """(the package's source folder, the folder pip installed it into)."""
    source = tmp_path_factory.mktemp('harness-barlow')
    for path, text in page_files().items():
        (source / path).parent.mkdir(parents=True, exist_ok=True)
        (source / path).write_text(text)
    site = tmp_path_factory.mktemp('barlow-site')
    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps',
                    '--no-build-isolation', '--disable-pip-version-check', '--target', str(site),
                    str(source)], check=True, capture_output=True)
    return source, site


def run(site: Path, *command: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(site), os.environ.get('PYTHONPATH', '')]).rstrip(os.pathsep), OMP_NUM_THREADS='1')
    return subprocess.run([sys.executable, *command], env=env, capture_output=True, text=True,
                          cwd=cwd)


@pytest.mark.slow
def test_the_example_installs_passes_its_tests_and_runs_knn_on_demo_data(barlow, tmp_path,
                                                                         small_image_demo):
    source, site = barlow
    listed = run(site, '-m', 'harness.cli', 'list')
    assert listed.returncode == 0, listed.stderr
    assert re.search(r'^\s+barlow\b.*\[image\]', listed.stdout, re.M), listed.stdout

    tests = run(site, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', 'tests', cwd=source)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert '2 passed' in tests.stdout

    work = tmp_path / 'work'
    result = run(site, '-m', 'harness.cli', 'run', '--method', 'barlow', '--eval', 'imagenet',
                 '--protocol', 'knn', '--data', str(small_image_demo), '--work-dir', str(work),
                 '--cfg-options', *TINY,
                 # the demo config's AdamW with the norm layers' weight decay off
                 '+optim_wrapper.constructor=ParamGroupsOptimWrapperConstructor',
                 '+optim_wrapper.paramwise_cfg.norm.decay_mult=0.0')
    assert result.returncode == 0, result.stdout + result.stderr
    [path] = (work / 'records').glob('*.json')
    record = json.loads(path.read_text())
    assert record['method']['name'] == 'barlow'
    assert record['method']['distribution'] == 'harness-barlow'
    assert record['method']['version'] == '0.1.0'
    assert record['backbone']['name'] == 'resnet18-slim'
    assert record['eval']['protocol'] == 'knn'
    assert 0 <= record['metrics']['top1']['value'] <= 100
    assert record['pretrain']['iters'] == 2
    # every param group as the optimizer was built: the config's lr (the schedule's start
    # before warm-up) and weight decay, and the norm layers' without decay
    assert [(g['lr'], g['weight_decay'], g['first']) for g in record['pretrain']['param_groups']
            ] == [(1e-3, 1e-2, 'backbone.net.conv1.weight'), (1e-3, 0.0, 'backbone.net.bn1.weight')]


@pytest.mark.slow
def test_the_paper_config_resolves_with_its_param_groups(barlow, tmp_path):
    """The paper config passes every check of a dry run (nothing trains)."""
    _, site = barlow
    result = run(site, '-m', 'harness.cli', 'run', '--method', 'barlow', '--eval', 'imagenet',
                 '--protocol', 'knn', '--config', 'paper', '--dry-run', '--work-dir',
                 str(tmp_path / 'work'))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "constructor='ParamGroupsOptimWrapperConstructor'" in result.stdout
