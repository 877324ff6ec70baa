"""The suite file: YAML listing the runs of a benchmark, read into a :class:`Suite` and expanded
into one set of :class:`~harness.run.RunOptions` fields per run.

A file has ``runs`` (a list of entries), and optionally ``description``, ``defaults`` (keys every
entry gets unless it sets them; ``cfg_options`` merged key by key), ``data`` (dataset name ->
root; every dataset a run reads that is not named here is its demo) and ``slurm`` (the
resources of each submitted job, :class:`SlurmSettings`). An entry's keys are the fields of
:class:`~harness.run.RunOptions` (``method``, ``backbone``, ``eval``, ``protocol``, ``config``,
``eval_config``, ``split``, ``seeds``, ``cfg_options``, ...: whatever fields it has, so a new
option of ``harness run`` is a suite key as soon as RunOptions has it), except the ones the suite
decides (:data:`SUITE_DECIDES`), plus ``seed`` (one seed) and ``label``. A text field given a
list is expanded: an entry with ``method: [a, b]`` and ``eval: [x, y]`` is four runs.

NAME (``harness suite run demo``) is a suite shipped in ``harness/suites/NAME.yaml``; anything
else is a file path. Every problem is a one-line :class:`~harness.errors.HarnessError` naming
the file and the entry.
"""
from __future__ import annotations

import dataclasses
import difflib
import itertools
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from harness.errors import HarnessError

#: where the shipped suites live
SHIPPED = Path(__file__).resolve().parent.parent / 'suites'
#: RunOptions fields a suite sets for every run itself (where things go, how they run)
SUITE_DECIDES = frozenset({'work_dir', 'records_dir', 'resume', 'launcher', 'dry_run'})
#: keys of an entry besides the RunOptions fields
EXTRA_KEYS = ('label', 'seed')
TOP_LEVEL = ('description', 'defaults', 'data', 'slurm', 'runs')


@dataclass(frozen=True)
class SlurmSettings:
    """The resources of each submitted job (one pretraining and the evaluations that use it):
    ``nodes`` x ``gpus_per_node`` GPUs, one task per GPU; a failed job is submitted again up
    to ``retries`` times."""

    nodes: int = 1
    gpus_per_node: int = 1
    cpus_per_task: int = 8
    mem_gb: int | None = None
    partition: str | None = None
    timeout_min: int = 24 * 60
    retries: int = 2
    additional_parameters: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SuiteRun:
    """One run of a suite: its label and the RunOptions fields it sets."""

    label: str
    options: Mapping[str, Any]


@dataclass(frozen=True)
class Suite:
    name: str
    path: Path
    description: str
    runs: tuple[SuiteRun, ...]
    data: Mapping[str, str]
    slurm: SlurmSettings


def shipped_suites() -> list[str]:
    """The names of the suites the harness ships."""
    return sorted(path.stem for path in SHIPPED.glob('*.yaml'))


def suite_path(source: str) -> Path:
    """The file of ``source``: a shipped suite's name, or a path."""
    path = Path(source).expanduser()
    if path.is_file():
        return path
    shipped = SHIPPED / f'{source}.yaml'
    if '/' not in source and shipped.is_file():
        return shipped
    names = shipped_suites()
    close = difflib.get_close_matches(source, names, n=3)
    hint = f"did you mean {', '.join(close)}? " if close else ''
    raise HarnessError(f"no suite file '{source}' and no shipped suite of that name; {hint}"
                       f"shipped suites: {', '.join(names)}")


def read_yaml(path: Path) -> dict:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding='utf-8'))
    except OSError as exc:
        raise HarnessError(f'suite {path}: cannot be read ({exc.strerror or exc})') from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, 'problem_mark', None)
        where = f' at line {mark.line + 1} column {mark.column + 1}' if mark else ''
        problem = getattr(exc, 'problem', None) or str(exc).splitlines()[0]
        raise HarnessError(f'suite {path}: not valid YAML{where}: {problem}') from exc
    if not isinstance(data, dict):
        raise HarnessError(f'suite {path}: a suite is a mapping with a list of runs '
                           "('runs:'); see README 'Suites'")
    return data


