"""Result record files: their ids, their canonical text, writing and reading them.

One JSON file per result (docs/design.md §4), named by :func:`record_id`. Records are validated
against the schema (:mod:`harness.schema`) on write and on read; a record of an older schema
version is upgraded when it is read, so records written before stay readable; a record is
written in the current version only, atomically (:mod:`harness.io`). Bad JSON or a schema
failure raises :class:`~harness.errors.RecordError` with a one-line message naming the file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from harness.errors import RecordError
from harness.io import atomic_write_text
from harness.schema import upgrade_record, validate_record

_UNSAFE = re.compile(r'[^A-Za-z0-9._-]')


def record_id(record: dict) -> str:
    """The file stem of a record, one per result:
    ``method[-variant]__backbone__pt-DATASET__eval-protocol-splitS__data__seedS[__cfg-P-E]
    [__reported]`` (``pt-none`` without pretraining; several splits joined by ``-``;
    ``__cfg-P-E`` names the pretraining and evaluation configs unless both are ``demo``)."""
    seeds = '-'.join(str(seed) for seed in record['seeds'])
    splits = '-'.join(record['eval']['splits'])
    pretrain = (record.get('pretrain') or {}).get('dataset', 'none')
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
    return _UNSAFE.sub('-', text)


def dumps_record(record: dict) -> str:
    """The canonical text of a record: sorted keys, indent 2, trailing newline."""
    return json.dumps(record, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + '\n'


def write_record(record: dict, directory) -> Path:
    """Validate ``record`` and write it atomically to ``directory/<record_id>.json``.

    An existing file with the same id is replaced. Returns the path written.
    """
    directory = Path(directory)
    validate_record(record, source=f'record for {directory}')
    return atomic_write_text(directory / f'{record_id(record)}.json', dumps_record(record))


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
