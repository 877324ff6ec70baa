"""Running mmengine: the Runner the harness uses for every training it starts.

Training, checkpointing, resume, logging and distributed launch are mmengine's Runner; this
module only sets up what the harness needs around it: the config's modules imported, resume
checkpoints loadable under torch >= 2.6, mmengine's log (environment dump included) in the
log file while the terminal shows warnings and the progress bar, and dataloader worker processes
stopped as soon as the loop that used them ends; when the model computes on the CPU, the workers
run at idle priority (:func:`idle_loader_workers`).
"""
from __future__ import annotations

import importlib
import itertools
import logging
import os
import shutil
import warnings
from contextlib import contextmanager
from pathlib import Path

from mmengine.config import Config
from mmengine.runner import Runner

from harness.errors import HarnessError
from harness.registry import RUNNERS


def flush_denormals() -> bool:
    """Let this CPU treat denormal floats as zero (flush-to-zero and denormals-are-zero) in
    this thread and every thread or worker process it starts from now on (they inherit the
    setting): backward passes on real data produce denormals, which x86 CPUs compute up to a
    hundred times slower (a 6-12x slower training step was measured). Called first thing by
    every harness command that computes; no effect on GPU arithmetic. Returns whether
    denormals are now flushed (:func:`denormals_flushed`)."""
    import torch

    torch.set_flush_denormal(True)
    return denormals_flushed()


def denormals_flushed() -> bool:
    """Whether this thread and torch's compute threads flush denormal floats to zero (checked,
    not remembered: 1e-40 is a float32 denormal, zero when flushed). The product is long
    enough that every compute thread makes a part of it: the setting is per thread, and
    threads torch started before :func:`flush_denormals` keep theirs."""
    import torch

    values = torch.full((torch.get_num_threads() * 65536,), 1e-30, dtype=torch.float32)
    return not bool((values * 1e-10).any())


#: glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
#: the largest mmap threshold glibc accepts on a 64-bit system (DEFAULT_MMAP_THRESHOLD_MAX)
_MMAP_THRESHOLD_MAX = 32 << 20
#: the largest trim threshold mallopt takes (a C int)
_TRIM_THRESHOLD_MAX = (1 << 31) - 1
#: whether :func:`keep_freed_memory` took effect in this process (glibc has no getter)
_FREED_MEMORY_KEPT = False


def keep_freed_memory() -> bool:
    """Let this process keep the memory it frees for its next allocations instead of handing
    it back to the system (glibc's ``mallopt``: blocks up to 32 MB come from the heap, and the
    heap's free top is never trimmed). Returns whether that is now so (False where the C
    library is not glibc: nothing is changed there).

    mmengine's optimizer wrapper frees every gradient right after the optimizer's step; with
    glibc's defaults the heap's top, free after that, goes back to the system, and the next
    backward pass faults every page of its gradients in again (zero-filled by the kernel).
    Measured with benchmarks/pretrain_throughput.py (SiameseIM on ViT-B/16, batch 32 at 56
    px, 2 cores, 3 rounds): the harness's step took 1661 ms against the plain loop's 1413 with
    the defaults, 1452 ms against 1398 with freed memory kept. The cost: the process holds
    its peak heap until it exits, which a training reaches at every step anyway. Called by
    every harness command that computes, before it allocates much (:func:`use_fast_paths`);
    worker processes forked later inherit it."""
    global _FREED_MEMORY_KEPT
    import ctypes
    import platform

    if platform.libc_ver()[0] != 'glibc':
        return _FREED_MEMORY_KEPT
    libc = ctypes.CDLL(None)
    _FREED_MEMORY_KEPT = bool(libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_MAX)
                              and libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD_MAX))
    return _FREED_MEMORY_KEPT


def freed_memory_kept() -> bool:
    """Whether :func:`keep_freed_memory` took effect in this process."""
    return _FREED_MEMORY_KEPT


def use_fast_paths() -> dict[str, bool]:
    """This process's fast paths (both matter on a CPU), set first by every command that computes
    (pretraining, evaluation, feature extraction, the benchmarks), before any thread or worker
    starts (they inherit them): denormals flushed (:func:`flush_denormals`) and freed memory
    kept (:func:`keep_freed_memory`). Returns :func:`fast_paths`."""
    flush_denormals()
    keep_freed_memory()
    return fast_paths()


def fast_paths() -> dict[str, bool]:
    """The process-wide speed settings in effect, as a record lists them: denormals flushed,
    freed memory kept, loader workers at idle priority (:func:`loader_workers_idle`)."""
    return {'flush_denormal': denormals_flushed(), 'keep_freed_memory': freed_memory_kept(),
            'idle_loader_workers': loader_workers_idle()}


def loader_workers_idle() -> bool:
    """Whether this process's dataloader workers run at idle scheduling priority
    (:func:`idle_loader_workers`): when the model computes on the CPU, on systems that have
    that priority (Linux)."""
    from mmengine.device import get_device

    return get_device() == 'cpu' and hasattr(os, 'SCHED_IDLE')


