"""Transferring pretrained backbone weights into downstream models, with a load report.

Evaluators load SSL weights through the mmengine weight initializer ``harness.SSLPretrained``
(``backbone=dict(type=..., init_cfg=dict(type='harness.SSLPretrained', checkpoint=PATH))``), so
the load happens where mmengine initializes weights, and is never silent: the report of
loaded / missing / unexpected keys is logged and kept on the module as ``weight_load_report``.
A load that leaves most backbone weights unloaded raises :class:`WeightTransferError`.

A downstream model may take the SSL weights into several modules, each with its own
initializer and report: a Faster R-CNN C4 detector takes the stem and ``layer1``-``layer3``
into its backbone and ``layer4`` into its RoI head's shared head, so each initializer names its
``module`` (e.g. ``'roi_head.shared_head'``) and each expects the keys of the other part as
unexpected.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import torch
from mmengine.logging import print_log
from torch import nn

from harness.errors import HarnessError
from harness.registry import WEIGHT_INITIALIZERS


class WeightTransferError(HarnessError):
    """Most of a backbone's weights could not be loaded from a checkpoint."""


def load_backbone_weights(module: nn.Module, state_dict: Mapping[str, torch.Tensor], *,
                          min_loaded: float = 0.5, source: str = 'checkpoint',
                          name: str = 'backbone') -> dict[str, Any]:
    """Load ``state_dict`` into ``module`` (non-strict) and report what happened.

    A key loads when it exists in the module with the same shape; shape mismatches count as
    missing (and unexpected). Returns ``{loaded, total, missing, unexpected, missing_modules}``
    where counts are parameter/buffer tensors of the module and ``missing_modules`` names the
    submodules that kept nothing but their initialisation (:func:`missing_modules`: e.g.
    ``['layer4']`` when a checkpoint of a network trained up to layer3 goes into a whole
    ResNet). Raises WeightTransferError, naming the module (``name``), when fewer than
    ``min_loaded`` of its tensors were loaded.
    """
    own = module.state_dict()
    usable = {k: v for k, v in state_dict.items() if k in own and own[k].shape == v.shape}
    module.load_state_dict(usable, strict=False)
    missing = sorted(k for k in own if k not in usable)
    unexpected = sorted(k for k in state_dict if k not in usable)
    report = {'loaded': len(usable), 'total': len(own), 'missing': missing,
              'unexpected': unexpected, 'missing_modules': missing_modules(missing, own)}
    if not own or len(usable) < min_loaded * len(own):
        example = ', '.join(missing[:3])
        raise WeightTransferError(
            f'only {len(usable)} of {len(own)} {name} tensors loaded from {source} '
            f'(missing e.g. {example}); the checkpoint does not match this {name}: '
            f'check --backbone against the pretraining')
    return report


def missing_modules(missing: Sequence[str], keys: Sequence[str]) -> list[str]:
    """The missing tensors ``missing`` (of a module whose tensors are ``keys``) by the largest
    submodules none of whose tensors loaded: for each missing key its shortest dotted prefix
    all of whose keys are missing (``layer4`` when every ``layer4.*`` is), else the key
    itself. Sorted, each once."""
    absent = set(missing)
    found = set()
    for key in missing:
        parts = key.split('.')
        for end in range(1, len(parts) + 1):
            prefix = '.'.join(parts[:end])
            if all(k in absent for k in keys if k == prefix or k.startswith(prefix + '.')):
                found.add(prefix)
                break
    return sorted(found)


def describe_missing(report: Mapping[str, Any]) -> str:
    """``missing N`` of a load report, naming the modules left at their initialisation."""
    text = f"missing {len(report['missing'])}"
    modules = report.get('missing_modules') or []
    if modules:
        shown = ', '.join(modules[:6]) + (f' and {len(modules) - 6} more' if len(modules) > 6
                                          else '')
        text += f' (left at their initialisation: {shown})'
    return text


def read_state_dict(path: str, prefix: str = '') -> dict[str, torch.Tensor]:
    """A plain tensor state dict saved by the harness (weights only, safe to load); with
    ``prefix``, only its keys that start with it, the prefix removed."""
    state = torch.load(path, map_location='cpu', weights_only=True)
    state = state.get('state_dict', state)
    if prefix:
        state = {key[len(prefix):]: value for key, value in state.items()
                 if key.startswith(prefix)}
    return state


def merge_load_reports(reports: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """One report for a checkpoint loaded into several modules (``{module: report}``, e.g. a
    C4 detector's ``backbone`` and ``roi_head.shared_head``): loaded and total summed,
    ``missing`` the modules' missing keys under their module's name, ``unexpected`` the
    checkpoint keys no module took, and ``modules`` the reports themselves."""
    names = list(reports)
    unexpected = set(reports[names[0]]['unexpected']) if names else set()
    for name in names[1:]:
        unexpected &= set(reports[name]['unexpected'])
    return {'loaded': sum(r['loaded'] for r in reports.values()),
            'total': sum(r['total'] for r in reports.values()),
            'missing': [f'{name}.{key}' for name in names for key in reports[name]['missing']],
            'unexpected': sorted(unexpected),
            'missing_modules': [f'{name}.{key}' for name in names
                                for key in reports[name].get('missing_modules', [])],
            'modules': {name: dict(report) for name, report in reports.items()}}


@WEIGHT_INITIALIZERS.register_module(name='SSLPretrained')
class SSLPretrainedInit:
    """mmengine weight initializer: load harness-exported backbone weights with a report.

    module: what the weights go into, for the report and errors (``'backbone'``, or e.g.
    ``'roi_head.shared_head'`` for the res5 of a C4 detector). prefix: only the checkpoint's
    keys starting with it are loaded, the prefix removed (e.g. ``'net.'`` for a backbone that
    wraps the network it exports)."""

    def __init__(self, checkpoint: str, min_loaded: float = 0.5, module: str = 'backbone',
                 prefix: str = '', **_: Any):
        self.checkpoint = checkpoint
        self.min_loaded = min_loaded
        self.module = module
        self.prefix = prefix
        self.wholemodule = False

    def __call__(self, module: nn.Module) -> None:
        report = load_backbone_weights(module, read_state_dict(self.checkpoint, self.prefix),
                                       min_loaded=self.min_loaded, source=self.checkpoint,
                                       name=self.module)
        module.weight_load_report = report
        print_log(f"{self.module} weights: loaded {report['loaded']}/{report['total']} tensors "
                  f'from {self.checkpoint}; {describe_missing(report)}, unexpected '
                  f"{len(report['unexpected'])}", logger='current')

    def _get_init_info(self) -> str:
        return (f'{type(self).__name__}: load harness backbone weights into the {self.module} '
                f'from {self.checkpoint}')
