"""Which device the installed mmcv's compiled ops were built for, in one line for
``harness --version``. Asks mmcv's own ``get_compiling_cuda_version`` in its ``_ext`` module,
loaded on its own: ``import mmcv.ops`` would import every op and cost seconds."""
from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
from pathlib import Path


def mmcv_ops_line() -> str:
    """``mmcv 2.1.0 ops: CPU only``, ``mmcv 2.1.0 ops: CUDA 13.0``, or why neither can be said."""
    try:
        version = importlib.metadata.version('mmcv')
    except importlib.metadata.PackageNotFoundError:
        return 'mmcv ops: mmcv is not installed'
    return f'mmcv {version} ops: {_ops_support()}'


def _ops_support() -> str:
    ext = sys.modules.get('mmcv._ext')
    if ext is None:
        spec = importlib.util.find_spec('mmcv')  # finds the package without running it
        found = sorted(Path(spec.origin).parent.glob('_ext.*')) if spec and spec.origin else []
        if not found:
            return 'not built (mmcv without compiled ops)'
        try:
            import torch  # noqa: F401  (the extension links against torch's libraries)
            ext_spec = importlib.util.spec_from_file_location('mmcv._ext', found[0])
            ext = importlib.util.module_from_spec(ext_spec)
            ext_spec.loader.exec_module(ext)
        except Exception as exc:  # noqa: BLE001  (an ABI mismatch shows up here)
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            return f'cannot be loaded ({first})'
    cuda = ext.get_compiling_cuda_version()
    return 'CPU only' if cuda == 'not available' else f'CUDA {cuda}'
