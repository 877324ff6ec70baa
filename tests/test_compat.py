"""Compatibility shims of harness/compat.py that change how a third-party library behaves."""
from __future__ import annotations

from harness.compat import format_configs_once


def test_a_config_formats_as_before_and_yapf_runs_once_per_text(monkeypatch):
    import mmengine.config.config as config_module
    from mmengine.config import Config

    cfg = Config(dict(model=dict(type='BraVe', hidden_dim=512, views=[dict(size=32)] * 3),
                      train_cfg=dict(max_iters=6)))
    expected = cfg.pretty_text  # whatever was installed before: mmengine's yapf, or the shim
    runs = []
    yapf = config_module.FormatCode
    monkeypatch.setattr(config_module, 'FormatCode',
                        lambda *a, **k: runs.append(a[0]) or yapf(*a, **k))
    format_configs_once.cache_clear()
    format_configs_once()  # wraps the counting stand-in above
    assert [cfg.pretty_text for _ in range(4)] == [expected] * 4
    assert len(runs) == 1
    cfg.merge_from_dict({'train_cfg.max_iters': 8})
    assert 'max_iters=8' in cfg.pretty_text and len(runs) == 2
    format_configs_once.cache_clear()  # the next caller installs it over mmengine's again
