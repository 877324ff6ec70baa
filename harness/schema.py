"""The result record's schema, its validation and the upgrade of older versions (design.md §4).

A record says what was measured (method, backbone, pretraining, evaluation protocol), the
numbers (``metrics``), and where they come from: ``source`` is ``"reproduced"`` for a run of
this harness (with full ``provenance``) or ``"reported"`` for a paper's number (with its
``citation``). ``data`` is ``"demo"`` or ``"real"``; demo results are never mixed into real
leaderboard tables.

:func:`validate_record` checks a record against :data:`RECORD_SCHEMA`; a malformed record raises
:class:`~harness.errors.RecordError` with a one-line message naming the file and the field,
e.g. ``leaderboards/records/x.json: field 'eval.protocol': 5 is not of type 'string'``.
:func:`upgrade_record` turns a record of an older schema version into the current one, so that
records written before stay readable; only the current version is written. Reading and writing
record files is :mod:`harness.results`.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import jsonschema
from jsonschema.exceptions import best_match

from harness.errors import RecordError

SCHEMA_VERSION = 2

#: The keys schema version 2 renamed (what is evaluated are items: videos or images), in the
#: ``eval`` block and in each pretraining block (``pretrain`` and its ``per_split``/``per_seed``
#: blocks): schema-1 name -> schema-2 name.
RENAMED_IN_V2 = {
    'eval': {'test_videos': 'test_items', 'skipped_videos': 'skipped_items'},
    'pretrain': {'num_videos': 'num_items', 'skipped_videos': 'skipped_items'},
}

_SHA256_PATTERN = '^[0-9a-f]{64}$'
_SHA256 = {'type': 'string', 'pattern': _SHA256_PATTERN}
_SHA256_OR_NULL = {'type': ['string', 'null'], 'pattern': _SHA256_PATTERN}
# a name is shown on one line (leaderboard cells, headings, file names): no control characters
_NAME = {'type': 'string', 'minLength': 1, 'pattern': '^[^\\x00-\\x1f\\x7f]+$'}
_DATA = {'enum': ['demo', 'real']}

_COMPONENT = {
    'type': 'object',
    'required': ['name', 'distribution', 'version'],
    'properties': {'name': _NAME, 'distribution': {'type': 'string'},
                   'version': {'type': 'string'},
                   # a backbone cut after a stage by the pretraining config (backbone_stage):
                   # the registered backbone it was cut from and the stage it ends at
                   'cut_from': _NAME, 'out_stage': _NAME},
}

_COUNT = {'type': 'integer', 'minimum': 1}
# How a pretraining ran across processes (harness.distributed.BatchPlan.as_record).
_DISTRIBUTED = {
    'type': 'object',
    'required': ['world_size', 'per_process_batch', 'accumulation', 'effective_batch', 'lr',
                 'batch_norm'],
    'properties': {
        'world_size': _COUNT, 'per_process_batch': _COUNT, 'accumulation': _COUNT,
        'effective_batch': _COUNT,
        'lr': {'type': ['number', 'null']},
        'lr_note': {'type': 'string'},
        'paper_batch': {'type': ['integer', 'null'], 'minimum': 1},
        'batch_norm': {'enum': ['global', 'per_process', 'per_process_shuffled']},
        'bn_samples': _COUNT,
        'gathers': {'type': 'object', 'additionalProperties': {'type': 'string'}},
        'notes': {'type': 'array', 'items': {'type': 'string'}},
    },
}

# One distribution a run involved (harness.provenance.distribution_provenance): its version,
# and the commit and dirty flag of the git tree it is installed from, if any.
_DISTRIBUTIONS = {
    'type': 'object',
    'additionalProperties': {
        'type': 'object',
        'required': ['version'],
        'properties': {
            'version': {'type': 'string'},
            'commit': {'type': 'string', 'pattern': '^[0-9a-f]{40,64}$'},
            'dirty': {'type': ['boolean', 'null']},
            'editable': {'type': 'boolean'},
            'vcs': {'type': 'string'},
        },
        'dependentRequired': {'dirty': ['commit'], 'editable': ['commit'], 'vcs': ['commit']},
    },
}

# The param groups a pretraining's optimizer trained with
# (harness.optimizers.param_group_summary): one entry per distinct lr and weight decay.
_PARAM_GROUPS = {
    'type': 'array',
    'items': {
        'type': 'object',
        'required': ['lr', 'weight_decay', 'params', 'numel'],
        'properties': {'optimizer': {'type': 'string'}, 'lr': {'type': 'number'},
                       'weight_decay': {'type': 'number'}, 'params': _COUNT,
                       'numel': {'type': 'integer', 'minimum': 0}, 'first': {'type': 'string'},
                       'fix_lr': {'type': 'boolean'}},
    },
}

# Pretraining of a reproduced record: null (no pretraining) or the full identity of the run.
_PRETRAIN_REPRODUCED = {
    'type': ['object', 'null'],
    'required': ['dataset', 'data', 'split', 'num_items', 'files_sha256', 'epochs', 'iters',
                 'config_sha256', 'checkpoint_sha256', 'reused'],
    'properties': {
        'dataset': _NAME,
        'data': _DATA,
        'split': {'type': 'string'},
        'num_items': {'type': 'integer', 'minimum': 0},
        'files_sha256': _SHA256,
        'epochs': {'type': ['number', 'null'], 'minimum': 0},
        'iters': {'type': ['integer', 'null'], 'minimum': 0},
        'config_sha256': _SHA256,
        'checkpoint_sha256': _SHA256_OR_NULL,
        'reused': {'type': 'boolean'},
        # since the pretraining identity covers code and versions (all optional for records
        # written before): the named config, the cache key, the source hashes, and the
        # provenance of the run that trained it (its distributions since they are recorded)
        'config': {'type': 'string'},
        'seed': {'type': 'integer'},
        'key': _SHA256,
        'sources': {'type': 'object', 'additionalProperties': _SHA256},
        'provenance': {'type': 'object', 'properties': {'distributions': _DISTRIBUTIONS}},
        # the exported tensors the pretraining left exactly as initialised (null: not known)
        'untrained': {'type': ['array', 'null'], 'items': {'type': 'string'}},
        # the config's settings whose value is a guess (harness.sources)
        'unverified': {'type': 'array', 'items': {'type': 'string'}},
        # how the pretraining ran across processes (harness.distributed.BatchPlan): processes
        # x per-process batch x accumulation steps = effective batch, the learning rate used,
        # the normalisation and the samples its statistics cover, what is gathered
        'distributed': _DISTRIBUTED,
        # every param group's lr (before any schedule) and weight decay, with its size
        'param_groups': _PARAM_GROUPS,
        # what the evaluated split's reader left out, by reason (e.g. invalid_box,
        # unknown_class, no_image, empty_class) -> count
        'dropped': {'type': 'object', 'additionalProperties': {'type': 'integer',
                                                               'minimum': 0}},
        # dense targets skipped because they cannot be read: 'train'/'test' -> count
        'skipped_targets': {'type': 'object', 'additionalProperties': {'type': 'integer',
                                                                       'minimum': 0}},
    },
}

# Pretraining of a reported record: a paper rarely gives more than the dataset (and a note).
_PRETRAIN_REPORTED = {
    'type': ['object', 'null'],
    'required': ['dataset'],
    'properties': {'dataset': _NAME, 'note': {'type': 'string'}},
}

# Weights made elsewhere, evaluated with ``harness eval --weights`` (harness.external): the
# file, the mapping of its keys onto the backbone, and what loaded.
_COUNT0 = {'type': 'integer', 'minimum': 0}
_EXTERNAL_WEIGHTS = {
    'type': 'object',
    'required': ['file', 'sha256', 'size', 'mapping', 'load', 'supervised'],
    'additionalProperties': False,
    'properties': {
        'file': _NAME,
        'sha256': _SHA256,
        'size': _COUNT0,
        # container: the dict keys above the state dict (e.g. 'state_dict'); strip: the prefix
        # its keys lost (container included, e.g. 'state_dict.module.encoder_q.'); add: the
        # prefix they gained (the harness backbone's wrapper, e.g. 'vit.'); convention: the
        # renaming applied first (harness.external.CONVENTIONS: 'none', 'mmpretrain-vit')
        'mapping': {'type': 'object', 'required': ['container', 'strip', 'add', 'convention'],
                    'additionalProperties': False,
                    'properties': {'container': {'type': 'string'},
                                   'strip': {'type': 'string'}, 'add': {'type': 'string'},
                                   'convention': _NAME}},
        # backbone tensors loaded / in the backbone / left missing; checkpoint tensors not
        # used (a classifier, a projector); backbone tensors whose checkpoint tensor under
        # the mapping had another shape
        'load': {'type': 'object',
                 'required': ['loaded', 'total', 'missing', 'unexpected', 'shape_mismatched'],
                 'additionalProperties': False,
                 'properties': {'loaded': _COUNT0, 'total': _COUNT0, 'missing': _COUNT0,
                                'unexpected': _COUNT0, 'shape_mismatched': _COUNT0}},
        # trained with labels (--supervised): a comparison row, not self-supervised
        'supervised': {'type': 'boolean'},
    },
}

_EVAL = {
    'type': 'object',
    'required': ['name', 'protocol', 'protocol_version', 'splits', 'clips', 'crops',
                 'config_sha256'],
    'properties': {
        'name': _NAME,
        'protocol': _NAME,
        'protocol_version': {'type': 'string'},
        'splits': {'type': 'array', 'minItems': 1, 'items': _NAME},
        # null only where a paper does not say (reported records)
        'clips': {'type': ['integer', 'null'], 'minimum': 1},
        'crops': {'type': ['integer', 'null'], 'minimum': 1},
        'config_sha256': _SHA256_OR_NULL,
        'weights': {
            'type': ['object', 'null'],
            'required': ['loaded', 'total'],
            'properties': {
                'loaded': {'type': 'integer', 'minimum': 0},
                'total': {'type': 'integer', 'minimum': 0},
                'missing': {'type': 'array', 'items': {'type': 'string'}},
                'unexpected': {'type': 'array', 'items': {'type': 'string'}},
                # the modules none of whose tensors the checkpoint held (left at their
                # initialisation), e.g. ['layer4']
                'missing_modules': {'type': 'array', 'items': {'type': 'string'}},
                # a checkpoint loaded into several modules (a C4 detector's backbone and res5
                # head): each module's own report; the fields above then sum them up
                'modules': {'type': 'object', 'additionalProperties': {
                    'type': 'object', 'required': ['loaded', 'total']}},
            },
        },
        # split -> number of test items (videos or images) evaluated (what one item is worth)
        'test_items': {'type': 'object', 'additionalProperties': {'type': 'integer',
                                                                  'minimum': 0}},
        # split -> items left out of it: listed but not on disk, or on disk but unreadable
        'skipped_items': {
            'type': 'object',
            'additionalProperties': {
                'type': 'object', 'required': ['missing', 'unreadable'],
                'properties': {'missing': {'type': 'integer', 'minimum': 0},
                               'unreadable': {'type': 'integer', 'minimum': 0}},
            },
        },
        # the config's settings whose value is a guess (harness.sources)
        'unverified': {'type': 'array', 'items': {'type': 'string'}},
        # what the evaluated split's reader left out, by reason (e.g. invalid_box,
        # unknown_class, no_image, empty_class) -> count
        'dropped': {'type': 'object', 'additionalProperties': {'type': 'integer',
                                                               'minimum': 0}},
        # dense targets skipped because they cannot be read: 'train'/'test' -> count
        'skipped_targets': {'type': 'object', 'additionalProperties': {'type': 'integer',
                                                                       'minimum': 0}},
    },
}

_METRIC = {
    'type': 'object',
    'required': ['value', 'higher_is_better'],
    'additionalProperties': False,
    'properties': {
        'value': {'type': 'number'},
        'higher_is_better': {'type': 'boolean'},
        'unit': {'type': 'string'},
        'std': {'type': 'number', 'minimum': 0},
        'per_split': {'type': 'object', 'additionalProperties': {'type': 'number'}},
        'per_seed': {'type': 'object', 'additionalProperties': {'type': 'number'}},
    },
}

_PROVENANCE = {
    'type': 'object',
    'required': ['harness_version', 'git_commit', 'git_dirty', 'packages', 'device', 'started_at',
                 'duration_s', 'command'],
    'properties': {
        'harness_version': {'type': 'string'},
        'git_commit': {'type': ['string', 'null']},
        'git_dirty': {'type': ['boolean', 'null']},
        'packages': {'type': 'object', 'additionalProperties': {'type': 'string'}},
        # every distribution involved; absent in records written before it was recorded
        'distributions': _DISTRIBUTIONS,
        'device': {'type': 'string'},
        # ISO-8601 date and time; the ``format`` is an annotation, the ``pattern`` is checked.
        'started_at': {'type': 'string', 'format': 'date-time',
                       'pattern': r'^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}'},
        'duration_s': {'type': 'number', 'minimum': 0},
        'command': {'type': 'string'},
        # process-wide speed settings in effect (e.g. flush_denormal: denormal floats as zero)
        'fast_paths': {'type': 'object', 'additionalProperties': {'type': 'boolean'}},
    },
}

RECORD_SCHEMA: dict[str, Any] = {
    '$schema': 'https://json-schema.org/draft/2020-12/schema',
    '$id': 'https://ssl-harness/result-record.schema.json',
    'title': 'ssl-harness result record',
    'type': 'object',
    'required': ['schema_version', 'method', 'backbone', 'pretrain', 'eval', 'metrics', 'seeds',
                 'data', 'source'],
    # Unknown top-level keys are allowed so that later versions can add fields.
    'properties': {
        'schema_version': {'const': SCHEMA_VERSION},
        'method': _COMPONENT,
        'backbone': _COMPONENT,
        'eval': _EVAL,
        'metrics': {'type': 'object', 'minProperties': 1, 'propertyNames': _NAME,
                    'additionalProperties': _METRIC},
        'seeds': {'type': 'array', 'items': {'type': 'integer'}},
        'data': _DATA,
        'source': {'enum': ['reproduced', 'reported']},
        # a paper's named variant of a method (e.g. BraVe's modalities 'V/AF'), if any
        'variant': _NAME,
        # the row evaluates weights made elsewhere (harness eval); 'method' then names them
        'external_weights': _EXTERNAL_WEIGHTS,
        # a reproduced record's identity: the hash of what decides its numbers (the settings,
        # data, weights, seeds and code of its evaluations); its id ends with it
        'identity': _SHA256,
    },
    'if': {'required': ['source'], 'properties': {'source': {'const': 'reported'}}},
    'then': {
        'required': ['citation'],
        'properties': {
            'pretrain': _PRETRAIN_REPORTED,
            'citation': {'type': 'string', 'minLength': 1},
            'provenance': {'type': ['object', 'null']},
        },
    },
    'else': {
        'required': ['provenance'],
        'properties': {
            'pretrain': _PRETRAIN_REPRODUCED,
            'seeds': {'minItems': 1},
            'citation': {'type': 'null'},
            'provenance': _PROVENANCE,
        },
    },
}

_VALIDATOR = jsonschema.Draft202012Validator(RECORD_SCHEMA)


def _field_path(path) -> str:
    """``['eval', 'splits', 0]`` -> ``eval.splits[0]``."""
    text = ''
    for part in path:
        if isinstance(part, int):
            text += f'[{part}]'
        else:
            part = part if str(part).isprintable() else repr(part)
            text += f'.{part}' if text else str(part)
    return text


_MAX_MESSAGE = 200


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + '...'


def _describe(error: jsonschema.ValidationError) -> tuple[str, str]:
    """The field path and message of a schema error, naming the missing or extra key itself."""
    path = list(error.absolute_path)
    instance = error.instance
    if error.validator == 'required' and isinstance(instance, dict):
        missing = [key for key in error.validator_value if key not in instance]
        if missing:
            return _field_path(path + [missing[0]]), 'is required but missing'
    if error.validator == 'additionalProperties' and isinstance(instance, dict):
        known = error.schema.get('properties', {})
        extra = sorted(key for key in instance if key not in known)
        if extra:
            return _field_path(path + [extra[0]]), 'is not an allowed key here'
    message = error.message
    if error.validator == 'type':
        message = f'{_short(error.instance)} is not of type {error.validator_value!r}'
    elif error.validator == 'pattern' and error.validator_value == _SHA256_PATTERN:
        message = f'{error.instance!r} is not a sha256 (64 lowercase hex digits)'
    if len(message) > _MAX_MESSAGE:
        message = message[:_MAX_MESSAGE - 3] + '...'
    return _field_path(path) or '<record>', message


def _non_finite(value, path=()):
    """The path of the first NaN or infinity in ``value`` (JSON cannot hold them), or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return list(path)
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _non_finite(item, (*path, key))
        if found is not None:
            return found
    return None


