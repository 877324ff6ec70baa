"""harness.launch: a --launcher that cannot start here is one line, before anything is built."""
from __future__ import annotations

import os

import pytest

from harness import launch
from harness.errors import ConfigError
from harness.launch import check_launcher

TORCHRUN_ENV = {'RANK': '0', 'WORLD_SIZE': '2', 'LOCAL_RANK': '0', 'MASTER_ADDR': '127.0.0.1',
                'MASTER_PORT': '29500'}
SLURM_ENV = {'SLURM_PROCID': '0', 'SLURM_NTASKS': '2', 'SLURM_NODELIST': 'node1',
             'MASTER_ADDR': 'node1'}
MPI_ENV = {'OMPI_COMM_WORLD_LOCAL_RANK': '0', 'OMPI_COMM_WORLD_RANK': '0',
           'OMPI_COMM_WORLD_SIZE': '2', 'MASTER_ADDR': 'node1'}
ALL_ENV = {**TORCHRUN_ENV, **SLURM_ENV, **MPI_ENV}


@pytest.fixture
def bare_env(monkeypatch):
    for name in ALL_ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def launcher_error(launcher: str) -> str:
    with pytest.raises(ConfigError) as caught:
        check_launcher(launcher)
    message = str(caught.value)
    assert '\n' not in message
    return message


def test_launcher_none_always_passes(bare_env):
    check_launcher('none')


def test_unknown_launcher_lists_the_allowed_ones():
    assert launcher_error('torchrun') == ("launcher 'torchrun' is not one of none, pytorch, "
                                          "slurm, mpi ('none' runs one process)")


def test_pytorch_launcher_outside_torchrun(bare_env):
    message = launcher_error('pytorch')
    assert message == ("launcher 'pytorch' needs the environment variables RANK, WORLD_SIZE, "
                       "LOCAL_RANK, MASTER_ADDR, MASTER_PORT, which are not set: start the "
                       "command under torchrun (torchrun --nproc_per_node N harness run ...), "
                       "or use --launcher none")


def test_pytorch_launcher_names_only_the_missing_variables(bare_env):
    for name, value in TORCHRUN_ENV.items():
        if name != 'MASTER_PORT':
            bare_env.setenv(name, value)
    assert 'variables MASTER_PORT, which are not set' in launcher_error('pytorch')


@pytest.mark.parametrize('launcher, env', [('pytorch', TORCHRUN_ENV), ('slurm', SLURM_ENV),
                                           ('mpi', MPI_ENV)])
def test_launchers_with_their_environment(bare_env, launcher, env):
    for name, value in env.items():
        bare_env.setenv(name, value)
    bare_env.setattr(launch, '_has_accelerator', lambda: True)
    import torch

    bare_env.setattr(torch.cuda, 'is_available', lambda: False)  # no LOCAL_RANK check
    check_launcher(launcher)


@pytest.mark.parametrize('launcher, env, hint', [
    ('slurm', SLURM_ENV, 'start the command under srun (srun -n N harness run ...)'),
    ('mpi', MPI_ENV, 'start the command under Open MPI with MASTER_ADDR set'),
])
def test_slurm_and_mpi_without_their_environment(bare_env, launcher, env, hint):
    message = launcher_error(launcher)
    assert message.startswith(f"launcher '{launcher}' needs the environment variables ")
    for name in env:
        if not (launcher == 'slurm' and name == 'MASTER_ADDR'):  # scontrol can find it
            assert name in message
    assert hint in message and message.endswith('or use --launcher none')


def test_without_a_gpu_only_torchrun_launches_on_cpus(bare_env):
    for name, value in TORCHRUN_ENV.items():
        bare_env.setenv(name, value)
    bare_env.setattr(launch, '_has_accelerator', lambda: False)
    check_launcher('pytorch')  # CPU processes through gloo
    for name, value in dict(SLURM_PROCID='0', SLURM_NTASKS='2', SLURM_NODELIST='n1',
                            MASTER_ADDR='n1').items():
        bare_env.setenv(name, value)
    assert launcher_error('slurm') == (
        "launcher 'slurm' needs a GPU per process (mmengine's init_dist binds each process "
        "to one), and torch sees none here: use --launcher none, or --launcher pytorch under "
        "torchrun (CPU processes through gloo)")


def test_local_rank_beyond_the_gpus(bare_env):
    import torch

    env = dict(TORCHRUN_ENV, LOCAL_RANK='3')
    for name, value in env.items():
        bare_env.setenv(name, value)
    bare_env.setattr(launch, '_has_accelerator', lambda: True)
    bare_env.setattr(torch.cuda, 'is_available', lambda: True)
    bare_env.setattr(torch.cuda, 'device_count', lambda: 2)
    assert launcher_error('pytorch') == (
        "launcher 'pytorch': LOCAL_RANK=3 but this machine has 2 GPU(s): start at most 2 "
        "processes per node (torchrun --nproc_per_node 2 ...)")


def test_check_launcher_reads_the_process_environment(bare_env):
    assert launch.launcher_problem('pytorch', environ=TORCHRUN_ENV) != \
        launch.launcher_problem('pytorch')
    assert os.environ.get('RANK') is None
