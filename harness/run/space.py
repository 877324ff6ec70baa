"""Will a run's files fit on its disk? An estimate made before anything trains.

What dominates a run's disk use is known at planning time: the checkpoints of each pretraining
it will train (the model's size, from building it once, times the copies a checkpoint holds
and the checkpoints kept) and the frozen features a probe caches (items x views x feature
width). When the free space of the work dir's disk is below that, the run says so before
training: it is a warning, not a refusal (the estimate is an upper bound, and a disk can be
freed while a run goes on); a run stopped by a full disk keeps what it finished, and
``--resume`` continues it.
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable, Sequence

from harness.io import nearest_existing
from harness.run.jobs import Job

#: What one checkpoint holds per byte of model: the weights and up to two optimizer moments
#: (Adam's; SGD with momentum keeps one).
CHECKPOINT_COPIES = 3
#: Beyond the checkpoints kept: the one being written, the exported backbone and the initial
#: tensors' digests (at most a model's size each).
EXTRA_COPIES = 3
FLOAT_BYTES = 4


def checkpoints_kept(cfg) -> int:
    """How many checkpoints a pretraining keeps at once (its CheckpointHook's
    ``max_keep_ckpts``; every one it saves when that is unset or -1)."""
    hook = (cfg.get('default_hooks') or {}).get('checkpoint') or {}
    kept = hook.get('max_keep_ckpts')
    if isinstance(kept, int) and kept > 0:
        return kept
    loop = cfg.get('train_cfg') or {}
    length = loop.get('max_iters') or loop.get('max_epochs') or 1
    return max(1, int(length) // max(1, int(hook.get('interval') or 1)))


def planned_bytes(jobs: Sequence[Job]) -> int:
    """Bytes the jobs will write, at most: the checkpoints of each pretraining still to train
    (whose model was built at planning) and the features of each frozen-feature evaluation."""
    from harness.evaluate import FeatureProtocol

    total, seen = 0, set()
    for job in jobs:
        work = job.pretraining
        if work is not None and work.key not in seen and work.finished is None \
                and work.model_bytes:
            seen.add(work.key)
            copies = CHECKPOINT_COPIES * checkpoints_kept(work.cfg) + EXTRA_COPIES
            total += work.model_bytes * copies
        if isinstance(job.protocol, FeatureProtocol):
            clips, crops = job.protocol.views(job.prepared.cfg)
            items = len(job.split.split.train) + len(job.split.split.test)
            total += items * clips * crops * job.request.backbone.feat_dim * FLOAT_BYTES
    return total


def free_bytes(directory: Path) -> int:
    """Free bytes on the disk of ``directory`` (of the nearest folder above it that exists)."""
    return shutil.disk_usage(nearest_existing(directory)).free


def warn_if_short(work_dir: Path, jobs: Sequence[Job], log: Callable[[str], None]) -> None:
    """Say before training when the work dir's disk has less free space than the jobs may
    write (:func:`planned_bytes`)."""
    need, free = planned_bytes(jobs), free_bytes(work_dir)
    if need > free:
        log(f'warning: this run may write up to {need / 2 ** 30:.1f} GiB in {work_dir} '
            f'(checkpoints and cached features) and {free / 2 ** 30:.1f} GiB is free there; '
            'if the disk fills up the run stops, keeping what it finished: free some space and '
            'run the same command with --resume')
