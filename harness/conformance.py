"""Conformance checks of one installed plugin: what ``harness validate`` runs and what the
repository's tests parametrize over.

Each ``check_*`` function checks one thing of one plugin and yields :class:`Row`s (plugin,
check, passed, one-line reason); none raises for a plugin's fault, so one broken config does
not hide the others. The checks:

- ``registration``: the plugin imported and registered at least one component
  (:attr:`harness.plugins.PluginRecord.error` otherwise);
- ``hooks``: every hookimpl matches a hookspec (a misspelt hook would silently never run);
- ``config METHOD:NAME``: every named pretraining config of each method loads, passes the
  check a run makes before training (:func:`harness.checks.check_config`) and its model builds
  with the method's default backbone (:func:`harness.checks.check_model_builds`);
- ``backbone NAME``: each backbone outputs the channels its ``BackboneInfo.feat_dim`` states,
  and weights transferred to it survive the ``init_weights()`` an evaluator runs;
- ``export METHOD``: the weights the method's model exports (``backbone_state_dict()``) load
  into the backbone it trains with no key missing and none left over;
- ``smoke METHOD:demo``: the method's demo config trains 2 iterations on a small demo dataset
  of the data it reads, shrunk through its own keys (:func:`harness.testing.shrink_options`).

Evaluator protocols are checked for registration only: their configs need an evaluation
request (data, split, backbone) to be prepared, which ``harness run --dry-run`` does.
"""
from __future__ import annotations

import contextlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

from harness.errors import HarnessError, PluginError

#: the iterations a smoke run trains
SMOKE_ITERS = 2


class NonConformance(AssertionError):
    """A check that failed (an AssertionError, so a plugin's tests fail on it as on an assert;
    raised explicitly, so the message is the same under pytest's assertion rewriting)."""


@dataclass(frozen=True)
class Row:
    """One line of the validate table."""

    plugin: str
    check: str
    passed: bool
    reason: str = ''


def select_plugins(pm, names: Sequence[str]) -> list:
    """The plugin records of ``pm`` named ``names`` (all of them for none); an unknown name is
    a one-line PluginError listing the loaded plugins."""
    if not names:
        return list(pm.plugins)
    by_name = {p.name: p for p in pm.plugins}
    unknown = [name for name in names if name not in by_name]
    if unknown:
        raise PluginError(f"no plugin named {', '.join(repr(n) for n in unknown)}; installed: "
                          f"{', '.join(sorted(by_name)) or 'none'} (see 'harness plugins')")
    return [by_name[name] for name in dict.fromkeys(names)]


def methods_of(pm, plugin) -> list:
    """Every pretraining variant of the methods ``plugin`` registered (reference rows with
    configs too: their configs are run as well)."""
    return [variant for name, entry in pm.components['method'].items()
            if entry.plugin is plugin
            for variant in (entry.info, *entry.info.also) if variant.pretrains]


def method_label(pm, method) -> str:
    """The method's name, with its modality when the method has variants (``byol-image``)."""
    entry = pm.components['method'][method.name]
    return method.name if not entry.info.also else f'{method.name}-{method.modality}'


def _one_line(exc: BaseException) -> str:
    text = ' '.join(str(exc).split())
    return text if isinstance(exc, (HarnessError, NonConformance)) else \
        f'{type(exc).__name__}: {text}'


def _checked(plugin, check: str, action: Callable[[], str | None]) -> Row:
    """Run ``action``; a row that passed (with the reason it returns) or failed with the
    exception's one line."""
    try:
        return Row(plugin.name, check, True, action() or '')
    except Exception as exc:  # a plugin's fault of any kind is its row, not a traceback
        return Row(plugin.name, check, False, _one_line(exc))


def check_registration(pm, plugin) -> Iterator[Row]:
    pm.load_errors()  # registration errors surface on the record
    if plugin.error:
        yield Row(plugin.name, 'registration', False, plugin.error)
        return
    registered = {kind: names for kind, names in plugin.registers.items() if names}
    if not registered:
        yield Row(plugin.name, 'registration', False, 'the plugin registers nothing')
        return
    yield Row(plugin.name, 'registration', True,
              '; '.join(f"{kind}: {', '.join(names)}" for kind, names in registered.items()))


def check_hooks(pm, plugin) -> Iterator[Row]:
    if plugin.unknown_hooks:
        yield Row(plugin.name, 'hooks', False, plugin.error or '')
    else:
        yield Row(plugin.name, 'hooks', True)


def check_configs(pm, plugin) -> Iterator[Row]:
    for method in methods_of(pm, plugin):
        for name in method.configs:
            yield _checked(plugin, f'config {method_label(pm, method)}:{name}',
                           lambda: check_method_config(pm, method, name))


