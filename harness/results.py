"""Result record files: their ids, their canonical text, writing and reading them.

One JSON file per result (docs/design.md §4), named by :func:`record_id`. Records are validated
against the schema (:mod:`harness.schema`) on write and on read; a record of an older schema
version is upgraded when it is read, so records written before stay readable; a record is
written in the current version only, atomically and never over another file
(:mod:`harness.io`). Bad JSON or a schema
failure raises :class:`~harness.errors.RecordError` with a one-line message naming the file.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

from harness.errors import RecordError
from harness.io import exclusive_write_text
from harness.schema import upgrade_record, validate_record

_UNSAFE = re.compile(r'[^A-Za-z0-9._-]')


def record_id(record: dict) -> str:
    """The file stem of a record, one per result:
    ``method[-variant]__backbone__pt-DATASET__eval-protocol-splitS__data__seedS[__cfg-P-E]
    [__reported][__IDENTITY]`` (``pt-none`` without pretraining, ``pt-external`` for
    weights evaluated with ``harness eval``; several splits joined by ``-``;
    ``__cfg-P-E`` names the pretraining and evaluation configs unless both are ``demo``;
    ``IDENTITY``: the first 10 characters of the record's ``identity``, the hash of everything
    that decides its numbers (:func:`harness.identity.record_identity`), so runs that differ
    only in an option or in their data never share an id)."""
    seeds = '-'.join(str(seed) for seed in record['seeds'])
    splits = '-'.join(record['eval']['splits'])
    pretrain = (record.get('pretrain') or {}).get(
        'dataset', 'external' if record.get('external_weights') else 'none')
    method = record['method']['name']
    if record.get('variant'):
        method += f"-{record['variant']}"
    text = (f"{method}__{record['backbone']['name']}__pt-{pretrain}__"
            f"{record['eval']['name']}-{record['eval']['protocol']}-split{splits}__"
            f"{record['data']}__seed{seeds}")
    configs = ((record.get('pretrain') or {}).get('config', 'demo'),
               record['eval'].get('config', 'demo'))
    if configs != ('demo', 'demo'):
        text += '__cfg-' + '-'.join(Path(name).stem for name in configs)
    if record['source'] == 'reported':
        text += '__reported'
    if record.get('identity'):
        text += f"__{record['identity'][:10]}"
    return _UNSAFE.sub('-', text)


def dumps_record(record: dict) -> str:
    """The canonical text of a record: sorted keys, indent 2, trailing newline."""
    return json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + '\n'


def write_record(record: dict, directory) -> tuple[Path, str]:
    """Validate ``record`` and write it to ``directory/<record_id>.json``, never replacing a
    file: returns ``(path, state)``.

    ``state`` is ``'written'``; ``'unchanged'`` when that file already holds the same result
    (the same metrics: a second run of the same settings, or two at once), which is then kept
    as it is; or ``'beside'`` when it holds other metrics, the new record then going to the
    first free ``<record_id>__N.json`` (N = 2, 3, ...). Each file is created exclusively and
    atomically, so writers of one id at the same time cannot lose either result.
    """
    directory = Path(directory)
    validate_record(record, source=f'record for {directory}')
    stem, text = record_id(record), dumps_record(record)
    for number in itertools.count(1):
        path = directory / (f'{stem}.json' if number == 1 else f'{stem}__{number}.json')
        if exclusive_write_text(path, text):
            return path, 'written' if number == 1 else 'beside'
        try:
            same = read_record(path).get('metrics') == record['metrics']
        except RecordError:
            same = False
        if same:
            return path, 'unchanged'
    raise AssertionError('unreachable')


def _reject_constant(name):
    raise ValueError(f'{name} is not valid JSON')


def read_record(path) -> dict:
    """Read one record, upgrade it to the current schema version (:func:`upgrade_record`) and
    validate it; bad JSON or a schema failure raises :class:`RecordError`."""
    path = Path(path)
    try:
        text = path.read_text(encoding='utf-8')
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordError(f'{path}: cannot read result record: {exc}') from exc
    try:
        record = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise RecordError(f'{path}: invalid JSON at line {exc.lineno} column {exc.colno}: '
                          f'{exc.msg}') from exc
    except ValueError as exc:
        raise RecordError(f'{path}: invalid JSON: {exc}') from exc
    return validate_record(upgrade_record(record), source=path)


def read_records(directory) -> list[dict]:
    """All records ``directory/*.json``, sorted by file name; a missing directory gives ``[]``."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return [read_record(path) for path in sorted(directory.glob('*.json'))]
