"""Patch the installed mmaction2 1.2.0 so that ``import mmaction.models`` works.

The PyPI release lacks ``mmaction/models/localizers/drn/`` but its ``localizers/__init__.py``
imports it. This removes that import (idempotent; a no-op once patched or on a fixed release).
"""
import importlib.util
import pathlib
import re
import sys


def main() -> int:
    spec = importlib.util.find_spec('mmaction')
    if spec is None or not spec.submodule_search_locations:
        print('[patch] mmaction2 is not installed', file=sys.stderr)
        return 1
    root = pathlib.Path(list(spec.submodule_search_locations)[0])
    init = root / 'models' / 'localizers' / '__init__.py'
    if (root / 'models' / 'localizers' / 'drn').is_dir():
        return 0
    text = init.read_text()
    patched = re.sub(r'^from \.drn\.drn import DRN\n', '', text, flags=re.M)
    patched = re.sub(r"\s*'DRN',?", '', patched)
    if patched != text:
        init.write_text(patched)
        print(f'[patch] removed the missing drn import from {init}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