class IdleFirst:
    """A dataloader's ``worker_init_fn``: puts the worker at idle scheduling priority, then
    runs ``then`` (mmengine's seeding, or the config's own), if any."""

    def __init__(self, then=None):
        self.then = then

    def __call__(self, worker_id: int) -> None:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        if self.then is not None:
            self.then(worker_id)


def idle_loader_workers(loader):
    """Let ``loader``'s worker processes run only on CPU time the training leaves idle, when
    the model computes on the CPU (:func:`loader_workers_idle`); returns ``loader``.

    On a CPU the training's compute threads take every core, and a worker decoding a batch
    preempts one of them, which stalls the others at their next synchronisation: on 2 cores a
    worker's 0.1 s of decoding per step cost the step about 0.5 s (measured with
    benchmarks/pretrain_throughput.py, BraVe at batch 8). At idle priority the workers fill
    the gaps the compute leaves, and the data wait stays small. With an accelerator, the
    workers keep their priority (the cores are theirs)."""
    from torch.utils.data import DataLoader

    if (isinstance(loader, DataLoader) and loader.num_workers > 0 and loader_workers_idle()
            and not isinstance(loader.worker_init_fn, IdleFirst)):
        loader.worker_init_fn = IdleFirst(loader.worker_init_fn)
    return loader


#: torch's warning for a dataloader with more workers than the machine has cores
MORE_WORKERS_THAN_CORES = r'This DataLoader will create \d+ worker processes in total'


def allow_more_workers_than_cores() -> None:
    """Silence torch's warning that a dataloader has more workers than cores, in this process,
    where the workers run at idle priority (:func:`loader_workers_idle`): there they only fill
    the compute's gaps, and how many batches can be on their way is the worker count, so more
    workers than cores is the intent (the pretraining runtime has 4), not a mistake."""
    if loader_workers_idle():
        warnings.filterwarnings('ignore', message=MORE_WORKERS_THAN_CORES,
                                category=UserWarning)


def quiet_terminal(logger: logging.Logger) -> logging.Logger:
    """Let only warnings and errors of ``logger`` reach the terminal (files keep INFO)."""
    for handler in logger.handlers:
        if type(handler) is logging.StreamHandler:
            handler.setLevel(logging.WARNING)
    return logger


#: numbers the file loggers this process makes (:func:`file_logger`)
_FILE_LOGGER_NUMBERS = itertools.count(1)


def file_logger(name: str, log_file: Path):
    """A new mmengine logger, made the current one, writing INFO to ``log_file`` and only
    warnings to the terminal (for work the harness runs outside a Runner). Each call makes its
    own instance (``name`` numbered): mmengine returns an existing instance of a name as it
    is, so a second log file under the same name would have been ignored, its lines written
    to the first."""
    from mmengine.logging import MMLogger

    log_file.parent.mkdir(parents=True, exist_ok=True)
    return quiet_terminal(MMLogger.get_instance(f'{name}-{next(_FILE_LOGGER_NUMBERS)}',
                                                log_file=str(log_file), log_level='INFO'))


def stop_loader_workers(loop) -> int:
    """Stop the worker processes of ``loop``'s dataloader now; returns how many running iterators
    were stopped. ``loop``: an mmengine loop, or a dataloader itself, or anything else (then
    nothing happens).

    Left to the garbage collector, the workers are stopped while the reference cycle around the
    Runner is collected, and there the index queues' feeder threads are finalised before the
    loader sends its stop signal: every worker then waits out torch's 5-second join timeout and
    is killed (10 s lost between a pretraining and its evaluation with two workers). torch has
    no public call that stops a loader's workers, so this uses its iterators' own shutdown.
    """
    from torch.utils.data import DataLoader
    from torch.utils.data.dataloader import _MultiProcessingDataLoaderIter

    loader = loop if isinstance(loop, DataLoader) else getattr(loop, 'dataloader', None)
    if not isinstance(loader, DataLoader):
        return 0
    infinite = getattr(loop, 'dataloader_iterator', None)  # IterBasedTrainLoop's endless stream
    found = {id(it): it for it in (getattr(loader, '_iterator', None),
                                   getattr(infinite, '_iterator', None))
             if isinstance(it, _MultiProcessingDataLoaderIter) and not it._shutdown}
    for iterator in found.values():
        iterator._shutdown_workers()
    loader._iterator = None  # a persistent loader starts fresh workers if iterated again
    return len(found)


