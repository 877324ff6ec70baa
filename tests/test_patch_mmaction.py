"""scripts/patch_mmaction.py: mmaction2 1.2.0 imports on this stack, transformers 5 included."""
from __future__ import annotations

import importlib.util
import subprocess
import sys

from tests.conftest import REPO

spec = importlib.util.spec_from_file_location('patch_mmaction',
                                              REPO / 'scripts' / 'patch_mmaction.py')
patch_mmaction = importlib.util.module_from_spec(spec)
spec.loader.exec_module(patch_mmaction)

ORIGINAL = '''from mmaction.utils.dependency import WITH_MULTIMODAL

if WITH_MULTIMODAL:
    from .vindlu import *  # noqa: F401,F403

else:
    register()
'''


def test_multimodal_patch_is_idempotent_and_keeps_the_placeholder_branch():
    patched = patch_mmaction.multimodal_fallback(ORIGINAL)
    assert patched != ORIGINAL and patch_mmaction.multimodal_fallback(patched) == patched
    compile(patched, 'multimodal/__init__.py', 'exec')
    assert patched.rstrip().endswith('else:\n    register()')


def test_mmaction_models_import_with_transformers_5_installed(tmp_path):
    """A transformers 5 stand-in (a distribution whose package lacks what mmaction2's
    multimodal models import): with the installed, patched mmaction2 the import still works,
    the multimodal models being placeholders."""
    (tmp_path / 'transformers').mkdir()
    (tmp_path / 'transformers' / '__init__.py').write_text('__version__ = "5.0.0"\n')
    info = tmp_path / 'transformers-5.0.0.dist-info'
    info.mkdir()
    (info / 'METADATA').write_text('Metadata-Version: 2.1\nName: transformers\nVersion: 5.0.0\n')
    code = ('from mmaction.utils.dependency import WITH_MULTIMODAL; assert WITH_MULTIMODAL\n'
            'import mmaction.models\n'
            'from mmaction.registry import MODELS\n'
            'print(MODELS.get("VindLUVQA").__name__)')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            env={'PYTHONPATH': str(tmp_path), 'PATH': '/usr/bin:/bin'})
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'ask_install' in result.stdout
