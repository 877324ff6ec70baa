"""Fitting a protocol's mmdet detector to the harness backbone being evaluated.

A protocol config holds an mmdet Faster R-CNN whose backbone-dependent values are ``None``:
the trunk's size (``depth``, ``base_channels``), the channel counts that follow from it, the
number of classes and the weight initializers. :func:`fit_detector` fills exactly those, from
the ``--backbone`` and the dataset, and refuses a config that sets one itself (a value the
harness would otherwise overwrite without a word). Three detector families are known, told
apart by the config's model:

- ``c4``: mmdet ``ResNet`` with 3 stages (stride 16) and a ``harness.ResLayerExtraNorm`` res5
  as the RoI head's shared head; the SSL weights go into both, each with its own
  ``harness.SSLPretrained`` (stem and layer1-3 into the backbone, layer4 into the head);
- ``fpn``: mmdet ``ResNet`` with 4 stages and an FPN neck; the weights go into the backbone;
- ``vgg16``: ``harness.VGG16Conv5`` (conv1_1-conv5_3) with a two-fc RoI head.

The ResNets load by key because the harness's image ResNets keep torchvision's parameter
names, which are mmdet ``ResNet(style='pytorch')``'s (docs/image-evals.md §3). Nothing is ever
initialised from a download: a config naming a ``checkpoint`` or ``pretrained`` URL is refused.
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Iterator, Mapping

from harness.api import ConfigError

#: harness backbone -> the mmdet ResNet holding its weights, and the prefix of its export's
#: keys (resnet18-slim wraps mmdet's ResNet as ``net``)
RESNETS: dict[str, dict[str, Any]] = {
    'resnet18': dict(depth=18, base_channels=64, prefix=''),
    'resnet50': dict(depth=50, base_channels=64, prefix=''),
    'resnet18-slim': dict(depth=18, base_channels=16, prefix='net.'),
}
#: harness backbone -> its detection trunk, for the vgg16 family
VGGS: dict[str, dict[str, Any]] = {'vgg16': dict(prefix='')}
FAMILIES = {'c4': RESNETS, 'fpn': RESNETS, 'vgg16': VGGS}


def family(model: Mapping[str, Any]) -> str:
    """'c4', 'fpn' or 'vgg16': the detector family of an mmdet model config."""
    backbone = str(model.get('backbone', {}).get('type', ''))
    if backbone.split('.')[-1] == 'VGG16Conv5':
        return 'vgg16'
    if backbone.split('.')[-1] == 'ResNet':
        if model.get('roi_head', {}).get('shared_head'):
            return 'c4'
        if model.get('neck'):
            return 'fpn'
    raise ConfigError(f"the detection config's model is neither a ResNet C4 (shared_head), a "
                      f'ResNet FPN (neck) nor a harness.VGG16Conv5 detector (backbone type '
                      f'{backbone or "missing"})')


def stage_channels(depth: int, base_channels: int) -> list[int]:
    """Output channels of the four stages of mmdet's ``ResNet(depth, base_channels)``."""
    expansion = 1 if depth in (18, 34) else 4
    return [base_channels * 2 ** i * expansion for i in range(4)]


def ssl_init(checkpoint: Path, module: str, prefix: str) -> dict:
    """The weight initializer loading the SSL backbone export into ``module``."""
    init = dict(type='harness.SSLPretrained', checkpoint=str(checkpoint), module=module)
    if prefix:
        init['prefix'] = prefix
    return init


def fill(node: dict, key: str, value: Any, where: str) -> None:
    """Set ``node[key]``, which the config must leave None (the harness's to set)."""
    if node.get(key) is not None:
        raise ConfigError(f'detection config: {where}.{key}={node[key]!r}: the harness sets '
                          f'it from --backbone and the dataset; leave it None')
    node[key] = value


