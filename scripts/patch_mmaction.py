"""Patch the installed mmaction2 1.2.0 so that ``import mmaction.models`` works.

1. The PyPI release lacks ``mmaction/models/localizers/drn/`` but its ``localizers/__init__.py``
   imports it: that import is removed.
2. With ``transformers`` >= 4.28 installed, ``models/multimodal/__init__.py`` imports its
   multimodal models, which fail under transformers 5 (``cannot import name
   'apply_chunking_to_forward'``): the import is made to fall back to mmaction2's own
   placeholders (the models then say which extra to install) instead of failing.

Each patch is idempotent and a no-op on a release that does not need it.
"""
import importlib.util
import pathlib
import re
import sys

MULTIMODAL_IMPORT = 'if WITH_MULTIMODAL:\n    from .vindlu import *  # noqa: F401,F403\n'
MULTIMODAL_FALLBACK = '''try:  # patched by ssl-harness: transformers 5 breaks these imports
    if WITH_MULTIMODAL:
        from .vindlu import *  # noqa: F401,F403
except ImportError:
    WITH_MULTIMODAL = False

if WITH_MULTIMODAL:
    pass
'''


def without_drn(text: str) -> str:
    """``localizers/__init__.py`` without the import of the missing ``drn`` package."""
    text = re.sub(r'^from \.drn\.drn import DRN\n', '', text, flags=re.M)
    return re.sub(r"\s*'DRN',?", '', text)


def multimodal_fallback(text: str) -> str:
    """``multimodal/__init__.py`` whose model import falls back to the placeholders."""
    return text.replace(MULTIMODAL_IMPORT, MULTIMODAL_FALLBACK)


def patch(path: pathlib.Path, edit, what: str) -> None:
    text = path.read_text()
    patched = edit(text)
    if patched != text:
        path.write_text(patched)
        print(f'[patch] {what}: {path}')


def main() -> int:
    spec = importlib.util.find_spec('mmaction')
    if spec is None or not spec.submodule_search_locations:
        print('[patch] mmaction2 is not installed', file=sys.stderr)
        return 1
    models = pathlib.Path(list(spec.submodule_search_locations)[0]) / 'models'
    if not (models / 'localizers' / 'drn').is_dir():
        patch(models / 'localizers' / '__init__.py', without_drn,
              'removed the import of the missing drn package')
    patch(models / 'multimodal' / '__init__.py', multimodal_fallback,
          'multimodal models fall back to placeholders when their import fails')
    return 0


if __name__ == '__main__':
    sys.exit(main())
