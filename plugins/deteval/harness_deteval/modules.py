"""The two detector parts mmdet 3.3.0 does not have, registered as ``harness.X``:

- :class:`ResLayerExtraNorm`: the res5 stage as a C4 detector's RoI shared head, followed by one
  more norm layer, as MoCo's ``Res5ROIHeadsExtraNorm`` (detectron2) and mmselfsup's
  ``ResLayerExtraNorm`` build it for SSL backbones trained with BN (docs/image-evals.md §1).
  mmdet's own ``ResLayer`` shared head has no extra norm and fixes the stem width at 64, so it
  cannot hold a narrow ResNet's res5 (``resnet18-slim``).
- :class:`VGG16Conv5`: VGG-16's convolutions up to conv5_3 as a detection trunk (Fast R-CNN's
  VGG16, the network Transitive Invariance transfers), one 512-channel map at stride 16.

Everything else (ResNet, FPN, RPN, RoI heads, losses) is mmdet's.
"""
from __future__ import annotations

from mmengine.model import BaseModule
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from harness.api import MODELS


@MODELS.register_module()
class ResLayerExtraNorm(BaseModule):
    """Stage ``stage`` (0-based; 3 = res5) of an mmdet ``ResNet(depth, base_channels)`` as a
    module named ``layer{stage + 1}`` (the backbone's own name for it, so a ResNet state dict
    loads into it by key), then ``norm`` (``norm_cfg`` over its output channels) when
    ``extra_norm``. ``norm_eval`` keeps every BN in eval mode while training, as mmdet's
    shared heads do. Output channels: :attr:`out_channels`."""

    def __init__(self, depth: int, stage: int = 3, base_channels: int = 64, stride: int = 2,
                 dilation: int = 1, style: str = 'pytorch',
                 norm_cfg: dict | None = None, norm_eval: bool = False,
                 extra_norm: bool = True, init_cfg=None):
        from mmcv.cnn import build_norm_layer
        from mmdet.models.backbones import ResNet
        from mmdet.models.layers import ResLayer

        if init_cfg is None:  # mmdet's shared-head default
            init_cfg = [dict(type='Kaiming', layer='Conv2d'),
                        dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])]
        super().__init__(init_cfg=init_cfg)
        if depth not in ResNet.arch_settings:
            raise ValueError(f'ResNet depth must be one of {sorted(ResNet.arch_settings)}, '
                             f'got {depth}')
        norm_cfg = dict(norm_cfg or dict(type='BN', requires_grad=True))
        block, stage_blocks = ResNet.arch_settings[depth]
        planes = base_channels * 2 ** stage
        inplanes = base_channels * 2 ** (stage - 1) * block.expansion
        self.stage, self.norm_eval = stage, norm_eval
        self.out_channels = planes * block.expansion
        self.add_module(f'layer{stage + 1}', ResLayer(
            block, inplanes, planes, stage_blocks[stage], stride=stride, dilation=dilation,
            style=style, norm_cfg=norm_cfg))
        self.norm = build_norm_layer(norm_cfg, self.out_channels)[1] if extra_norm \
            else nn.Identity()

    def forward(self, x):
        return self.norm(getattr(self, f'layer{self.stage + 1}')(x))

    def train(self, mode: bool = True):
        super().train(mode)
        if mode and self.norm_eval:
            for module in self.modules():
                if isinstance(module, _BatchNorm):
                    module.eval()
        return self


@MODELS.register_module()
class VGG16Conv5(BaseModule):
    """VGG-16 (torchvision ``vgg16``, no BN) up to conv5_3 and its ReLU: ``features[:30]``,
    the last max-pool dropped, so one 512-channel map at stride 16 (Fast R-CNN's VGG16 trunk;
    RoI pooling replaces pool5). Parameter names are the ``vgg16`` backbone's
    (``features.<i>.weight``), so its SSL weights load by key. Returns a 1-tuple, as mmdet's
    detectors take their backbone's maps. ``frozen_stages``: convolutions of the first
    ``frozen_stages`` blocks (conv1_x, conv2_x, ...) keep their weights (Fast R-CNN froze
    conv1-2); -1 trains all."""

    #: index in ``features`` after each of VGG-16's five blocks
    BLOCK_ENDS = (5, 10, 17, 24, 30)

    def __init__(self, frozen_stages: int = -1, init_cfg=None):
        from torchvision.models import vgg16

        super().__init__(init_cfg=init_cfg)
        self.features = vgg16(weights=None).features[:30]
        self.frozen_stages = frozen_stages
        if frozen_stages > 0:
            for param in self.features[:self.BLOCK_ENDS[frozen_stages - 1]].parameters():
                param.requires_grad_(False)

    def forward(self, x):
        return (self.features(x),)
