"""Where a number came from: code version, packages, device, time."""
from __future__ import annotations

import importlib.metadata as metadata
import subprocess
from pathlib import Path

import harness

PACKAGES = ('torch', 'torchvision', 'mmengine', 'mmcv', 'mmaction2', 'mmdet', 'timm', 'decord',
            'pluggy', 'numpy')
REPO = Path(harness.__file__).resolve().parent.parent


def package_versions(extra: tuple[str, ...] = ()) -> dict[str, str]:
    versions = {}
    for name in PACKAGES + tuple(extra):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _git(*args: str) -> str | None:
    try:
        # --no-optional-locks: reading the status never takes .git/index.lock, so a run never
        # blocks (or fails) a git command the user runs in the checkout meanwhile
        out = subprocess.run(['git', '--no-optional-locks', '-C', str(REPO), *args],
                             capture_output=True, text=True, timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def git_commit() -> tuple[str | None, bool | None]:
    """(commit, dirty) of the harness checkout, or (None, None) outside a git checkout; dirty
    means tracked code or configs differ from the commit (leaderboards/ is not counted)."""
    commit = _git('rev-parse', 'HEAD')
    if not commit:
        return None, None
    # the leaderboard a run regenerates is output, not code: it does not make the tree dirty
    status = _git('status', '--porcelain', '--untracked-files=no', '--', '.', ':!leaderboards')
    return commit, bool(status) if status is not None else None


def device_name() -> str:
    import torch

    if torch.cuda.is_available():
        return f'cuda: {torch.cuda.get_device_name(0)} x{torch.cuda.device_count()}'
    return f'cpu ({torch.get_num_threads()} threads)'
