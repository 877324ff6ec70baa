"""scripts/cuda_build_env.py: how setup builds mmcv's ops, CPU or CUDA, from faked machines (no
GPU is needed), and on this machine (no GPU: the CPU path as before)."""
from __future__ import annotations

import importlib.util
import subprocess
import sys

import pytest
import torch

from tests.conftest import REPO

spec = importlib.util.spec_from_file_location('cuda_build_env',
                                              REPO / 'scripts' / 'cuda_build_env.py')
cbe = sys.modules['cuda_build_env'] = importlib.util.module_from_spec(spec)  # for @dataclass
spec.loader.exec_module(cbe)

NVCC = '/opt/cuda-13.0/bin/nvcc'


def h100(**kwargs) -> cbe.Machine:
    facts = dict(torch_cuda='13.0', capabilities=[(9, 0)], nvcc={NVCC: '13.0'},
                 compiler='/usr/bin/c++', env={})
    return cbe.Machine(**{**facts, **kwargs})


def test_gpu_with_a_matching_nvcc_builds_cuda_ops_for_its_architecture():
    machine = h100(nvcc={'/usr/local/cuda/bin/nvcc': '12.4', NVCC: '13.0'})
    assert cbe.build_env(machine) == {'FORCE_CUDA': '1', 'MMCV_WITH_OPS': '1',
                                      'CUDA_HOME': '/opt/cuda-13.0',
                                      'TORCH_CUDA_ARCH_LIST': '9.0'}
    assert cbe.variant(machine) == 'cu130-sm90'


def test_the_cache_variant_follows_the_gpus_and_an_explicit_arch_list():
    assert cbe.variant(h100(capabilities=[(9, 0), (8, 0), (9, 0)])) == 'cu130-sm80_90'
    machine = h100(env={'TORCH_CUDA_ARCH_LIST': '8.0 9.0+PTX'})
    assert cbe.variant(machine) == 'cu130-sm80_90ptx'
    assert cbe.build_env(machine)['TORCH_CUDA_ARCH_LIST'] == '8.0 9.0+PTX'


def test_gpu_without_a_matching_nvcc_stops_with_one_line():
    machine = h100(nvcc={'/usr/local/cuda/bin/nvcc': '12.4'})
    assert cbe.toolkit_requirement(machine) is None
    with pytest.raises(cbe.Missing) as missing:
        cbe.build_env(machine)
    line = str(missing.value)
    assert '\n' not in line and line.startswith('no nvcc for CUDA 13.0')
    assert '12.4 at /usr/local/cuda/bin/nvcc' in line and 'CUDA_HOME' in line
    assert 'HARNESS_CPU_OPS=1' in line


def test_gpu_without_a_compiler_stops_with_one_line():
    with pytest.raises(cbe.Missing, match=r'^no C\+\+ compiler for the CUDA 13.0 build'):
        cbe.build_env(h100(compiler=None))


def test_nvcc_comes_from_torchs_own_cuda_toolkit_pin():
    assert cbe.toolkit_requirement(h100(nvcc={}, toolkit='13.0.3')) == \
        'cuda-toolkit[nvcc,cccl]==13.0.3'
    assert cbe.toolkit_requirement(h100(nvcc={}, toolkit='12.8.1')) is None


@pytest.mark.parametrize('machine', [
    cbe.Machine(torch_cuda='13.0'),                              # CUDA torch, no GPU
    cbe.Machine(torch_cuda=None),                                # CPU torch
])
def test_no_gpu_keeps_the_cpu_build(machine):
    assert cbe.build_env(machine) == {} and cbe.variant(machine) == ''


def test_cpu_ops_can_be_forced_on_a_gpu_machine():
    machine = h100(env={'HARNESS_CPU_OPS': '1'})
    assert cbe.variant(machine) == ''
    assert cbe.build_env(machine) == {'CUDA_VISIBLE_DEVICES': ''}  # mmcv's setup.py asks torch