def validate_record(record: dict, source=None) -> dict:
    """Check ``record`` against :data:`RECORD_SCHEMA` and return it.

    Raises :class:`RecordError` with a one-line message naming ``source`` (a file path, if
    given) and the field of the most relevant error; a key that schema version 2 renamed
    (:data:`RENAMED_IN_V2`) is named with its new name. Records of older versions are upgraded
    by :func:`upgrade_record` first, not here.
    """
    where = str(source) if source is not None else 'result record'
    for path, block, part in _renamed_blocks(record) if isinstance(record, dict) else ():
        for old, new in RENAMED_IN_V2[part].items():
            if old in block:
                raise RecordError(f"{where}: field '{_field_path([*path, old])}': renamed to "
                                  f"'{_field_path([*path, new])}' in schema version 2")
    error = best_match(_VALIDATOR.iter_errors(record))
    if error is not None:
        field, message = _describe(error)
        raise RecordError(f"{where}: field '{field}': {message}")
    bad = _non_finite(record)
    if bad is not None:
        raise RecordError(f"{where}: field '{_field_path(bad)}': NaN and infinity are not allowed")
    pretrain = record.get('pretrain')
    if isinstance(pretrain, dict) and 'data' in pretrain and pretrain['data'] != record['data']:
        raise RecordError(f"{where}: field 'pretrain.data': {pretrain['data']!r} does not match "
                          f"the record's data {record['data']!r}")
    return record


