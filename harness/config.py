"""Config helpers, the one place configs are loaded: reading a config file, applying
``--cfg-options`` strictly, and the config's identity (hash).

``--cfg-options`` may only change keys the merged config has; a key absent from it is a
one-line :class:`~harness.errors.ConfigError` (with the closest existing keys) unless it is
marked as new with a leading ``+`` (``+model.extra=1``). This catches misspelt keys, which
mmengine would otherwise add silently, and options aimed at something that no longer exists.
"""
from __future__ import annotations

import copy
import difflib
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Iterator, Mapping

from mmengine.config import Config, ConfigDict

from harness.errors import ConfigError

#: Keys that say where or how a run happens, not what it computes: left out of the hash.
UNHASHED_KEYS = ('work_dir', 'launcher', 'resume', 'load_from', 'experiment_name')
#: The prefix that marks a ``--cfg-options`` key as new (absent from the config on purpose).
NEW_KEY = '+'
#: The prefix that routes a ``--cfg-options`` key to the evaluation config.
EVAL_PREFIX = 'eval.'
_BASES = Path(__file__).resolve().parent / 'configs' / '_base_'
#: The runtime every Runner of the harness runs with (registry scope, process setup, logging,
#: default hooks); the two below build on it.
RUNTIME = _BASES / 'runtime.py'
#: What every pretraining config runs over: the runtime, the training
#: data's skeleton and the progress bar; the method's own config is merged over it.
PRETRAIN_RUNTIME = _BASES / 'pretrain_runtime.py'
#: What every evaluation config a Runner trains runs over: the runtime and the test of the last
#: model (no validation).
EVAL_RUNTIME = _BASES / 'eval_runtime.py'
#: The core's modules that register what configs name (the sampler, datasets, transforms,
#: augmentation steps, the weight initializer, hooks, optimizer constructors) or that method code
#: computes with (decoding, flow, modules). Every loaded config imports them, in this order,
#: before its own modules, so a plugin's config names only its own; a pretraining's identity
#: hashes them.
CORE_IMPORTS = ('harness.data.seeding', 'harness.data.listdata', 'harness.data.views',
                'harness.data.images', 'harness.data.augment', 'harness.data.augment_steps',
                'harness.data.video', 'harness.data.flow', 'harness.weights', 'harness.hooks',
                'harness.optimizers', 'harness.modules')


def load_config(path: str | os.PathLike, *, label: str) -> Config:
    """The mmengine config in ``path``, without its private values (top-level names starting
    with ``_``: values a config shares with the configs built on it, e.g. a method's set of
    transformations that its demo and paper configs put into their pipelines, and that nothing
    reads from the merged config); a file mmengine cannot parse is a one-line error."""
    try:
        cfg = Config.fromfile(str(path))
    except SyntaxError as exc:  # its str() names the file without its folder
        from harness.plugin_faults import describe

        raise ConfigError(f'{label} {path} cannot be read: {describe(exc)}') from exc
    except (KeyError, ValueError, TypeError, OSError, ImportError) as exc:
        raise ConfigError(f'{label} {path} cannot be read: {type(exc).__name__}: '
                          f"{' '.join(str(exc).split())}") from exc
    for key in [key for key in cfg.keys() if key.startswith('_')]:
        cfg.pop(key)
    return cfg


def config_imports(cfg: Mapping) -> list[str]:
    """The modules a config's ``custom_imports`` names."""
    return list((cfg.get('custom_imports') or {}).get('imports') or [])


def unite_imports(base: list[str], own: list[str]) -> list[str]:
    """The modules of a base's and a config's ``custom_imports``, each once: those of
    :data:`CORE_IMPORTS` first, in its order, then the others, the base's before the config's
    (mmengine's merge would replace the base's list by the config's). Where one side names
    none, the other's list as it is."""
    if not base or not own:
        return list(base or own)
    modules = list(dict.fromkeys([*base, *own]))
    core = [m for m in CORE_IMPORTS if m in modules]
    return core + [m for m in modules if m not in core]


