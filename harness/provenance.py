"""Where a number came from: code version, packages, device, time.

Every distribution a run involves (the harness, the plugin distributions of its components, the
key libraries of :data:`PACKAGES`) is recorded by :func:`distributions_provenance` with its
version and, when it is installed from a git tree, that tree's commit and dirty flag: how it was
installed is its ``direct_url.json`` (PEP 610, read through :mod:`importlib.metadata`): an
editable or a local-folder install names the folder (its work tree is asked with ``git
--no-optional-locks``, so no index is rewritten), an install from a VCS URL names the commit it
was built from. A distribution from an index or a wheel file has its version only.
"""
from __future__ import annotations

import importlib.metadata as metadata
import json
import subprocess
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import unquote, urlparse

import harness

PACKAGES = ('torch', 'torchvision', 'mmengine', 'mmcv', 'mmaction2', 'mmdet', 'timm', 'decord',
            'pluggy', 'numpy')
REPO = Path(harness.__file__).resolve().parent.parent
#: The harness's own distribution.
HARNESS_DIST = 'ssl-harness'


def package_versions(extra: tuple[str, ...] = ()) -> dict[str, str]:
    versions = {}
    for name in PACKAGES + tuple(extra):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _git(*args: str, tree: Path | None = None) -> str | None:
    try:
        # --no-optional-locks: reading the status never takes .git/index.lock, so a run never
        # blocks (or fails) a git command the user runs in the checkout meanwhile
        out = subprocess.run(['git', '--no-optional-locks', '-C', str(tree or REPO), *args],
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


def tree_state(folder: Path) -> tuple[str | None, bool | None]:
    """(commit, dirty) of the git work tree holding ``folder``, dirty meaning tracked files
    under ``folder`` differ from the commit; (None, None) outside a git work tree."""
    if not folder.is_dir():
        return None, None
    commit = _git('rev-parse', 'HEAD', tree=folder)
    if not commit:
        return None, None
    status = _git('status', '--porcelain', '--untracked-files=no', '--', '.', tree=folder)
    return commit, bool(status) if status is not None else None


def direct_url(dist: metadata.Distribution) -> dict[str, Any] | None:
    """The distribution's ``direct_url.json`` (PEP 610), None when it has none (installed from
    an index) or it cannot be read."""
    try:
        text = dist.read_text('direct_url.json')
        return json.loads(text) if text else None
    except (OSError, ValueError):
        return None


def distribution_provenance(name: str) -> dict[str, Any] | None:
    """``{'version': ...}`` of the installed distribution ``name``, with ``commit`` and
    ``dirty`` when it is installed from a git tree (``editable``: whether the code runs from
    that folder; ``vcs``: installed from a VCS URL at ``commit``); None when it is not
    installed."""
    # the same distribution may be found twice (an editable install's dist-info and the
    # egg-info setuptools leaves in its folder, when that folder is on sys.path): the one that
    # says how it was installed
    found = [(dist, direct_url(dist)) for dist in metadata.distributions(name=name)]
    if not found:
        return None
    dist, url = next(((d, u) for d, u in found if u), found[0])
    url = url or {}
    entry: dict[str, Any] = {'version': dist.version}
    vcs = url.get('vcs_info')
    if isinstance(vcs, dict) and vcs.get('commit_id'):
        # built from a clone at that commit: what is installed is the commit, unchanged
        entry.update(commit=vcs['commit_id'], dirty=False, vcs=vcs.get('vcs', 'git'))
    elif isinstance(url.get('dir_info'), dict) and str(url.get('url', '')).startswith('file:'):
        folder = Path(unquote(urlparse(url['url']).path))
        # the checkout's own flag leaves out the leaderboard a run regenerates (git_commit)
        commit, dirty = git_commit() if folder.resolve() == REPO else tree_state(folder)
        if commit:
            entry.update(commit=commit, dirty=dirty,
                         editable=bool(url['dir_info'].get('editable', False)))
    return entry


def distributions_provenance(names: Iterable[str] = ()) -> dict[str, dict[str, Any]]:
    """:func:`distribution_provenance` of the harness, each installed distribution of ``names``
    and :data:`PACKAGES` (sorted, each once; those not installed are left out)."""
    found = {}
    for name in sorted({HARNESS_DIST, *names, *PACKAGES}):
        entry = distribution_provenance(name)
        if entry is not None:
            found[name] = entry
    return found


def device_name() -> str:
    import torch

    if torch.cuda.is_available():
        return f'cuda: {torch.cuda.get_device_name(0)} x{torch.cuda.device_count()}'
    return f'cpu ({torch.get_num_threads()} threads)'
