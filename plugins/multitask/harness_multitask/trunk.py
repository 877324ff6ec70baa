"""The shared trunk of Multi-task SSL (docs/methods.md §6): a ResNet whose stage outputs the
heads read, directly (the top stage named) or, with the lasso, through a per-task linear
combination of several stages (:class:`~harness_multitask.lasso.LayerCombination`).

:class:`ResNetStages` runs a harness ResNet backbone stage by stage without owning it: the
torchvision layout (``conv1``, ``bn1``, ``relu``, ``maxpool``, ``layer1``-``layer4``: ResNet18,
ResNet50) and mmdet's ResNet inside ``.net`` (ResNet18Slim), whole or cut after a stage
(``out_stage``: the later stages are absent). The backbone module stays the
model's own, so its ``state_dict()`` keys are exactly a fresh backbone's.
:class:`StageAdapters` brings the stages to one channel count and size for the lasso.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor, nn
from torch.nn import functional as F

STAGES = ('layer1', 'layer2', 'layer3', 'layer4')


def _present(net: nn.Module) -> tuple[str, ...]:
    """The stages ``net`` has: :data:`STAGES` up to the first it lacks (a backbone cut after
    a stage, ``out_stage``, has no later one)."""
    present = []
    for name in STAGES:
        if not isinstance(getattr(net, name, None), nn.Module):
            break
        present.append(name)
    return tuple(present)


class ResNetStages:
    """The stem and named stages of ``backbone`` (a plain helper, not a module: the backbone
    is registered on the model, not here). ``maps(x, names)`` returns the outputs of the
    stages ``names`` (in :data:`STAGES` order), running the network only as deep as the
    deepest of them. ``stages``: the stages the backbone has (all four, or those up to the
    stage it was cut after)."""

    def __init__(self, backbone: nn.Module):
        inner = getattr(backbone, 'net', None)
        if all(hasattr(backbone, name) for name in ('conv1', 'bn1', 'relu', 'maxpool')) and \
                _present(backbone):
            self.net, self.mmdet = backbone, False
        elif hasattr(inner, 'res_layers') and _present(inner) and \
                tuple(inner.res_layers) == _present(inner):
            self.net, self.mmdet = inner, True
        else:
            raise ValueError(f'{type(backbone).__name__} is not a ResNet the multitask trunk '
                             'can run stage by stage (torchvision layout or mmdet ResNet in '
                             "'.net'); use resnet18, resnet50 or resnet18-slim")
        self.stages = _present(self.net)

    def stem(self, x: Tensor) -> Tensor:
        net = self.net
        if self.mmdet:
            x = net.stem(x) if net.deep_stem else net.relu(net.norm1(net.conv1(x)))
        else:
            x = net.relu(net.bn1(net.conv1(x)))
        return net.maxpool(x)

    def maps(self, x: Tensor, names: Sequence[str]) -> list[Tensor]:
        unknown = [name for name in names if name not in self.stages]
        if unknown or not names:
            raise ValueError(f"stages must name some of {', '.join(self.stages)} (the stages "
                             f'of this backbone), got {names}')
        deepest = max(STAGES.index(name) for name in names)
        outputs = {}
        x = self.stem(x)
        for name in STAGES[:deepest + 1]:
            x = getattr(self.net, name)(x)
            outputs[name] = x
        return [outputs[name] for name in names]


@torch.no_grad()
def stage_channels(backbone: nn.Module, names: Sequence[str], size: int = 64) -> list[int]:
    """Output channels of the stages ``names``, from one pass of a ``size``-pixel image in
    eval mode (BN statistics untouched); the backbone's training mode is restored."""
    was_training = backbone.training
    backbone.eval()
    try:
        maps = ResNetStages(backbone).maps(torch.zeros(1, 3, size, size), names)
    finally:
        backbone.train(was_training)
    return [m.shape[1] for m in maps]


class StageAdapters(nn.Module):
    """Per stage, a 1 x 1 convolution to ``width`` channels followed by a BatchNorm without
    affine parameters, so every stage's map is standardised and the lasso's combination
    weights compare like with like; then every map is average-pooled to the size of the last
    (the coarsest, the top stage). ``forward(maps) -> [N, width, h, w] * len(maps)``."""

    def __init__(self, channels: Sequence[int], width: int):
        super().__init__()
        self.adapt = nn.ModuleList(
            nn.Sequential(nn.Conv2d(c, width, 1, bias=False),
                          nn.BatchNorm2d(width, affine=False)) for c in channels)

    def forward(self, maps: Sequence[Tensor]) -> list[Tensor]:
        size = maps[-1].shape[-2:]
        return [F.adaptive_avg_pool2d(adapt(m), size) for adapt, m in zip(self.adapt, maps)]