def unknown_key(where: str, key: Any, allowed: typing.Iterable[str]) -> HarnessError:
    allowed = sorted(allowed)
    close = difflib.get_close_matches(str(key), allowed, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ''
    return HarnessError(f"{where}: unknown key '{key}'; {hint}keys: {', '.join(allowed)}")


def option_types(options_type: type) -> dict[str, Any]:
    """The RunOptions fields an entry may set, with their types."""
    hints = typing.get_type_hints(options_type)
    return {f.name: hints[f.name] for f in dataclasses.fields(options_type)
            if f.name not in SUITE_DECIDES}


def _accepts(hint: Any) -> set[type]:
    """The plain types a field's annotation admits (``str | None`` -> {str, NoneType})."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return set().union(*(_accepts(arg) for arg in typing.get_args(hint)))
    return {origin or hint}


def coerce(where: str, key: str, value: Any, hint: Any) -> Any:
    """``value`` as field ``key`` takes it: a number where text is expected becomes text
    (``split: 1``), a list where a tuple is expected a tuple; anything else of the wrong kind
    is an error."""
    accepts = _accepts(hint)
    if value is None:
        if type(None) in accepts:
            return None
        raise HarnessError(f'{where}: {key} needs a value')
    if str in accepts and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if tuple in accepts and isinstance(value, list):
        return tuple(value)
    if float in accepts and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if typing.Any in accepts or any(isinstance(t, type) and isinstance(value, t)
                                    for t in accepts):
        return value  # Mapping hints arrive as collections.abc.Mapping, which a dict is
    kinds = ' or '.join(sorted(getattr(t, '__name__', str(t)) for t in accepts
                               if t is not type(None)))
    raise HarnessError(f'{where}: {key} takes {kinds}, got {value!r}')


def check_seeds(where: str, seeds: Any) -> tuple[int, ...]:
    from harness.checks import seed_problem

    if not isinstance(seeds, (list, tuple)) or not seeds or \
            any(isinstance(s, bool) or not isinstance(s, int) for s in seeds):
        raise HarnessError(f'{where}: seeds takes a list of integers, got {seeds!r}')
    if len(set(seeds)) != len(seeds):
        raise HarnessError(f'{where}: seeds {list(seeds)} names a seed twice')
    for seed in seeds:
        problem = seed_problem(seed)
        if problem:
            raise HarnessError(f'{where}: seed {seed}: {problem}')
    return tuple(seeds)


def default_label(options: Mapping[str, Any]) -> str:
    """``method[/config] [backbone] eval/protocol[:eval_config]``, then any other key but
    ``seeds`` and ``cfg_options`` as ``key=value``."""
    shown = dict(options)
    text = str(shown.pop('method', '')) if 'method' in shown else ''
    config = shown.pop('config', None)
    text += f'/{config}' if config else ''
    backbone = shown.pop('backbone', None)
    text += f' [{backbone}]' if backbone else ''
    evaluation = shown.pop('eval', '')
    protocol = shown.pop('protocol', None)
    eval_config = shown.pop('eval_config', None)
    text += f" {evaluation}{f'/{protocol}' if protocol else ''}"
    text += f':{eval_config}' if eval_config else ''
    shown.pop('seeds', None)
    shown.pop('cfg_options', None)  # too long to read; runs differing only there need labels
    for key, value in shown.items():
        if value not in (None, {}, ()):
            if isinstance(value, Mapping):
                value = ','.join(f'{k}={v}' for k, v in value.items())
            text += f' {key}={value}'
    return text.strip()


def expand_entry(where: str, entry: Any, defaults: Mapping[str, Any],
                 fields: Mapping[str, Any]) -> list[SuiteRun]:
    """The runs of one entry (``defaults`` applied, lists of text fields expanded)."""
    if not isinstance(entry, dict):
        raise HarnessError(f'{where}: a run is a mapping of keys (method, eval, ...), got '
                           f'{entry!r}')
    merged = {**defaults, **entry}
    if isinstance(defaults.get('cfg_options'), dict) and isinstance(entry.get('cfg_options'),
                                                                    dict):
        merged['cfg_options'] = {**defaults['cfg_options'], **entry['cfg_options']}
    for key in merged:
        if key not in fields and key not in EXTRA_KEYS:
            if key in SUITE_DECIDES:
                raise HarnessError(f"{where}: '{key}' is the suite's to set, not a run's; "
                                   "give it to 'harness suite run' if it is an option there")
            raise unknown_key(where, key, [*fields, *EXTRA_KEYS])
    label = merged.pop('label', None)
    given = entry if ('seed' in entry or 'seeds' in entry) else defaults
    if 'seed' in given and 'seeds' in given:
        raise HarnessError(f'{where}: give seed or seeds, not both')
    merged.pop('seed', None)
    merged.pop('seeds', None)
    if 'seed' in given:
        merged['seeds'] = check_seeds(where, [given['seed']])
    elif given.get('seeds') is not None:
        merged['seeds'] = check_seeds(where, given['seeds'])
    expanded, fixed = [], {}
    for key, value in merged.items():
        if isinstance(value, list) and key in fields and str in _accepts(fields[key]):
            if not value:
                raise HarnessError(f'{where}: {key} is an empty list')
            expanded.append([(key, coerce(where, key, v, fields[key])) for v in value])
        else:
            fixed[key] = coerce(where, key, value, fields[key])
    runs = []
    for choice in itertools.product(*expanded):
        options = dict(fixed)
        options.update(choice)
        options = {key: options[key] for key in merged}  # the file's order
        name = label if label and len(expanded) == 0 else \
            f'{label} {default_label(dict(choice))}' if label else default_label(options)
        runs.append(SuiteRun(str(name), options))
    return runs


def required_fields(options_type: type) -> list[str]:
    """The RunOptions fields without a default (``method``, ``eval``): a run names them, but
    for one that may be None (``method``, where ``weights`` stands in for it)."""
    return [f.name for f in dataclasses.fields(options_type)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]


def check_required(where: str, run: SuiteRun, options_type: type) -> None:
    """Every field without a default is given; ``method`` may be left out for ``weights``
    (``harness eval``'s runs), where the options have that field."""
    fields = option_types(options_type)
    for key in required_fields(options_type):
        if run.options.get(key) is not None:
            continue
        if key == 'method' and 'weights' in fields:
            if run.options.get('weights') is None:
                raise HarnessError(f'{where}: no method (or weights, for weights made '
                                   'elsewhere) given, in the run or in defaults')
            continue
        raise HarnessError(f'{where}: no {key} given (in the run or in defaults)')


def read_slurm(where: str, data: Any) -> SlurmSettings:
    if data is None:
        return SlurmSettings()
    if not isinstance(data, dict):
        raise HarnessError(f'{where}: slurm is a mapping (nodes, gpus_per_node, ...)')
    hints = typing.get_type_hints(SlurmSettings)
    values = {}
    for key, value in data.items():
        if key not in hints:
            raise unknown_key(where, key, hints)
        value = coerce(where, key, value, hints[key])
        if isinstance(value, int) and not isinstance(value, bool) and \
                (value < 0 or (value == 0 and key != 'retries')):
            raise HarnessError(f'{where}: {key} must be a positive number, got {value}')
        values[key] = value
    return SlurmSettings(**values)


def load_suite(source: str, options_type: type | None = None) -> Suite:
    """Read and expand suite ``source`` (a shipped name or a file)."""
    if options_type is None:
        from harness.run import RunOptions as options_type
    path = suite_path(source)
    data = read_yaml(path)
    name = path.stem
    where = f'suite {path}'
    for key in data:
        if key not in TOP_LEVEL:
            raise unknown_key(where, key, TOP_LEVEL)
    fields = option_types(options_type)
    defaults = data.get('defaults') or {}
    if not isinstance(defaults, dict):
        raise HarnessError(f'{where}: defaults is a mapping of run keys')
    entries = data.get('runs')
    if not isinstance(entries, list) or not entries:
        raise HarnessError(f"{where}: 'runs' must list at least one run")
    runs: list[SuiteRun] = []
    for index, entry in enumerate(entries):
        entry_where = f'{where}: runs[{index}]'
        for run in expand_entry(entry_where, entry, defaults, fields):
            check_required(entry_where, run, options_type)
            runs.append(run)
    labels = [run.label for run in runs]
    for label in labels:
        if labels.count(label) > 1:
            raise HarnessError(f"{where}: two runs are labelled '{label}'; give them distinct "
                               "'label's")
    mapping = data.get('data') or {}
    if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
        raise HarnessError(f"{where}: data maps dataset names to roots, e.g. "
                           "'ucf101: /data/ucf101'")
    return Suite(name, path, str(data.get('description') or '').strip(), tuple(runs),
                 dict(mapping), read_slurm(f'{where}: slurm', data.get('slurm')))


def parse_data_options(items: typing.Sequence[str]) -> dict[str, str]:
    """``--data NAME=ROOT`` (repeated) as a mapping."""
    mapping = {}
    for item in items:
        name, sep, root = item.partition('=')
        if not sep or not name.strip() or not root.strip():
            raise HarnessError(f"--data takes DATASET=ROOT (e.g. ucf101=/data/ucf101), got "
                               f"'{item}'")
        mapping[name.strip()] = root.strip()
    return mapping