def check_method_config(pm, method, name: str) -> None:
    """Raise the one-line error a run would give for ``method``'s config ``name`` with its
    default backbone: the file loads, passes :func:`harness.checks.check_config` and its model
    builds."""
    from harness.api import pick_config
    from harness.checks import check_config, check_model_builds
    from harness.pretrain import build_pretrain_config, trained_backbone

    config = pick_config(method.configs, name, method.name)[1]
    backbone = trained_backbone(config, pm.get('backbone', method.default_backbone).info, {})
    cfg = build_pretrain_config(config, backbone, data_root=Path('/data'),
                                ann_file=Path('/data/train.txt'), data_identity={}, seed=0,
                                launcher='none', cfg_options={})
    check_config(cfg, f'pretraining config {name!r} of {method.name}')
    check_model_builds(cfg, f'pretraining config {name!r} of {method.name}')


def check_exports(pm, plugin) -> Iterator[Row]:
    for method in methods_of(pm, plugin):
        if 'demo' in method.configs:
            yield _checked(plugin, f'export {method_label(pm, method)}',
                           lambda: check_export(pm, method))


def check_export(pm, method, config: str = 'demo') -> str:
    """Raise :class:`NonConformance` unless the weights ``method``'s model exports (its config
    ``config``, default backbone) load into that backbone with no key missing or left over;
    return how many tensors loaded."""
    import torch

    from harness.registry import MODELS
    from harness.testing import build_method_model

    backbone = pm.get('backbone', method.default_backbone).info
    torch.manual_seed(0)
    model, cfg = build_method_model(method, backbone, config)
    exported = model.backbone_state_dict()
    if not exported:
        raise NonConformance('backbone_state_dict() exported nothing')
    net = MODELS.build(dict(cfg.model.backbone))
    result = net.load_state_dict(exported, strict=False)
    missing, unexpected = list(result.missing_keys), list(result.unexpected_keys)
    if missing:
        raise NonConformance(f'{len(missing)} backbone tensors missing from the export, e.g. '
                             f"{', '.join(missing[:3])}")
    if unexpected:
        raise NonConformance(f'{len(unexpected)} exported tensors the backbone does not have, '
                             f"e.g. {', '.join(unexpected[:3])}")
    return f'{len(exported)} tensors load into {backbone.name}'


def check_smoke(pm, plugin, work_dir: Path) -> Iterator[Row]:
    """The smoke run of each method's demo config, under ``work_dir`` (its demo data generated
    there once, shared by every plugin's runs)."""
    for method in methods_of(pm, plugin):
        if 'demo' in method.configs:
            yield _checked(plugin, f'smoke {method_label(pm, method)}:demo',
                           lambda: smoke_pretraining(pm, method, Path(work_dir)))


@contextlib.contextmanager
def _quiet_mmengine():
    """No log record below WARNING (mmengine's init_weights() logs every tensor it keeps)."""
    import logging

    previous = logging.root.manager.disable
    logging.disable(logging.INFO)
    try:
        yield
    finally:
        logging.disable(previous)


def check_backbones(pm, plugin) -> Iterator[Row]:
    for name, entry in pm.components['backbone'].items():
        if entry.plugin is plugin:
            yield _checked(plugin, f'backbone {name}',
                           lambda: check_backbone(entry.info))


def check_backbone(backbone) -> str:
    """:func:`check_backbone_width` and :func:`check_backbone_keeps_weights`."""
    width = check_backbone_width(backbone)
    kept = check_backbone_keeps_weights(backbone)
    return f'{width} channels out; {kept} transferred tensors kept by init_weights()'


def check_backbone_width(backbone) -> int:
    """The network built from ``backbone.cfg`` outputs ``backbone.feat_dim`` channels (the one
    statement of its width, which every method and evaluator is given) on a batch of 2 random
    inputs (64 px; 8 frames for video); returns the width."""
    import importlib

    import torch

    from harness.registry import MODELS

    for module in backbone.imports:
        importlib.import_module(module)
    torch.manual_seed(0)
    net = MODELS.build(dict(backbone.cfg)).eval()
    inputs = torch.randn(2, 3, 8, 64, 64) if backbone.modality == 'video' else \
        torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        shape = tuple(net(inputs).shape)
    if shape[:2] != (2, backbone.feat_dim):
        raise NonConformance(f'outputs shape {shape} for a batch of 2; its BackboneInfo states '
                             f'feat_dim={backbone.feat_dim}')
    return backbone.feat_dim