def _merged(base: Any, own: Any) -> Any:
    """``own`` merged over ``base`` as mmengine merges a config over its ``_base_``: dicts key by
    key (``_delete_=True``: ``own``'s dict alone), every other value replaced; a dict also
    replaces a value of another kind (a runtime's ``test_evaluator = None``)."""
    if not isinstance(own, Mapping):
        return own
    own = dict(own)
    delete = own.pop('_delete_', False)
    merged = dict(base) if isinstance(base, Mapping) and not delete else {}
    for key, value in own.items():
        merged[key] = _merged(merged.get(key), value)
    return merged


def with_core_imports(cfg: Config) -> Config:
    """``cfg`` with :data:`CORE_IMPORTS` in its ``custom_imports``, before its own modules."""
    cfg.custom_imports = dict(imports=unite_imports(list(CORE_IMPORTS), config_imports(cfg)),
                              allow_failed_imports=False)
    return cfg


def merge_over(base_path: Path, cfg: Config, *, label: str) -> Config:
    """``cfg`` merged over the config in ``base_path`` (:func:`_merged`), their
    ``custom_imports`` united (:func:`unite_imports`)."""
    base = load_config(base_path, label=label)
    merged = _merged(base.to_dict(), cfg.to_dict())
    imports = unite_imports(config_imports(base), config_imports(cfg))
    if imports:
        merged['custom_imports'] = dict(merged['custom_imports'], imports=imports)
    return Config(merged, filename=cfg.filename)


def load_pretrain_config(path: str | os.PathLike) -> Config:
    """A method's pretraining config merged over :data:`PRETRAIN_RUNTIME`
    (:func:`merge_over`), importing the core's modules (:func:`with_core_imports`)."""
    return with_core_imports(merge_over(PRETRAIN_RUNTIME,
                                        load_config(path, label='pretraining config'),
                                        label='pretraining runtime'))


def load_eval_config(request, *, runtime: bool | None = None) -> Config:
    """An evaluation protocol's config (``request.config``, a :class:`harness.api.EvalRequest`)
    merged over :data:`EVAL_RUNTIME` where a Runner runs it (``runtime``; None: where the
    config has a ``train_cfg``, so not under a probe on frozen features, which has none), with
    the request's seed (``randomness``; the config's default ``seeds`` removed) and its
    ``--cfg-options`` applied (keys must exist); it imports the core's modules
    (:func:`with_core_imports`)."""
    cfg = with_core_imports(load_config(request.config, label='evaluation config'))
    if runtime is None:
        runtime = 'train_cfg' in cfg
    if runtime:
        cfg = merge_over(EVAL_RUNTIME, cfg, label='evaluation runtime')
    cfg.pop('seeds', None)  # which seeds run is the runner's (harness.run.plan.config_seeds)
    cfg.randomness = dict(seed=request.seed, deterministic=False)
    return apply_cfg_options(cfg, request.cfg_options, label='evaluation config',
                             prefix='eval.')


