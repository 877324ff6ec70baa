"""The Runner the harness trains with: dataloader workers end with the loop that used them, and
run at idle priority when the model computes on the CPU."""
from __future__ import annotations

import multiprocessing
import os
import platform
import subprocess
import sys

import pytest
import torch
from mmengine.model import BaseModel
from torch.utils.data import Dataset

from harness.engine import (HarnessRunner, idle_loader_workers, loader_workers_idle,
                            stop_loader_workers)


class Numbers(Dataset):
    def __len__(self):
        return 16

    def __getitem__(self, index):
        return {'inputs': torch.full((2,), float(index))}


class Regress(BaseModel):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 1)

    def forward(self, inputs, data_samples=None, mode='loss'):
        return {'loss': self.linear(torch.stack(inputs)).square().mean()}


def runner(tmp_path, persistent: bool) -> HarnessRunner:
    return HarnessRunner(
        model=Regress(), work_dir=str(tmp_path),
        experiment_name=f'stops-{persistent}',  # mmengine's default (the second) may repeat
        train_dataloader=dict(dataset=Numbers(), batch_size=4, num_workers=2,
                              persistent_workers=persistent,
                              sampler=dict(type='InfiniteSampler', shuffle=True)),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=3),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
        default_hooks=dict(checkpoint=None), env_cfg=dict(dist_cfg=dict(backend='gloo')))


def started_here(before: set) -> set:
    """This process's child processes that were not among ``before`` (a test worker may
    still hold children of earlier tests, e.g. a library's pool that is closed but not
    joined)."""
    return set(multiprocessing.active_children()) - before


def test_train_stops_its_dataloader_workers_when_it_returns(tmp_path):
    # the Runner (and its loop, loader and iterators) is still referenced here, as it is
    # while the harness goes on to evaluate: the workers must be gone all the same
    for persistent in (True, False):
        before = set(multiprocessing.active_children())
        run = runner(tmp_path / str(persistent), persistent)
        run.train()
        assert started_here(before) == set(), persistent
        assert stop_loader_workers(run.train_loop) == 0  # nothing left to stop
        assert run.train_loop.dataloader._iterator is None


def test_stop_loader_workers_takes_a_dataloader_itself():
    loader = torch.utils.data.DataLoader(Numbers(), batch_size=4, num_workers=2,
                                         persistent_workers=True)
    before = set(multiprocessing.active_children())
    next(iter(loader))
    assert len(started_here(before)) == 2
    assert stop_loader_workers(loader) == 1
    assert started_here(before) == set() and loader._iterator is None


def test_stop_loader_workers_ignores_what_is_not_a_built_loop():
    assert stop_loader_workers(None) == 0
    assert stop_loader_workers(dict(type='IterBasedTrainLoop')) == 0


def test_runners_built_within_one_second_keep_their_own_log_folders(tmp_path):
    """mmengine names a runner's visualizer and logger after the experiment name and the
    second: build_runner numbers the name, so the second runner writes its scalars into its own
    folder even when the first one's is gone."""
    import shutil

    from mmengine.config import Config

    from harness.engine import build_runner
    from harness.registry import DATASETS, MODELS

    MODELS.register_module(name='EngineTestRegress', module=Regress, force=True)
    DATASETS.register_module(name='EngineTestNumbers', module=Numbers, force=True)

    def cfg(name):
        return Config(dict(
            model=dict(type='harness.EngineTestRegress'), work_dir=str(tmp_path / name),
            experiment_name='pretrain', default_scope='harness',
            train_dataloader=dict(dataset=dict(type='harness.EngineTestNumbers'), batch_size=4,
                                  num_workers=0,
                                  sampler=dict(type='InfiniteSampler', shuffle=True)),
            train_cfg=dict(type='IterBasedTrainLoop', max_iters=2),
            optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.01)),
            default_hooks=dict(checkpoint=None, logger=dict(type='LoggerHook', interval=1)),
            log_processor=dict(by_epoch=False)))

    first = build_runner(cfg('a'))
    second = build_runner(cfg('b'))
    assert first.experiment_name != second.experiment_name
    assert first.experiment_name.startswith('pretrain-')
    shutil.rmtree(tmp_path / 'a')
    second.train()
    assert list((tmp_path / 'b').rglob('scalars.json'))


def test_file_loggers_of_one_name_each_write_their_own_file(tmp_path):
    """Two extractions in one process (a suite) log under the same name: each log line goes to
    the file its own call named, not to the first call's."""
    import warnings

    from harness.engine import file_logger

    with warnings.catch_warnings():
        warnings.simplefilter('error')  # mmengine warns when an existing name gets a new file
        first = file_logger('features-x', tmp_path / 'a' / 'features.log')
        first.info('one')
        second = file_logger('features-x', tmp_path / 'b' / 'features.log')
        second.info('two')
    a, b = ((tmp_path / d / 'features.log').read_text() for d in 'ab')
    assert 'one' in a and 'two' not in a
    assert 'two' in b and 'one' not in b


def test_flush_denormals_zeroes_denormals_here_and_in_threads_started_later():
    import threading

    import torch

    from harness.engine import denormals_flushed, flush_denormals

    before = denormals_flushed()
    try:
        torch.set_flush_denormal(False)
        assert denormals_flushed() is False  # 1e-40 survives: the check can fail
        assert flush_denormals() is True
        seen = []
        thread = threading.Thread(target=lambda: seen.append(denormals_flushed()))
        thread.start()
        thread.join()
        assert seen == [True]
    finally:
        torch.set_flush_denormal(before)


