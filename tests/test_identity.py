"""harness.identity: what makes two pretrainings the same one."""
from __future__ import annotations

import sys

from harness.identity import pretrain_key, source_sha256


def test_source_hash_follows_every_file_of_a_plugin_package(tmp_path, monkeypatch):
    package = tmp_path / 'fake_method_pkg'
    package.mkdir()
    (package / '__init__.py').write_text('')
    (package / 'losses.py').write_text('def loss(x):\n    return x\n')
    (package / 'model.py').write_text('from fake_method_pkg.losses import loss\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    before = source_sha256(['fake_method_pkg.model'])
    assert set(before) == {'fake_method_pkg'}  # a plugin module stands for its whole package
    assert source_sha256(['fake_method_pkg.model']) == before
    (package / 'losses.py').write_text('def loss(x):\n    return 2 * x\n')  # another module
    assert source_sha256(['fake_method_pkg.model']) != before
    sys.modules.pop('fake_method_pkg', None)


def test_core_modules_stand_for_their_own_file_only():
    digests = source_sha256(['harness.data.views', 'harness.data.listdata'])
    assert set(digests) == {'harness.data.views', 'harness.data.listdata'}


def test_key_changes_with_config_versions_and_code():
    key = pretrain_key('c' * 64, {'harness-brave': '0.1.0'}, {'harness_brave': 'a' * 64})
    assert key == pretrain_key('c' * 64, {'harness-brave': '0.1.0'}, {'harness_brave': 'a' * 64})
    assert key != pretrain_key('d' * 64, {'harness-brave': '0.1.0'}, {'harness_brave': 'a' * 64})
    assert key != pretrain_key('c' * 64, {'harness-brave': '0.2.0'}, {'harness_brave': 'a' * 64})
    assert key != pretrain_key('c' * 64, {'harness-brave': '0.1.0'}, {'harness_brave': 'b' * 64})
