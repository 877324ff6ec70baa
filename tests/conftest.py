"""Shared fixtures: the example third-party plugin installed into a temporary site folder, small
demo datasets, and two ways to run the ``harness`` command as a user would: in a new process
(``harness_cli``) or in the test's own (``harness_here``). Also the slow tests' place in the
order the test workers take them."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import torch

# the tests' own training steps flush denormals as every harness command does (harness.engine)
torch.set_flush_denormal(True)

REPO = Path(__file__).resolve().parent.parent

#: pytest's own fixture for running pytest on files a test writes
pytest_plugins = ['pytester']

#: A memory-backed folder for the tests' temporary files, used when it has at least this much
#: room (the whole suite peaks at about 2 GB there; the pretraining tests write checkpoints of
#: up to 1.4 GB, which a disk takes seconds to absorb).
MEMORY_TMP_FOLDER, MEMORY_TMP_MIN_FREE = Path('/dev/shm'), 4 * 2**30


def memory_tmp_folder(folder: Path = MEMORY_TMP_FOLDER, min_free: int = MEMORY_TMP_MIN_FREE,
                      mounts: Path = Path('/proc/mounts')) -> Path | None:
    """``folder`` when it is a tmpfs mount with ``min_free`` bytes free, else None."""
    try:
        tmpfs = any(line.split()[1:3] == [str(folder), 'tmpfs']
                    for line in mounts.read_text().splitlines())
        room = os.statvfs(folder) if tmpfs else None
    except OSError:
        return None
    return folder if room is not None and room.f_bavail * room.f_frsize >= min_free else None


def pytest_configure(config):
    """Temporary files in memory where this machine has the room (:func:`memory_tmp_folder`),
    unless the run names its own place (``--basetemp`` or ``TMPDIR``). Set in the main process
    before pytest makes its base folder; test workers and the commands tests start inherit it."""
    if config.option.basetemp or os.environ.get('TMPDIR') or hasattr(config, 'workerinput'):
        return
    folder = memory_tmp_folder()
    if folder is not None:
        os.environ['TMPDIR'] = str(folder)
        tempfile.tempdir = None  # tempfile computes its folder again from TMPDIR


def pytest_collection_modifyitems(config, items):
    """The slow tests first, each group in collection order. pytest-xdist hands tests to its
    workers in this order, one or two at a time (tox.ini's ``--maxschedchunk 1``), so the long
    runs start early and the short tests fill the last minutes of both workers."""
    items.sort(key=lambda item: item.get_closest_marker('slow') is None)


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
    """tests/example_plugin, pip-installed (not editable) into its own folder. pip builds in
    the plugin's own folder (its ``build`` and egg-info), so the test workers take turns: two
    builds at once can leave one install with its metadata and without its package."""
    import fcntl

    site = tmp_path_factory.mktemp('example-site')
    # the folder every test worker's base folder is in
    with open(tmp_path_factory.getbasetemp().parent / 'example-plugin.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        subprocess.run([sys.executable, '-m', 'pip', 'install', '-q', '--no-deps',
                        '--no-build-isolation', '--disable-pip-version-check', '--target',
                        str(site), str(REPO / 'tests' / 'example_plugin')], check=True,
                       capture_output=True)
    return site


@pytest.fixture(scope='session')
def small_demo(tmp_path_factory) -> Path:
    """A small UCF101-layout demo dataset (5 classes, 4 groups of 2 clips, 24 frames)."""
    from harness_videodata.ucf101 import generate_demo

    root = tmp_path_factory.mktemp('ucf101-demo')
    return generate_demo(root, groups=4, clips_per_group=2, frames=24, size=64)


@pytest.fixture(scope='session')
def tiny_demo(tmp_path_factory) -> Path:
    """The smallest UCF101-layout demo the generator writes (5 classes, 3 groups of 1 clip, 24
    frames of 32 px): split 1 trains on one video per class and tests on two, for smoke runs
    that only need every step of a protocol to run once."""
    from harness_videodata.ucf101 import generate_demo

    root = tmp_path_factory.mktemp('ucf101-tiny-demo')
    return generate_demo(root, groups=3, clips_per_group=1, frames=24, size=32)


@pytest.fixture(scope='session')
def small_image_demo(tmp_path_factory) -> Path:
    """A small imagenet-layout demo dataset (5 classes, 4 train and 2 val images each)."""
    from harness_imagedata.imagenet import generate_demo

    root = tmp_path_factory.mktemp('imagenet-demo')
    return generate_demo(root, train_per_class=4, val_per_class=2)


@pytest.fixture(scope='session')
def small_voc07_demo(tmp_path_factory) -> Path:
    """A small VOC2007-layout demo (6 trainval, 4 test images), with VOC2012 a copy of VOC2007
    (the 07+12 configs' second train set)."""
    import shutil

    from harness_detdata.voc07 import generate_demo

    root = generate_demo(tmp_path_factory.mktemp('voc07-demo'), trainval=6, test=4)
    shutil.copytree(root / 'VOCdevkit' / 'VOC2007', root / 'VOCdevkit' / 'VOC2012')
    return root


@pytest.fixture(scope='session')
def small_coco_demo(tmp_path_factory) -> Path:
    """A small COCO-layout demo (6 train, 4 val images)."""
    from harness_detdata.coco import generate_demo

    return generate_demo(tmp_path_factory.mktemp('coco-demo'), train=6, val=4)


@pytest.fixture(scope='session')
def small_nyuv2_demo(tmp_path_factory) -> Path:
    """A small NYUv2-layout demo (6 train, 3 test rooms)."""
    from harness_nyudata.nyuv2 import generate_demo

    return generate_demo(tmp_path_factory.mktemp('nyuv2-demo'), train=6, test=3)


@pytest.fixture
def harness_here(example_site, monkeypatch, capsys):
    """``harness ARGS`` in this process (the example plugin importable), as :func:`harness_cli`
    runs it in a new one, without starting an interpreter and importing the stack again: the
    exit code and what it printed, as a ``CompletedProcess``."""
    from harness.cli import main

    monkeypatch.syspath_prepend(str(example_site))

    def run(*args: str, check: bool = False) -> subprocess.CompletedProcess:
        code = main(list(args))
        out, err = capsys.readouterr()
        if check and code != 0:
            raise AssertionError(f'harness {" ".join(args)} failed ({code}):\n{out}\n{err}')
        return subprocess.CompletedProcess(['harness', *args], code, out, err)

    return run


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