@pytest.mark.parametrize('pool_first', [False, True])
def test_denormals_flushed_checks_the_compute_threads_too(pool_first):
    # torch's OpenMP threads keep the setting they started with: a process whose threads ran
    # before the flush computes denormals in all but its own thread, and the check says so
    script = ('import torch\n'
              'from harness.engine import flush_denormals\n'
              'torch.set_num_threads(2)\n'
              f'if {pool_first}:\n'
              '    torch.ones(1 << 20).sum()\n'
              'print(flush_denormals())\n')
    env = {**os.environ, 'OMP_NUM_THREADS': '2'}
    out = subprocess.run([sys.executable, '-c', script], capture_output=True, text=True, env=env,
                         check=True).stdout.split()
    assert out == [str(not pool_first)]


#: a program that frees 256 MB in 4 MB blocks twice, then counts the page faults of doing it a
#: third time; as a function here, as a script for a fresh interpreter
CHURN = """
import resource


def churn():  # 64 blocks of 4 MB, every page written, then all freed
    blocks = [bytes([1]) * (4 << 20) for _ in range(64)]
    del blocks


def faults_of_a_third_churn():
    churn(), churn()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    churn()
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
"""


@pytest.mark.skipif(platform.libc_ver()[0] != 'glibc', reason="glibc's mallopt")
def test_freed_memory_is_kept_and_reused_without_page_faults():
    # glibc's defaults hand the freed top of the heap back to the system, and writing it again
    # faults every page in (256 MB: 65536 pages of 4 kB); a fresh interpreter without the
    # harness shows it, so the count below can fail
    fresh = subprocess.run([sys.executable, '-c', CHURN + 'print(faults_of_a_third_churn())'],
                           capture_output=True, text=True, check=True)
    assert int(fresh.stdout) > 30000
    from harness.engine import freed_memory_kept, keep_freed_memory

    assert keep_freed_memory() is True and freed_memory_kept() is True
    space: dict = {}
    exec(CHURN, space)
    assert space['faults_of_a_third_churn']() < 1000


def test_use_fast_paths_sets_both_and_lists_every_fast_path(monkeypatch):
    from harness import engine

    calls = []
    monkeypatch.setattr(engine, 'flush_denormals', lambda: calls.append('flush'))
    monkeypatch.setattr(engine, 'keep_freed_memory', lambda: calls.append('keep'))
    paths = engine.use_fast_paths()
    assert calls == ['flush', 'keep']
    assert set(paths) == {'flush_denormal', 'keep_freed_memory', 'idle_loader_workers'}


class WorkerView(Dataset):
    """Each item: the scheduling policy of the process that loads it, and a number from
    numpy's global RNG (which mmengine's worker seeding sets)."""

    def __len__(self):
        return 2

    def __getitem__(self, index):
        import numpy as np

        return {'policy': os.sched_getscheduler(0), 'draw': float(np.random.rand())}


@pytest.mark.skipif(not hasattr(os, 'SCHED_IDLE'), reason='Linux scheduling policies')
def test_on_cpu_loader_workers_run_at_idle_priority_and_are_still_seeded():
    from mmengine.runner import Runner

    cfg = dict(dataset=WorkerView(), batch_size=1, num_workers=1,
               sampler=dict(type='DefaultSampler', shuffle=False))
    ours = [b for b in HarnessRunner.build_dataloader(dict(cfg), seed=3)]
    plain = [b for b in Runner.build_dataloader(dict(cfg), seed=3)]
    assert [b['policy'][0] for b in ours] == [os.SCHED_IDLE] * 2
    assert [b['policy'][0] for b in plain] == [os.SCHED_OTHER] * 2
    # mmengine's per-worker seeding still runs after the priority is set
    assert [b['draw'][0] for b in ours] == [b['draw'][0] for b in plain]
    assert loader_workers_idle()


def test_loader_workers_keep_their_priority_with_an_accelerator(monkeypatch):
    import mmengine.device

    monkeypatch.setattr(mmengine.device, 'get_device', lambda: 'cuda')
    loader = idle_loader_workers(torch.utils.data.DataLoader(WorkerView(), num_workers=1))
    assert loader.worker_init_fn is None and not loader_workers_idle()


@pytest.mark.skipif(not hasattr(os, 'SCHED_IDLE'), reason='Linux scheduling policies')
def test_more_idle_workers_than_cores_is_not_warned_about(monkeypatch):
    """torch warns when a loader has more workers than cores; the harness's idle-priority
    workers on a CPU are meant to (each is a batch on its way), so its loaders say nothing."""
    import warnings

    monkeypatch.setattr(os, 'sched_getaffinity', lambda pid: {0})  # a one-core machine
    cfg = dict(dataset=WorkerView(), batch_size=1, num_workers=2,
               sampler=dict(type='DefaultSampler', shuffle=False))
    with warnings.catch_warnings(record=True) as plain:
        warnings.simplefilter('always')
        torch.utils.data.DataLoader(WorkerView(), num_workers=2)
    assert any('worker processes in total' in str(w.message) for w in plain)  # torch's warning
    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter('always')
        batches = list(HarnessRunner.build_dataloader(dict(cfg), seed=0))
    assert len(batches) == 2
    assert not [w for w in ours if 'worker processes in total' in str(w.message)], \
        [str(w.message) for w in ours]