def split_cfg_options(options: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``--cfg-options`` for (pretraining, evaluation): keys starting with ``eval.`` go to the
    evaluation config (prefix removed), the rest to the pretraining config."""
    pretrain, evaluation = {}, {}
    for key, value in options.items():
        new = key.startswith(NEW_KEY)
        bare = key[len(NEW_KEY):] if new else key
        if bare.startswith(EVAL_PREFIX):
            evaluation[NEW_KEY * new + bare[len(EVAL_PREFIX):]] = value
        else:
            pretrain[key] = value
    return pretrain, evaluation


def dotted_keys(node: Any, prefix: str = '') -> Iterator[str]:
    """Every key path of a config (``a.b.0.c``), dicts and lists alike."""
    items = node.items() if isinstance(node, Mapping) else \
        enumerate(node) if isinstance(node, (list, tuple)) else ()
    for key, value in items:
        path = f'{prefix}{key}'
        yield path
        yield from dotted_keys(value, path + '.')


def get_key(cfg: Mapping, key: str) -> Any:
    """The value at the dotted ``key`` of ``cfg`` (list items by index); KeyError when absent."""
    node: Any = cfg
    for part in key.split('.'):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, (list, tuple)) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise KeyError(key)
    return node


def has_key(cfg: Mapping, key: str) -> bool:
    try:
        get_key(cfg, key)
    except KeyError:
        return False
    return True


def apply_cfg_options(cfg: Config, options: Mapping[str, Any], *, label: str,
                      prefix: str = '') -> Config:
    """Merge ``options`` into ``cfg``; every key must exist in ``cfg`` unless marked new
    (``+key``). ``prefix`` is how the user spelt the keys' routing (``eval.``), for messages."""
    plain: dict[str, Any] = {}
    current = cfg.to_dict()
    for key, value in options.items():
        new = key.startswith(NEW_KEY)
        bare = key[len(NEW_KEY):] if new else key
        if not new and not has_key(current, bare):
            close = difflib.get_close_matches(bare, list(dotted_keys(current)), n=3,
                                              cutoff=0.6)
            hint = f"did you mean {', '.join(prefix + c for c in close)}? " if close else ''
            raise ConfigError(f"--cfg-options {prefix}{bare}: the {label} has no such key; "
                              f'{hint}(to add a new key on purpose, write '
                              f'{NEW_KEY}{prefix}{bare}=...)')
        plain[bare] = copy.deepcopy(value)  # mmengine's merge consumes a value's _delete_
    if plain:
        cfg.merge_from_dict(plain, allow_list_keys=True)
    return cfg


#: ``--amp`` choices: the autocast dtype of mmengine's AmpOptimWrapper.
AMP_DTYPES = ('bf16', 'fp16')


def use_amp(cfg: Config, amp: str | None) -> Config:
    """Train ``cfg`` with mixed precision ``amp`` (``bf16``/``fp16``; None: full precision):
    every optimizer wrapper of the config becomes mmengine's ``AmpOptimWrapper`` with that
    dtype (a config of several wrappers, e.g. an encoder and a generator, has each changed).
    A config without an optimizer (a frozen-feature protocol) is returned as it is."""
    if amp is None or 'optim_wrapper' not in cfg:
        return cfg
    dtype = {'bf16': 'bfloat16', 'fp16': 'float16'}[amp]
    wrapper = cfg.optim_wrapper
    wrappers = [wrapper] if 'optimizer' in wrapper else \
        [sub for sub in wrapper.values() if isinstance(sub, Mapping) and 'optimizer' in sub]
    for sub in wrappers:
        sub.update(type='AmpOptimWrapper', dtype=dtype)
    return cfg


def precision(cfg: Config | Mapping) -> str:
    """What a config trains in: ``fp32``, or the AMP dtype its optimizer wrappers use."""
    data = cfg.to_dict() if isinstance(cfg, Config) else dict(cfg)
    wrapper = data.get('optim_wrapper') or {}
    wrappers = [wrapper] if 'optimizer' in wrapper else \
        [sub for sub in wrapper.values() if isinstance(sub, Mapping)]
    dtypes = {sub.get('dtype') for sub in wrappers if sub.get('type') == 'AmpOptimWrapper'}
    names = {'bfloat16': 'bf16', 'float16': 'fp16', None: 'fp16'}
    return names.get(dtypes.pop(), 'amp') if len(dtypes) == 1 else 'fp32'


def _without_paths(value: Any) -> Any:
    """``value`` with every absolute filesystem path replaced by its last component, so the
    same content hashes the same on every machine and under every work dir (data is identified
    by its file-list hash, which the configs carry, not by where it lies)."""
    if isinstance(value, Mapping):
        return {k: _without_paths(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_without_paths(v) for v in value]
    if isinstance(value, str) and os.path.isabs(value):
        return f'<path>/{os.path.basename(value.rstrip(os.sep))}'
    return value


def config_sha256(cfg: Config | Mapping) -> str:
    """sha256 of the merged config's content (sorted JSON) without :data:`UNHASHED_KEYS`,
    absolute paths reduced to their last component."""
    data = cfg.to_dict() if isinstance(cfg, Config) else dict(cfg)
    data = {k: v for k, v in data.items() if k not in UNHASHED_KEYS}
    text = json.dumps(_without_paths(data), sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()


def file_sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for block in iter(lambda: handle.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def as_plain(cfg: Config | ConfigDict | Mapping) -> dict:
    """A config as plain JSON-ready data (for records and dry runs)."""
    return json.loads(json.dumps(cfg.to_dict() if isinstance(cfg, Config) else dict(cfg),
                                 default=repr))


#: Pipeline steps that only open, decode or pack data: left out of :func:`summarize`.
PLUMBING_STEPS = ('DecordInit', 'DecordDecode', 'FormatShape', 'PackActionInputs', 'PackInputs',
                  'LoadImageFromFile', 'PackImage')
#: Top-level keys of the runtime, not of the protocol: left out of :func:`summarize`.
RUNTIME_KEYS = ('default_scope', 'log_level', 'launcher', 'work_dir', 'resume',
                'experiment_name', 'filename')


def _pipelines(node: Any, path: str = '') -> Iterator[tuple[str, list]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key.endswith('pipeline') and isinstance(value, (list, tuple)):
                yield f'{path}{key}', list(value)
            else:
                yield from _pipelines(value, f'{path}{key}.')


def scaled_lr(data: Mapping) -> tuple[float, str] | None:
    """The learning rate mmengine's Runner trains with when the config's ``auto_scale_lr`` is
    enabled (the optimizer's lr x this run's total batch / ``base_batch_size``) and the rule,
    or None when the lr is used as written."""
    rule = data.get('auto_scale_lr')
    optimizer = (data.get('optim_wrapper') or {}).get('optimizer')
    per = (data.get('train_dataloader') or {}).get('batch_size')
    if not (isinstance(rule, Mapping) and rule.get('enable') and rule.get('base_batch_size')
            and isinstance(optimizer, Mapping) and 'lr' in optimizer and per):
        return None
    from mmengine.dist import get_world_size

    total = int(per) * get_world_size()
    base = rule['base_batch_size']
    return (optimizer['lr'] * total / base,
            f"auto_scale_lr: {optimizer['lr']:g} x batch {total} / base batch {base}")


def summarize(cfg: Config | Mapping) -> dict[str, Any]:
    """What a record states about a config it ran: the input sampling (each pipeline's
    sampling, resizing and cropping steps, by pipeline: ``train``, ``test``, ``feature``),
    the batch size of each dataloader, whether PyTorch's deterministic algorithms were asked
    for, and the schedule (precision, loop and optimizer, and the lr used where
    ``auto_scale_lr`` scales it). A config without
    pipelines (e.g. a probe configured by top-level keys) is summarised by its top-level
    scalar settings."""
    data = as_plain(cfg)
    inputs = {}
    for path, steps in _pipelines(data):
        name = path.split('.')[0].replace('_dataloader', '').replace('_pipeline', '')
        inputs[name] = [step for step in steps if isinstance(step, Mapping)
                        and str(step.get('type', '')).split('.')[-1] not in PLUMBING_STEPS]
    summary: dict[str, Any] = {}
    if inputs:
        summary['inputs'] = inputs
    else:
        summary['inputs'] = {k: v for k, v in data.items() if k not in RUNTIME_KEYS
                             and isinstance(v, (int, float, str, bool))}
    batch = {k.replace('_dataloader', ''): v['batch_size'] for k, v in data.items()
             if k.endswith('_dataloader') and isinstance(v, Mapping) and 'batch_size' in v}
    if 'feature_loader' in data:
        batch['feature'] = data['feature_loader'].get('batch_size')
    if batch:
        summary['batch_size'] = batch
    pinned = {k.replace('_dataloader', ''): v['pin_memory'] for k, v in data.items()
              if k.endswith('_dataloader') and isinstance(v, Mapping) and 'pin_memory' in v}
    fast = dict(cudnn_benchmark=(data.get('env_cfg') or {}).get('cudnn_benchmark'))
    if pinned:
        fast['pin_memory'] = pinned
    preprocessor = (data.get('model') or {}).get('data_preprocessor') or {}
    if isinstance(preprocessor, Mapping) and 'channels_last' in preprocessor:
        fast['channels_last'] = bool(preprocessor['channels_last'])
    if fast['cudnn_benchmark'] is not None:
        summary['fast_paths'] = fast
    if isinstance(data.get('randomness'), Mapping):
        summary['deterministic'] = bool(data['randomness'].get('deterministic'))
    schedule = {'precision': precision(data)} if 'optim_wrapper' in data else {}
    if isinstance(data.get('train_cfg'), Mapping):
        schedule['loop'] = data['train_cfg']
    optimizer = (data.get('optim_wrapper') or {}).get('optimizer')
    if isinstance(optimizer, Mapping):
        schedule['optimizer'] = optimizer
        scaled = scaled_lr(data)
        if scaled is not None:
            schedule['lr_used'], schedule['lr_rule'] = scaled
    if schedule:
        summary['schedule'] = schedule
    return summary
