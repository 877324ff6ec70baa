"""Shared fixtures: the example third-party plugin installed into a temporary site folder, a
small demo dataset, and a way to run the ``harness`` command as a user would."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

#: A schedule small enough for tests (the defaults are the demo schedule of the configs).
SMOKE_OPTIONS = [
    'train_cfg.max_iters=6', 'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
    'train_dataloader.persistent_workers=False', 'model.hidden_dim=16',
    'eval.train_cfg.max_epochs=1', 'eval.param_scheduler.0.T_max=1',
    'eval.train_dataloader.batch_size=4', 'eval.train_dataloader.num_workers=0',
    'eval.train_dataloader.persistent_workers=False', 'eval.test_dataloader.num_workers=0',
    'eval.test_dataloader.persistent_workers=False',
]


@pytest.fixture(scope='session')
def example_site(tmp_path_factory) -> Path:
    """tests/example_plugin, pip-installed (not editable) into its own folder."""
    site = tmp_path_factory.mktemp('example-site')
    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps',
                    '--no-build-isolation', '--disable-pip-version-check', '--target', str(site),
                    str(REPO / 'tests' / 'example_plugin')], check=True, capture_output=True)
    return site


@pytest.fixture(scope='session')
def small_demo(tmp_path_factory) -> Path:
    """A small UCF101-layout demo dataset (5 classes, 4 groups of 2 clips, 24 frames)."""
    from harness_videodata.ucf101 import generate_demo

    root = tmp_path_factory.mktemp('ucf101-demo')
    return generate_demo(root, groups=4, clips_per_group=2, frames=24, size=64)


@pytest.fixture(scope='session')
def small_image_demo(tmp_path_factory) -> Path:
    """A small imagenet-layout demo dataset (5 classes, 4 train and 2 val images each)."""
    from harness_imagedata.imagenet import generate_demo

    root = tmp_path_factory.mktemp('imagenet-demo')
    return generate_demo(root, train_per_class=4, val_per_class=2)


@pytest.fixture
def harness_cli(example_site):
    """Run ``python -m harness.cli ARGS`` in a subprocess with the example plugin installed."""

    def run(*args: str, check: bool = False, **kwargs) -> subprocess.CompletedProcess:
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(example_site), os.environ.get('PYTHONPATH', '')]).rstrip(os.pathsep))
        result = subprocess.run([sys.executable, '-m', 'harness.cli', *args], env=env,
                                capture_output=True, text=True, **kwargs)
        if check and result.returncode != 0:
            raise AssertionError(f'harness {" ".join(args)} failed ({result.returncode}):\n'
                                 f'{result.stdout}\n{result.stderr}')
        return result

    return run
