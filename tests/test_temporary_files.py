"""Where this test suite writes its temporary files (tests/conftest.py): in memory where the
machine has a tmpfs with room, else where the user's TMPDIR or the system says."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import MEMORY_TMP_FOLDER, REPO, memory_tmp_folder


def _mounts(tmp_path: Path, folder: Path, kind: str) -> Path:
    mounts = tmp_path / 'mounts'
    mounts.write_text(f'/dev/vda / ext4 rw 0 0\n{kind} {folder} {kind} rw,nosuid 0 0\n')
    return mounts


def test_a_tmpfs_with_room_is_used(tmp_path):
    assert memory_tmp_folder(tmp_path, 1, _mounts(tmp_path, tmp_path, 'tmpfs')) == tmp_path


def test_a_disk_or_a_full_tmpfs_or_no_mount_table_is_not(tmp_path):
    free = os.statvfs(tmp_path).f_bavail * os.statvfs(tmp_path).f_frsize
    assert memory_tmp_folder(tmp_path, 1, _mounts(tmp_path, tmp_path, 'ext4')) is None
    assert memory_tmp_folder(tmp_path, free + 2**30, _mounts(tmp_path, tmp_path, 'tmpfs')) is None
    assert memory_tmp_folder(tmp_path, 1, tmp_path / 'no-mounts') is None


def test_a_run_without_tmpdir_writes_in_memory_where_it_can(tmp_path):
    """The folder is chosen before pytest makes its base folder, which test workers share: a
    pytest run with this suite's conftest and no TMPDIR (one test on one xdist worker) writes
    its tmp_path in the memory folder when this machine has one with room, else elsewhere."""
    (tmp_path / 'conftest.py').write_text(
        'from tests.conftest import pytest_configure  # noqa: F401\n')
    (tmp_path / 'test_where.py').write_text(
        'import os\n\n\ndef test_where(tmp_path):\n'
        "    open(os.environ['WHERE_FILE'], 'w').write(str(tmp_path))\n")
    where = tmp_path / 'where.txt'
    env = {k: v for k, v in os.environ.items() if k != 'TMPDIR'}
    env.update(PYTHONPATH=str(REPO), WHERE_FILE=str(where))
    result = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'xdist', '-n', '1',
                             '-p', 'no:cacheprovider', str(tmp_path)], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    used = Path(where.read_text()).resolve()
    memory = memory_tmp_folder()
    if memory is not None:  # this machine has the room
        assert used.is_relative_to(memory.resolve()), used
    else:
        assert not used.is_relative_to(MEMORY_TMP_FOLDER.resolve()), used
