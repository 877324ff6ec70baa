"""Sources tables: where each value of a config comes from, checked against the config, and the
guesses named in `harness list` and the record."""
from __future__ import annotations

import pytest

from harness.api import resolve_config
from harness.config import EVAL_RUNTIME, load_config, load_pretrain_config, merge_over
from harness.errors import ConfigError
from harness.plugins import PluginManager
from harness.sources import mismatches, read_sources, sources_file, unverified_settings

PM = PluginManager()
METHOD_CONFIGS = [ref for e in PM.components['method'].values()
                  for variant in (e.info, *e.info.also) for ref in variant.configs.values()]
PROTOCOL_CONFIGS = [ref for e in PM.components['evaluator'].values()
                    for p in e.info.protocols for ref in p.configs.values()]
TABLES = [(ref, 'method') for ref in METHOD_CONFIGS if sources_file(resolve_config(ref)).is_file()]
TABLES += [(ref, 'protocol') for ref in PROTOCOL_CONFIGS
           if sources_file(resolve_config(ref)).is_file()]


def write(tmp_path, table: str):
    config = tmp_path / 'm_paper.py'
    config.write_text("model = dict(lr=0.1, sizes=(1, 2), head=[dict(k=3)])\n")
    (tmp_path / 'm_paper.sources.toml').write_text(table)
    return config


def test_a_table_is_read_checked_against_the_config_and_names_its_guesses(tmp_path):
    config = write(tmp_path, '"model.lr" = { value = 0.1, source = "code", where = "o/r: a.py" }\n'
                             '"model.sizes" = { value = [1, 2], source = "mem" }\n'
                             '"model.head.0.k" = { value = 4, source = "unverified" }\n'
                             '"model.gone" = { value = 1, source = "paper", where = "Table 2" }\n')
    sources = read_sources(config)
    assert sources['model.lr'].where == 'o/r: a.py' and sources['model.sizes'].source == 'mem'
    assert unverified_settings(config) == ['model.head.0.k', 'model.sizes']
    assert mismatches(load_config(config, label='c'), sources) == [
        'model.head.0.k: the config has 3, its sources table 4', 'model.gone: not in the config']


def test_a_config_without_a_table_has_no_named_guesses(tmp_path):
    config = tmp_path / 'x.py'
    config.write_text('a = 1\n')
    assert read_sources(config) is None and unverified_settings(config) == []
    assert unverified_settings(None) == []


@pytest.mark.parametrize('entry', ['{ value = 1, source = "memory" }', '{ source = "code" }',
                                   '{ value = 1, source = "code", url = "x" }', '3'])
def test_a_malformed_entry_is_a_one_line_error(tmp_path, entry):
    config = write(tmp_path, f'"model.lr" = {entry}\n')
    with pytest.raises(ConfigError, match=r"m_paper.sources.toml: 'model.lr' needs value, "
                       r'source \(one of code, paper, mem, unverified\)') as error:
        read_sources(config)
    assert '\n' not in str(error.value)


def test_shipped_configs_have_sources_tables():
    assert TABLES  # the tables ship with their configs (package data)


@pytest.mark.parametrize('ref,kind', TABLES, ids=[ref.split(':')[-1] for ref, _ in TABLES])
def test_every_shipped_table_agrees_with_its_config(ref, kind):
    path = resolve_config(ref)
    if kind == 'method':
        cfg = load_pretrain_config(path)
    else:
        cfg = load_config(path, label='evaluation config')
        if 'train_cfg' in cfg:
            cfg = merge_over(EVAL_RUNTIME, cfg, label='evaluation runtime')
    assert mismatches(cfg, read_sources(path)) == []


def test_harness_list_names_the_unverified_settings(tmp_path, monkeypatch, capsys):
    from harness import cli

    config = write(tmp_path, '"model.lr" = { value = 0.1, source = "mem" }\n')
    monkeypatch.setattr('harness.sources.sources_file',
                        lambda c: config.with_name('m_paper.sources.toml'))
    assert cli.main(['list']) == 0
    assert 'paper: unverified settings: model.lr' in capsys.readouterr().out
