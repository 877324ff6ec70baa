"""How scripts/setup.sh builds mmcv's ops on this machine: for the CPU, or for CUDA when torch
sees a GPU. Run with the venv's python once torch is installed; prints shell assignments for
``eval``, or one line on stderr naming what is missing (exit 1).

  variant  MMCV_VARIANT: empty for CPU ops (the wheel cache as before), else e.g. cu130-sm90,
           the wheel cache subfolder of a CUDA build for this CUDA and these GPUs
  build    the environment of the build: nothing for CPU ops; for CUDA ops FORCE_CUDA=1,
           CUDA_HOME (an nvcc of torch's CUDA major.minor), TORCH_CUDA_ARCH_LIST

HARNESS_CPU_OPS=1 builds CPU ops on a GPU machine (the build then sees no GPU).

Where no nvcc of torch's CUDA is found (CUDA_HOME, CUDA_PATH, PATH, /usr/local/cuda), it is
installed from pip as torch's own ``cuda-toolkit`` metapackage at torch's pinned version, with
the ``nvcc`` and ``cccl`` extras (verified on cuda-toolkit 13.0.3, torch 2.14.1+cu130: the
extras pin nvidia-cuda-nvcc 13.0.88, nvidia-cuda-crt, nvidia-nvvm and nvidia-cuda-cccl of that
release, and they all install into site-packages/nvidia/cu13/{bin,include,lib,nvvm} beside the
runtime torch already has, so that folder is CUDA_HOME). Those wheels have libcudart.so.13 but
no libcudart.so for the linker's -lcudart, so one is linked into <venv>/cuda-link.
"""
from __future__ import annotations

import importlib.metadata
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

FORCE_CPU = 'HARNESS_CPU_OPS'


class Missing(Exception):
    """What the CUDA build lacks, in one line."""


@dataclass
class Machine:
    torch_cuda: str | None = None            # torch.version.cuda, e.g. '13.0'
    capabilities: list[tuple[int, int]] = field(default_factory=list)  # of the visible GPUs
    nvcc: dict[str, str] = field(default_factory=dict)  # nvcc path -> its release, e.g. '13.0'
    toolkit: str | None = None               # version of the installed cuda-toolkit metapackage
    compiler: str | None = None              # the C++ compiler torch's build uses
    env: dict[str, str] = field(default_factory=dict)

    @property
    def cuda_build(self) -> bool:
        return bool(self.torch_cuda and self.capabilities and self.env.get(FORCE_CPU) != '1')


def arch_list(machine: Machine) -> str:
    return machine.env.get('TORCH_CUDA_ARCH_LIST') or ' '.join(
        f'{major}.{minor}' for major, minor in sorted(set(machine.capabilities)))


def variant(machine: Machine) -> str:
    if not machine.cuda_build:
        return ''
    archs = re.split(r'[ ;]+', arch_list(machine).strip())
    return (f"cu{machine.torch_cuda.replace('.', '')}-sm"
            + '_'.join(a.replace('.', '').replace('+PTX', 'ptx') for a in archs))


def matching_nvcc(machine: Machine) -> str | None:
    return next((path for path, release in machine.nvcc.items()
                 if release == machine.torch_cuda), None)


def toolkit_requirement(machine: Machine) -> str | None:
    """The pip requirement that brings an nvcc of torch's CUDA, if torch came with one."""
    if machine.toolkit and machine.toolkit.split('.')[:2] == machine.torch_cuda.split('.'):
        return f'cuda-toolkit[nvcc,cccl]=={machine.toolkit}'
    return None


def build_env(machine: Machine) -> dict[str, str]:
    if not machine.cuda_build:
        return {'CUDA_VISIBLE_DEVICES': ''} if machine.capabilities else {}
    cuda = machine.torch_cuda
    if not machine.compiler:
        raise Missing(f'no C++ compiler for the CUDA {cuda} build of mmcv: install g++ '
                      f'(or set CXX), or set {FORCE_CPU}=1 to build CPU ops')
    nvcc = matching_nvcc(machine)
    if nvcc is None:
        found = ', '.join(f'{release} at {path}' for path, release in machine.nvcc.items())
        raise Missing(f'no nvcc for CUDA {cuda}, the CUDA of torch (found: {found or "none"}): '
                      f'install the CUDA {cuda} toolkit and set CUDA_HOME to it, '
                      f'or set {FORCE_CPU}=1 to build CPU ops')
    return {'FORCE_CUDA': '1', 'MMCV_WITH_OPS': '1', 'CUDA_HOME': str(Path(nvcc).parent.parent),
            'TORCH_CUDA_ARCH_LIST': arch_list(machine)}