def test_a_linker_name_for_the_wheels_versioned_cudart(tmp_path, monkeypatch):
    monkeypatch.delenv('LIBRARY_PATH', raising=False)
    home = tmp_path / 'nvidia' / 'cu13'
    (home / 'lib').mkdir(parents=True)
    (home / 'lib' / 'libcudart.so.13').write_bytes(b'')
    env = cbe.link_cudart(str(home), tmp_path / 'link')
    assert env == {'LIBRARY_PATH': str(tmp_path / 'link')}
    assert (tmp_path / 'link' / 'libcudart.so').resolve() == home / 'lib' / 'libcudart.so.13'
    (home / 'lib' / 'libcudart.so').write_bytes(b'')
    assert cbe.link_cudart(str(home), tmp_path / 'link') == {}


def test_main_installs_the_toolkit_then_prints_the_build_env(monkeypatch, capsys, tmp_path):
    wheel_nvcc = str(tmp_path / 'nvidia' / 'cu13' / 'bin' / 'nvcc')
    machines = iter([h100(nvcc={}, toolkit='13.0.3'), h100(nvcc={wheel_nvcc: '13.0'})])
    installed = []
    monkeypatch.setattr(cbe, 'probe', lambda: next(machines))
    monkeypatch.setattr(cbe, '_install', installed.append)
    assert cbe.main(['build']) == 0
    assert installed == ['cuda-toolkit[nvcc,cccl]==13.0.3']
    out = capsys.readouterr().out
    assert "export FORCE_CUDA=1\n" in out
    assert f"export CUDA_HOME={tmp_path / 'nvidia' / 'cu13'}\n" in out


def test_main_says_what_is_missing_in_one_line(monkeypatch, capsys):
    monkeypatch.setattr(cbe, 'probe', lambda: h100(nvcc={}))
    assert cbe.main(['build']) == 1
    captured = capsys.readouterr()
    assert captured.out == '' and captured.err.count('\n') == 1
    assert captured.err.startswith('[setup] no nvcc for CUDA 13.0')


@pytest.mark.skipif(torch.cuda.is_available(), reason='a GPU machine')
def test_this_machine_without_a_gpu_builds_cpu_ops_as_before():
    run = [sys.executable, str(REPO / 'scripts' / 'cuda_build_env.py')]
    env = {'PATH': '/usr/bin:/bin', 'OMP_NUM_THREADS': '1'}
    variant = subprocess.run(run + ['variant'], capture_output=True, text=True, env=env)
    build = subprocess.run(run + ['build'], capture_output=True, text=True, env=env)
    assert (variant.returncode, variant.stdout) == (0, "MMCV_VARIANT=''\n")
    assert (build.returncode, build.stdout) == (0, '')


def test_setup_script_parses():
    subprocess.run(['bash', '-n', str(REPO / 'scripts' / 'setup.sh')], check=True)


def test_nvcc_is_looked_for_where_its_headers_are(tmp_path, monkeypatch):
    home, wrapper = tmp_path / 'cuda-13.0', tmp_path / 'wrappers'
    for nvcc in (home / 'bin' / 'nvcc', wrapper / 'nvcc'):
        nvcc.parent.mkdir(parents=True)
        nvcc.write_text('#!/bin/sh\necho "Cuda compilation tools, release 13.0, V13.0.88"\n')
        nvcc.chmod(0o755)
    (home / 'include').mkdir()
    (home / 'include' / 'cuda_runtime.h').write_text('')
    monkeypatch.setenv('CUDA_HOME', str(home))
    monkeypatch.setenv('PATH', f'{wrapper}:/usr/bin:/bin')
    found = cbe._nvcc_candidates()
    assert found[0] == str(home / 'bin' / 'nvcc') and str(wrapper / 'nvcc') not in found
    assert cbe._nvcc_release(found[0]) == '13.0'
