"""A factory of valid result records for the tests of harness.results and harness.leaderboard."""

from __future__ import annotations

import copy

SHA_A = 'a' * 64
SHA_B = 'b' * 64

_BASE = {
    'schema_version': 2,
    'method': {'name': 'videomae', 'distribution': 'ssl-harness-videomae', 'version': '0.1.0'},
    'backbone': {'name': 'vit-s16', 'distribution': 'ssl-harness', 'version': '0.1.0'},
    'pretrain': {
        'dataset': 'ucf101', 'data': 'real', 'split': 'train1', 'num_items': 9537,
        'files_sha256': SHA_A, 'epochs': 10, 'iters': None, 'config_sha256': '0123abcd' + 'c' * 56,
        'checkpoint_sha256': SHA_B, 'reused': False,
    },
    'eval': {
        'name': 'ucf101', 'protocol': 'finetune', 'protocol_version': '1', 'splits': ['split1'],
        'clips': 5, 'crops': 3, 'config_sha256': SHA_A,
        'weights': {'loaded': 150, 'total': 152, 'missing': ['head.weight', 'head.bias'],
                    'unexpected': []},
    },
    'metrics': {'top1': {'value': 81.25, 'higher_is_better': True, 'unit': '%'}},
    'seeds': [0],
    'data': 'real',
    'source': 'reproduced',
    'citation': None,
    'provenance': {
        'harness_version': '0.1.0', 'git_commit': 'deadbeef', 'git_dirty': False,
        'packages': {'torch': '2.3.1'}, 'device': 'cpu', 'started_at': '2024-05-01T12:00:00+00:00',
        'duration_s': 12.5, 'command': 'harness run --method videomae',
    },
}


def _apply(record: dict, overrides: dict) -> dict:
    for key, value in overrides.items():
        *parents, leaf = key.split('__')
        target = record
        for parent in parents:
            target = target[parent]
        target[leaf] = copy.deepcopy(value)
    return record


def make_record(**overrides) -> dict:
    """A valid reproduced record; each keyword replaces that top-level field.

    Nested fields are changed with ``__``: ``make_record(eval__protocol='linear')``.
    """
    record = copy.deepcopy(_BASE)
    return _apply(record, overrides)


def make_reported(**overrides) -> dict:
    """A valid reported record (a paper's number); keywords as for :func:`make_record`."""
    record = make_record(source='reported', citation='Tong et al., NeurIPS 2022', seeds=[],
                         pretrain={'dataset': 'kinetics400', 'note': 'official checkpoint'})
    del record['provenance']
    return _apply(record, overrides)


def as_schema_1(record: dict) -> dict:
    """``record`` (schema 2) as schema version 1 wrote it: ``eval.test_videos``,
    ``eval.skipped_videos`` and each pretraining block's ``num_videos`` and ``skipped_videos``
    (schema 2 calls them ``..._items``)."""
    record = copy.deepcopy(record)
    record['schema_version'] = 1
    renames = {'test_items': 'test_videos', 'skipped_items': 'skipped_videos',
               'num_items': 'num_videos'}
    pretrain = record.get('pretrain') or {}
    blocks = [record['eval'], pretrain, *(pretrain.get('per_split') or {}).values()]
    blocks += [block for split in (pretrain.get('per_seed') or {}).values()
               for block in split.values()]
    for block in blocks:
        for new, old in renames.items():
            if new in block:
                block[old] = block.pop(new)
    return record
