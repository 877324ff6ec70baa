"""Whether a run can start with its ``--launcher`` here, checked before anything is built.

mmengine's ``init_dist`` fails late and obscurely outside the launcher it was told of
(``--launcher pytorch`` outside torchrun is a KeyError on ``RANK``): :func:`check_launcher`
names the missing environment variables and how to start the command instead, in one line.
Joining the process group itself is :func:`harness.engine.init_distributed`. Cheap to import:
torch is imported only to look for accelerators.
"""
from __future__ import annotations

import os
import shutil
from typing import Any, Mapping

from harness.errors import ConfigError

#: The launchers mmengine's ``init_dist`` knows, and ``none`` (one process).
LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')

#: What each launcher reads from the environment (``mmengine.dist.utils._init_dist_*``), and
#: how to start a command so that it is set.
LAUNCHER_ENV = {
    'pytorch': (('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT'),
                'start the command under torchrun (torchrun --nproc_per_node N harness run ...)'),
    'slurm': (('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST'),
              'start the command under srun (srun -n N harness run ...)'),
    'mpi': (('OMPI_COMM_WORLD_LOCAL_RANK', 'OMPI_COMM_WORLD_RANK', 'OMPI_COMM_WORLD_SIZE',
             'MASTER_ADDR'),
            'start the command under Open MPI with MASTER_ADDR set '
            '(mpirun -np N -x MASTER_ADDR=HOST harness run ...)'),
}


def check_launcher(launcher: str) -> None:
    """Raise a one-line ConfigError unless ``launcher`` can start here: a launcher mmengine knows,
    run with the environment it reads (``none`` always can)."""
    problem = launcher_problem(launcher)
    if problem:
        raise ConfigError(problem)


def launcher_problem(launcher: Any, *, environ: Mapping[str, str] | None = None
                     ) -> str | None:
    """Why mmengine's ``init_dist(launcher)`` would fail in ``environ`` (default: this process's
    environment) on this machine, as one line; None when it would start."""
    environ = os.environ if environ is None else environ
    if launcher not in LAUNCHERS:
        return (f"launcher {launcher!r} is not one of {', '.join(LAUNCHERS)} "
                f"('none' runs one process)")
    if launcher == 'none':
        return None
    names, how = LAUNCHER_ENV[launcher]
    missing = [name for name in names if name not in environ]
    if launcher == 'slurm' and 'MASTER_ADDR' not in environ and not shutil.which('scontrol'):
        missing.append('MASTER_ADDR (or scontrol on PATH to find it)')
    if missing:
        return (f"launcher {launcher!r} needs the environment variables "
                f"{', '.join(missing)}, which are not set: {how}, or use --launcher none")
    if not _has_accelerator() and launcher != 'pytorch':  # pytorch runs on CPUs with gloo
        return (f"launcher {launcher!r} needs a GPU per process (mmengine's init_dist binds "
                f"each process to one), and torch sees none here: use --launcher none, or "
                f"--launcher pytorch under torchrun (CPU processes through gloo)")
    if launcher == 'pytorch':
        import torch

        local_rank, count = environ['LOCAL_RANK'], torch.cuda.device_count()
        if torch.cuda.is_available() and not (local_rank.isdigit() and int(local_rank) < count):
            return (f"launcher 'pytorch': LOCAL_RANK={local_rank} but this machine has {count} "
                    f"GPU(s): start at most {count} processes per node (torchrun "
                    f"--nproc_per_node {count} ...)")
    return None


def _has_accelerator() -> bool:
    import torch
    from mmengine.device import is_mlu_available, is_musa_available, is_npu_available

    return (torch.cuda.is_available() or is_npu_available() or is_mlu_available()
            or is_musa_available())