def link_cudart(cuda_home: str, link_dir: Path) -> dict[str, str]:
    """LIBRARY_PATH with a libcudart.so for -lcudart where CUDA_HOME has only libcudart.so.N."""
    libs = [Path(cuda_home, d) for d in ('lib64', 'lib')]
    if any((d / 'libcudart.so').exists() for d in libs):
        return {}
    versioned = sorted(p for d in libs for p in d.glob('libcudart.so.[0-9]*'))
    if not versioned:
        return {}
    link_dir.mkdir(parents=True, exist_ok=True)
    link = link_dir / 'libcudart.so'
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(versioned[0])
    paths = [str(link_dir)] + [p for p in os.environ.get('LIBRARY_PATH', '').split(':') if p]
    return {'LIBRARY_PATH': ':'.join(paths)}


def _nvcc_release(nvcc: str) -> str | None:
    try:
        out = subprocess.run([nvcc, '--version'], capture_output=True, text=True,
                             timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r'release (\d+\.\d+)', out)
    return found.group(1) if found else None


def _nvcc_candidates() -> list[str]:
    """nvcc binaries whose folder above has the CUDA headers (so it can be CUDA_HOME: a
    wrapper script such as /usr/local/bin/nvcc cannot)."""
    homes = [os.environ.get('CUDA_HOME'), os.environ.get('CUDA_PATH')]
    paths = [str(Path(h, 'bin', 'nvcc')) for h in homes if h]
    paths += ['/usr/local/cuda/bin/nvcc', shutil.which('nvcc') or '']
    try:  # the pip wheel (CUDA 13 on): nvidia/cuXY/bin/nvcc
        files = importlib.metadata.distribution('nvidia-cuda-nvcc').files or []
        paths += [str(f.locate()) for f in files if f.match('bin/nvcc')]
    except importlib.metadata.PackageNotFoundError:
        pass
    return [p for p in dict.fromkeys(paths) if p and os.access(p, os.X_OK)
            and Path(p).parent.parent.joinpath('include', 'cuda_runtime.h').exists()]


def probe() -> Machine:
    import torch

    machine = Machine(torch_cuda=torch.version.cuda, env=dict(os.environ))
    if machine.torch_cuda and torch.cuda.is_available():
        machine.capabilities = [torch.cuda.get_device_capability(i)
                                for i in range(torch.cuda.device_count())]
    if not machine.cuda_build:
        return machine
    machine.compiler = shutil.which(os.environ.get('CXX', 'c++'))
    machine.nvcc = {p: r for p in _nvcc_candidates() if (r := _nvcc_release(p))}
    try:
        machine.toolkit = importlib.metadata.version('cuda-toolkit')
    except importlib.metadata.PackageNotFoundError:
        pass
    return machine


def _install(requirement: str) -> None:
    done = subprocess.run([sys.executable, '-m', 'pip', 'install', '-q',
                           '--disable-pip-version-check', requirement],
                          capture_output=True, text=True)
    if done.returncode:
        last = (done.stderr.strip().splitlines() or ['pip failed'])[-1]
        raise Missing(f'pip could not install {requirement} (the nvcc for the CUDA build of '
                      f'mmcv): {last}; install it, or set {FORCE_CPU}=1 to build CPU ops')


def main(argv: list[str]) -> int:
    machine = probe()
    if argv == ['variant']:
        print(f'MMCV_VARIANT={shlex.quote(variant(machine))}')
        return 0
    if argv != ['build']:
        print('usage: cuda_build_env.py variant|build', file=sys.stderr)
        return 2
    try:
        if machine.cuda_build and not matching_nvcc(machine):
            if requirement := toolkit_requirement(machine):
                _install(requirement)
                machine = probe()
        env = build_env(machine)
    except Missing as missing:
        print(f'[setup] {missing}', file=sys.stderr)
        return 1
    if 'CUDA_HOME' in env:
        env.update(link_cudart(env['CUDA_HOME'], Path(sys.prefix, 'cuda-link')))
    for key, value in env.items():
        print(f'export {key}={shlex.quote(value)}')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