def check_backbone_keeps_weights(backbone) -> int:
    """An evaluator builds the backbone with ``init_cfg=harness.SSLPretrained`` and mmengine
    calls ``init_weights()``: afterwards the backbone holds the transferred weights, not a
    fresh initialisation of some submodule. Returns how many tensors were compared."""
    import importlib

    import torch

    import harness.weights  # noqa: F401  (registers harness.SSLPretrained)
    from harness.registry import MODELS

    for module in backbone.imports:
        importlib.import_module(module)
    torch.manual_seed(0)
    trained = MODELS.build(dict(backbone.cfg))
    with torch.no_grad():
        for value in trained.state_dict().values():
            if value.is_floating_point():
                value.add_(0.5)
    with tempfile.TemporaryDirectory(prefix='harness-validate-') as folder:
        path = Path(folder) / 'backbone.pth'
        torch.save(trained.state_dict(), path)
        torch.manual_seed(1)
        evaluated = MODELS.build(dict(backbone.cfg, init_cfg=dict(
            type='harness.SSLPretrained', checkpoint=str(path))))
        with _quiet_mmengine():
            evaluated.init_weights()
    expected = trained.state_dict()
    different = [k for k, v in evaluated.state_dict().items() if not torch.equal(v, expected[k])]
    if different:
        raise NonConformance(f'{len(different)} tensors differ from the transferred weights '
                             f"after init_weights(), e.g. {', '.join(different[:3])}")
    return len(expected)


#: the demo dataset a smoke run pretrains on, by the kind of data a method reads, and the
#: small size it is generated at (keyword arguments of the dataset's ``generate_demo``)
SMOKE_DATA = {'video': ('ucf101', '1', dict(groups=4, clips_per_group=2, frames=24, size=64)),
              'image': ('imagenet', 'val', dict(train_per_class=4, val_per_class=2))}


def smoke_pretraining(pm, method, root: Path, config: str = 'demo') -> str:
    """Train ``method``'s ``config`` for :data:`SMOKE_ITERS` iterations on a small demo set of
    the data it reads under ``root`` (generated there once), shrunk through its own keys;
    raise if it fails or trains a different number of iterations."""
    from harness import data as datasets
    from harness.api import pick_config
    from harness.pretrain import build_pretrain_config, plan_pretraining, pretrain, \
        trained_backbone
    from harness.testing import shrink_options

    kind = 'image' if method.pretrain_kind == 'image' else 'video'
    dataset, split_name, sizes = SMOKE_DATA[kind]
    module = pm.get('dataset', dataset).info.module()
    data_root = module.generate_demo(root / 'demo' / dataset, **sizes)
    split = module.read_split(data_root, split_name)
    label = method_label(pm, method)
    (root / 'runs').mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f'{label}-', dir=root / 'runs'))  # trains afresh
    ann_file = datasets.annotation_list(work, 'train', split.train)
    ref = pick_config(method.configs, config, method.name)[1]
    backbone = trained_backbone(ref, pm.get('backbone', method.default_backbone).info, {})
    build = dict(data_root=data_root, ann_file=ann_file, seed=0, launcher='none',
                 data_identity={'files_sha256': datasets.list_sha256(split.train)})
    full = build_pretrain_config(ref, backbone, cfg_options={}, **build)
    cfg = build_pretrain_config(ref, backbone, cfg_options=shrink_options(full, SMOKE_ITERS),
                                **build)
    job = plan_pretraining(cfg, work, method.name, backbone.name, versions={})
    with open(work / 'smoke.log', 'w') as log, contextlib.redirect_stdout(log), \
            contextlib.redirect_stderr(log):  # the Runner's log and progress bar: not the table's
        result = pretrain(job, resume=False, log=lambda message: None)
    if result.iters != SMOKE_ITERS:
        raise NonConformance(f'trained {result.iters} iterations, expected {SMOKE_ITERS}')
    return f'{SMOKE_ITERS} iterations on demo {dataset}'


def validate(pm, names: Sequence[str] = (), *, smoke: bool = True,
             work_dir: Path | None = None) -> Iterator[Row]:
    """Every check of each plugin named (all loaded plugins for none), in order; a plugin that
    did not load or breaks the hook contract gets those two rows only. The smoke runs go under
    ``work_dir`` (None: a temporary folder, removed afterwards)."""
    plugins = select_plugins(pm, names)
    with tempfile.TemporaryDirectory(prefix='harness-validate-') as scratch:
        for plugin in plugins:
            rows = list(check_registration(pm, plugin)) + list(check_hooks(pm, plugin))
            yield from rows
            if not all(row.passed for row in rows):
                continue
            yield from check_backbones(pm, plugin)
            yield from check_configs(pm, plugin)
            yield from check_exports(pm, plugin)
            if smoke:
                yield from check_smoke(pm, plugin, work_dir or Path(scratch))
