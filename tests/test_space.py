"""The disk-space estimate a run makes before training (harness.run.space)."""
from __future__ import annotations

from pathlib import Path

import pytest

from harness.plugins import PluginManager
from harness.run import RunOptions, plan_run
from harness.run import space
from harness.run.jobs import plan_jobs


@pytest.fixture(scope='module')
def brave_linear(tmp_path_factory, tiny_demo):
    work = tmp_path_factory.mktemp('space')
    plan = plan_run(PluginManager(), RunOptions(method='brave', eval='ucf101', protocol='linear',
                                                data=str(tiny_demo), pretrain_data='ucf101',
                                                work_dir=str(work)))
    return plan, plan_jobs(plan, print)


def test_planned_bytes_counts_the_checkpoints_kept_and_the_features(brave_linear):
    plan, jobs = brave_linear
    [job] = jobs
    work = job.pretraining
    assert work.model_bytes and work.model_bytes > 1e6  # BraVe's two r3d18-slim and heads
    kept = space.checkpoints_kept(work.cfg)
    assert kept == work.cfg.default_hooks.checkpoint.max_keep_ckpts
    clips, crops = job.protocol.views(job.prepared.cfg)
    items = len(job.split.split.train) + len(job.split.split.test)
    features = items * clips * crops * plan.backbone.info.feat_dim * 4
    checkpoints = work.model_bytes * (space.CHECKPOINT_COPIES * kept + space.EXTRA_COPIES)
    assert space.planned_bytes(jobs) == checkpoints + features


def test_a_disk_with_too_little_room_is_a_warning_before_training(brave_linear, monkeypatch):
    plan, jobs = brave_linear
    said = []
    monkeypatch.setattr(space, 'free_bytes', lambda directory: 2 ** 20)
    space.warn_if_short(plan.work_dir, jobs, said.append)
    [line] = said
    assert line.startswith('warning: this run may write up to ') and '1.0 MiB' not in line
    assert '0.0 GiB is free there' in line and 'with --resume' in line
    said.clear()
    monkeypatch.setattr(space, 'free_bytes', lambda directory: 2 ** 50)
    space.warn_if_short(plan.work_dir, jobs, said.append)
    assert said == []


def test_free_bytes_reads_the_nearest_existing_folder(tmp_path):
    assert space.free_bytes(tmp_path / 'not' / 'yet') == space.free_bytes(tmp_path) > 0
    assert isinstance(space.free_bytes(Path('/')), int)