@RUNNERS.register_module()
class HarnessRunner(Runner):
    """mmengine's Runner; INFO logging goes to the log file only, its dataloaders' workers run
    at idle priority when the model computes on the CPU (:func:`idle_loader_workers`), and each
    of ``train``, ``val`` and ``test`` stops its dataloader's workers when it returns (or
    fails). Under several processes a config whose ``batch_norm`` is ``'global'`` has its
    model's BatchNorm normalise over all processes before it is wrapped
    (:func:`harness.distributed.normalise_as_configured`)."""

    def wrap_model(self, model_wrapper_cfg, model):
        from harness.distributed import normalise_as_configured

        if self.distributed:
            model = normalise_as_configured(model, self.cfg)
        return super().wrap_model(model_wrapper_cfg, model)

    @staticmethod
    def build_dataloader(dataloader, seed=None, diff_rank_seed=False):
        allow_more_workers_than_cores()
        return idle_loader_workers(Runner.build_dataloader(dataloader, seed=seed,
                                                           diff_rank_seed=diff_rank_seed))

    def build_logger(self, log_level='INFO', log_file=None, **kwargs):
        return quiet_terminal(super().build_logger(log_level=log_level, log_file=log_file,
                                                   **kwargs))

    def train(self):
        try:
            return super().train()
        finally:
            # the train loop's validation loop too: train() runs it between epochs
            for loop in (self._train_loop, self._val_loop):
                stop_loader_workers(loop)

    def val(self):
        try:
            return super().val()
        finally:
            stop_loader_workers(self._val_loop)

    def test(self):
        try:
            return super().test()
        finally:
            stop_loader_workers(self._test_loop)


def import_config_modules(cfg: Config) -> None:
    """Import ``cfg.custom_imports`` (``Config.fromfile`` does only for the file's own)."""
    for module in cfg.get('custom_imports', {}).get('imports', []):
        importlib.import_module(module)


def config_scope(cfg: Config):
    """The config's registry scope made current for a block: build its parts in it, as the
    Runner does, not in whichever scope an earlier build in this process left current."""
    from mmengine.registry import DefaultScope

    return DefaultScope.overwrite_default_scope(cfg.get('default_scope') or 'harness')


#: numbers the runners this process builds (:func:`build_runner`)
_RUNNER_NUMBERS = itertools.count(1)


def build_runner(cfg: Config) -> HarnessRunner:
    """A HarnessRunner for ``cfg``, with its modules imported and resume made loadable.

    mmengine names a runner's logger, visualizer and message hub (process-wide instances) after
    ``experiment_name`` and the second the runner is built, so two runners built within one
    second would share them, the second writing its scalars into the first one's folder (or
    failing, once that folder is gone). Each runner's experiment name therefore gets this
    process's running number of it."""
    from harness.compat import allow_mmengine_checkpoints, format_configs_once

    allow_mmengine_checkpoints()
    format_configs_once()
    import_config_modules(cfg)
    cpu_distributed_wrapper(cfg)
    cfg.experiment_name = f"{cfg.get('experiment_name') or 'run'}-{next(_RUNNER_NUMBERS)}"
    return HarnessRunner.from_cfg(cfg)


def has_checkpoint(work_dir: Path) -> bool:
    """Whether mmengine left a checkpoint to resume from in ``work_dir``."""
    return (work_dir / 'last_checkpoint').is_file()


def prepare_work_dir(work_dir: Path, *, resume: bool, finished: bool, what: str) -> None:
    """Make ``work_dir`` ready for a run without losing anything the user may want.

    With ``resume`` the directory is kept (mmengine resumes from its last checkpoint). A
    ``finished`` run's directory is cleared to run again. An unfinished run with a checkpoint is
    never deleted silently: that is an error asking for ``--resume`` (or deleting it by hand).
    """
    if work_dir.exists() and not resume:
        if not finished and has_checkpoint(work_dir):
            raise HarnessError(f'an unfinished {what} with checkpoints is in {work_dir}: '
                               f'add --resume to continue it, or delete that folder to start over')
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)


def init_distributed(launcher: str) -> None:
    """Join the process group of a distributed run before any work, so that what the processes
    share (demo data, caches, work dirs) can be prepared once (:func:`main_process_first`).

    With an accelerator this is mmengine's ``init_dist`` (NCCL); without one, ``--launcher
    pytorch`` runs on CPUs through gloo (mmengine binds every process to a GPU, so the harness
    initialises the group itself; mmengine's Runner then finds it initialised and keeps it).
    """
    import torch
    from mmengine.dist import init_dist, is_distributed

    if launcher == 'none' or is_distributed():
        return
    if torch.cuda.is_available():
        init_dist(launcher, backend='nccl')
    else:
        torch.distributed.init_process_group(backend='gloo')


@contextmanager
def main_process_first():
    """The main process runs the block first, the others after it (a no-op in one process):
    for work whose result the processes share and that must be done once (writing demo data,
    caches, a cleared work dir)."""
    from mmengine.dist import barrier, is_main_process

    if not is_main_process():
        barrier()
    yield
    if is_main_process():
        barrier()


def cpu_distributed_wrapper(cfg: Config) -> None:
    """Under a CPU process group, wrap the model in DDP without device ids (mmengine's default
    names the process's GPU)."""
    import torch
    from mmengine.dist import is_distributed

    if is_distributed() and not torch.cuda.is_available():
        wrapper = dict(cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel'))
        wrapper['device_ids'] = None
        cfg.model_wrapper_cfg = wrapper