def fit_detector(model: Mapping[str, Any], backbone: str, num_classes: int,
                 weights: Path | None, out_stage: str = '') -> dict:
    """A copy of the mmdet model config ``model`` for the harness backbone ``backbone``,
    ``num_classes`` classes and the SSL weights at ``weights`` (None: mmdet's random init).
    ``out_stage``: the stage the backbone was cut after by its pretraining config
    (``backbone_stage``; '' for the whole network): a C4 detector takes a ResNet cut after
    layer3 as its trunk and leaves its res5 head (``roi_head.shared_head``) at mmdet's random
    initialisation, to be trained by the fine-tuning, since the pretraining trained no layer4;
    any other cut is refused, as the detector would read untrained stages.
    One-line ConfigError for a backbone the config's family cannot hold."""
    model = copy.deepcopy(dict(model))
    kind = family(model)
    if out_stage and not (kind == 'c4' and out_stage == 'layer3'):
        raise ConfigError(f"'{backbone}' was cut after {out_stage} by its pretraining config "
                          f'(backbone_stage: the stages after it were never trained); a {kind} '
                          'detector reads stages after it, so it is not evaluated on one: only '
                          'the C4 detector takes a ResNet cut after layer3 (its res5 head then '
                          'starts at random); use --eval-config with a C4 config')
    trunks = FAMILIES[kind]
    if backbone not in trunks:
        others = ' or '.join(f"the {k} family's {', '.join(v)}" for k, v in FAMILIES.items()
                             if k != kind and backbone in v) or 'no detection config here'
        raise ConfigError(f"this detection config is a {kind} detector, which takes the "
                          f"backbones {', '.join(trunks)}; '{backbone}' fits {others}: "
                          'pick another --backbone or --eval-config')
    trunk = trunks[backbone]
    roi = model['roi_head']
    fill(roi['bbox_head'], 'num_classes', num_classes, 'model.roi_head.bbox_head')
    init = (lambda module: ssl_init(weights, module, trunk['prefix'])) if weights else \
        (lambda module: None)
    if kind == 'vgg16':
        if weights:
            fill(model['backbone'], 'init_cfg', init('backbone'), 'model.backbone')
        return model
    channels = stage_channels(trunk['depth'], trunk['base_channels'])
    for key in ('depth', 'base_channels'):
        fill(model['backbone'], key, trunk[key], 'model.backbone')
    if weights:
        fill(model['backbone'], 'init_cfg', init('backbone'), 'model.backbone')
    if kind == 'fpn':
        fill(model['neck'], 'in_channels', channels, 'model.neck')
        return model
    c4 = channels[2]
    fill(model['rpn_head'], 'in_channels', c4, 'model.rpn_head')
    fill(model['rpn_head'], 'feat_channels', c4, 'model.rpn_head')
    fill(roi['bbox_roi_extractor'], 'out_channels', c4, 'model.roi_head.bbox_roi_extractor')
    head = roi['shared_head']
    for key in ('depth', 'base_channels'):
        fill(head, key, trunk[key], 'model.roi_head.shared_head')
    if weights and not out_stage:  # cut after layer3: the pretraining trained no res5
        fill(head, 'init_cfg', init('roi_head.shared_head'), 'model.roi_head.shared_head')
    fill(roi['bbox_head'], 'in_channels', channels[3], 'model.roi_head.bbox_head')
    return model


def weight_modules(model: Mapping[str, Any]) -> list[str]:
    """The modules of a filled detector config that take SSL weights (dotted paths in the
    model): the backbone, and a C4 detector's res5 head unless it starts at random (a backbone
    cut after layer3, :func:`fit_detector`)."""
    if family(model) == 'c4' and model['roi_head']['shared_head'].get('init_cfg') is not None:
        return ['backbone', 'roi_head.shared_head']
    return ['backbone']


def _downloads(node: Any, path: str = 'model') -> Iterator[str]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key in ('checkpoint', 'pretrained') and isinstance(value, str) and \
                    '://' in value:
                yield f'{path}.{key}={value}'
            yield from _downloads(value, f'{path}.{key}')
    elif isinstance(node, (list, tuple)):
        for index, value in enumerate(node):
            yield from _downloads(value, f'{path}.{index}')


def check_no_downloads(model: Mapping[str, Any]) -> None:
    """A detector is initialised from the SSL weights or at random, never from a download
    (mmdet's base configs put ImageNet-supervised URLs into backbones and shared heads)."""
    found = next(_downloads(model), None)
    if found:
        raise ConfigError(f'detection config: {found}: a downloaded checkpoint would replace '
                          'the weights under evaluation; remove it (the harness loads the SSL '
                          'backbone itself)')
