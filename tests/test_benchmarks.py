"""The benchmark scripts run (briefly, at tiny sizes): their numbers are for the closing notes,
not for tests; this only keeps them working."""
from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import REPO


@pytest.mark.slow
@pytest.mark.parametrize('method,sizes', [('brave', ['--narrow', '4x16', '--broad', '4x16']),
                                          ('transrank', ['--clip', '4x16']),
                                          ('videomoco', ['--view', '4x16']),  # two optimizers
                                          ('simclr', ['--image', '16'])])  # images
def test_pretrain_throughput_compares_harness_and_plain_loop(method, sizes, tmp_path):
    result = subprocess.run(
        [sys.executable, str(REPO / 'benchmarks' / 'pretrain_throughput.py'), '--method', method,
         '--batch', '2', '--workers', '0', '--iters', '3', '--warmup', '1', '--work-dir',
         str(tmp_path), *sizes], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert any(line.startswith('harness ') for line in lines)
    assert any(line.startswith('plain loop ') for line in lines)
    assert 'ratio harness / plain loop: ' in result.stdout