def _renamed_blocks(record: dict):
    """``(path, block, part)`` of each block of ``record`` that :data:`RENAMED_IN_V2` names
    keys of (``part``): ``eval``, ``pretrain`` and the pretraining blocks of its ``per_split``
    (split -> block) and ``per_seed`` (seed -> split -> block); whatever is not a dict is
    passed over (validation reports it)."""
    if isinstance(record.get('eval'), dict):
        yield ['eval'], record['eval'], 'eval'
    pretrain = record.get('pretrain')
    if not isinstance(pretrain, dict):
        return
    yield ['pretrain'], pretrain, 'pretrain'
    per_split = pretrain.get('per_split')
    splits = [(['pretrain', 'per_split'], per_split)] if isinstance(per_split, dict) else []
    per_seed = pretrain.get('per_seed')
    if isinstance(per_seed, dict):
        splits += [(['pretrain', 'per_seed', seed], blocks) for seed, blocks in per_seed.items()
                   if isinstance(blocks, dict)]
    for path, blocks in splits:
        for split, block in blocks.items():
            if isinstance(block, dict):
                yield [*path, split], block, 'pretrain'


def upgrade_record(record):
    """``record`` in the current schema version: a schema-1 record becomes a schema-2 one (a
    copy, with the keys of :data:`RENAMED_IN_V2` renamed and ``schema_version`` 2); any other
    record is returned as it is (validation then judges it)."""
    if not isinstance(record, dict) or record.get('schema_version') != 1:
        return record
    record = copy.deepcopy(record)
    for _, block, part in _renamed_blocks(record):
        for old, new in RENAMED_IN_V2[part].items():
            if old in block and new not in block:
                block[new] = block.pop(old)
    record['schema_version'] = 2
    return record
